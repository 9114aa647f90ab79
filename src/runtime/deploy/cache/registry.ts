/**
 * A registry as the shared build cache (`deploy --cache host[:port]/prefix`).
 *
 * Every build of image `id` at key K is published under `<prefix>/<id>`:
 *
 * - tag `K`: the image itself, an OCI manifest whose config is the image config
 *   (digest = the image id) and whose layers are the uncompressed layer tars
 *   (digest = the diff ids), so a pull gives the very image id that was built;
 * - tag `K.build`: an OCI artifact (`application/vnd.imgsdk.build.v1+json`) whose
 *   `subject` is that manifest and whose layers are what a child build and a cache
 *   hit need besides the image: the build record (packages, inherited packages,
 *   accounts, diff ids), the layer's entries (the file list of the link check),
 *   PACKAGES.md, the SBOM and the provenance. It is pushed last: a lookup only
 *   ever finds complete entries.
 *
 * Both carry the key as the `org.imgsdk.key` annotation. A lookup checks every
 * byte it takes against its digest, and the record, the manifest and the config
 * against the key, the id and each other, before anything is used. The registry is
 * spoken to directly (no engine), so a cache works the same with --no-load, a
 * remote engine or Podman.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { BuildError, UnavailableError, UsageError, VerifyError } from '../../../contract/errors';
import { registryRef, shortKey } from '../../../contract/names';
import { canonicalJson } from '../../../contract/json';
import { writeAtomic, streamAtomic } from '../../../util/files';
import { hashFile, sha256, sha256Digest } from '../../../util/hash';
import { ARTIFACT_MANIFEST_TYPE, EMPTY_CONFIG, RegistryClient } from '../../image/attest';
import type { Engine } from '../../engine/engine';
import { CONFIG_MEDIA_TYPE, MANIFEST_MEDIA_TYPE } from '../../image/oci';
import { loadArchive } from '../../image/load';
import { registryAuth } from '../../image/push';
import type { Entry } from '../../store/entry';
import { pushSignature } from '../../image/sign/artifacts';
import { checkSignature } from '../../image/sign/check';
import type { Signer, TrustedKey } from '../../image/sign/keys';
import type { BuildRecord, StateDir } from '../../store/state';

import { BUILD_ARTIFACT_TYPE, LABEL_IMAGE, LABEL_KEY } from '../../../contract/labels';

export { BUILD_ARTIFACT_TYPE };
const RECORD_TYPE = 'application/vnd.imgsdk.build-record.v1+json';
const ENTRIES_TYPE = 'application/vnd.imgsdk.entries.v1+json';
const REPORT_TYPE = 'application/vnd.imgsdk.report.v1';
const LAYER_TAR_TYPE = 'application/vnd.oci.image.layer.v1.tar';
const ANN_TITLE = 'org.opencontainers.image.title';

/** An opened cache: `host[:port]/prefix`, and its client. */
export interface RegistryCache {
  /** `host[:port][/prefix]` as given, without a scheme. */
  readonly registry: string;
  readonly client: RegistryClient;
  /** Signs every entry published. @default none */
  readonly signer?: Signer | null;
  /** With any, an entry is used only when its signature verifies with one of them. @default none: every entry is trusted */
  readonly trusted?: readonly TrustedKey[];
}

/**
 * Checks `ref` (`host[:port][/prefix]`) and that the registry answers `/v2/`;
 * a UsageError naming it otherwise (an UnavailableError, exit 75, when it does not
 * answer or answers a server error), before anything is built.
 * @example const cache = await openCache('127.0.0.1:5000/ci-cache');
 */
export async function openCache(
  ref: string,
  env: NodeJS.ProcessEnv = process.env,
  keys: { readonly signer?: Signer | null; readonly trusted?: readonly TrustedKey[] } = {},
): Promise<RegistryCache> {
  const registry = registryRef(ref);
  if (registry === null) throw new UsageError(`--cache "${ref}" is not a registry (host[:port][/prefix])`);
  const client = new RegistryClient(registry, registryAuth(registry, env));
  const res = await client.request('GET', '/v2/').catch((err: unknown) => {
    // Retryable (exit 75): a registry that is restarting or not up yet may answer later.
    throw new UnavailableError(
      `--cache ${registry}: the registry at ${client.url} does not answer (${(err as Error).cause ?? (err as Error).message})`,
      { cause: err },
    );
  });
  await res.arrayBuffer().catch(() => undefined);
  if (res.status >= 500 || res.status === 429)
    throw new UnavailableError(`--cache ${registry}: ${client.url}/v2/ answers HTTP ${res.status}`);
  if (!res.ok)
    throw new UsageError(
      `--cache ${registry}: ${client.url}/v2/ answers HTTP ${res.status}${res.status === 401 ? ' (set IMGSDK_REGISTRY_USER/_PASSWORD or docker login)' : ''}`,
    );
  return { registry, client, signer: keys.signer ?? null, trusted: keys.trusted ?? [] };
}

/** The repository of image `id` in the cache: the prefix, then the id. */
export function cacheRepository(cache: Pick<RegistryCache, 'registry'>, id: string): string {
  return [...cache.registry.split('/').slice(1), id].join('/');
}

/** The tag of a key's build artifact. */
export function buildTag(key: string): string {
  return `${key}.build`;
}

/**
 * The image id of the cache's entry of `id` at `key`, by two small reads (the build
 * artifact and the image manifest it names), without downloading or restoring
 * anything; null when there is no entry, or (with trusted keys) no trusted one.
 * What an idempotent node answers when its work is already done.
 */
export async function lookupEntry(cache: RegistryCache, id: string, key: string): Promise<{ readonly digest: string } | null> {
  const repo = cacheRepository(cache, id);
  const fail = (why: string): never => {
    throw new BuildError(id, `registry cache entry ${cache.registry}/${id}:${buildTag(key)}: ${why}`, { phase: 'cache' });
  };
  const artifact = await getManifest(cache.client, repo, buildTag(key));
  if (!artifact || (await whyUntrusted(cache, repo, sha256Digest(artifact.body)))) return null;
  const a = parseManifest(artifact.body, fail);
  if (a.annotations?.[LABEL_KEY] !== key || !a.subject) fail('does not name an image of its key');
  const image = await getManifest(cache.client, repo, a.subject!.digest);
  if (!image || sha256Digest(image.body) !== a.subject!.digest) fail(`its image ${a.subject!.digest} is not in the registry`);
  const m = parseManifest(image!.body, fail);
  if (m.annotations?.[LABEL_KEY] !== key) fail(`the image manifest carries key ${m.annotations?.[LABEL_KEY] ?? 'none'}`);
  return { digest: m.config.digest };
}

/** A report file kept next to the build (PACKAGES.md, SBOM, provenance): its file name and state path. */
export interface ReportFile {
  readonly name: string;
  readonly path: string;
}

/** What one image's cache lookup and publish need. */
export interface CacheJob {
  readonly id: string;
  readonly key: string;
  /** Every tag the image gets when loaded. */
  readonly tags: readonly string[];
  readonly state: StateDir;
  /** Ids of the image's ancestors, nearest first (their layers are mounted, not sent again). */
  readonly ancestors: readonly string[];
  readonly reports: readonly ReportFile[];
  /** Load a hit into the engine. */
  readonly load: boolean;
  readonly engine: () => Promise<Engine>;
  readonly log: (line: string) => void;
}

interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Record<string, string>;
}

interface Manifest {
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Record<string, string>;
}

/**
 * Looks `job.key` up and, on a hit, puts the build into the state directory (record,
 * entries, layers, file bodies, reports) and, with `load`, the image into the engine
 * under its tags, so the deploy finds it cached. False on a miss. A hit that fails a
 * check is a BuildError naming the image and what did not match.
 */
export async function restoreFromCache(cache: RegistryCache, job: CacheJob): Promise<boolean> {
  const { client } = cache;
  const repo = cacheRepository(cache, job.id);
  const where = `${cache.registry}/${job.id}:${buildTag(job.key)}`;
  const fail = (why: string): never => {
    throw new BuildError(job.id, `registry cache entry ${where}: ${why}`, { phase: 'cache' });
  };
  const artifact = await getManifest(client, repo, buildTag(job.key));
  if (!artifact) return false;
  // With trusted keys, an entry is only as good as its signature: anyone who can push can forge the rest.
  const untrusted = await whyUntrusted(cache, repo, sha256Digest(artifact.body));
  if (untrusted) {
    job.log(`registry cache entry ${where} refused: ${untrusted}; building it instead`);
    return false;
  }
  const a = parseManifest(artifact.body, fail);
  if (a.artifactType !== BUILD_ARTIFACT_TYPE) fail(`artifactType is ${a.artifactType ?? 'missing'}, not ${BUILD_ARTIFACT_TYPE}`);
  if (a.annotations?.[LABEL_KEY] !== job.key) fail(`carries key ${a.annotations?.[LABEL_KEY] ?? 'none'}, not ${job.key}`);
  if (!a.subject) fail('names no image (no subject)');
  const layerOf = (type: string) => a.layers.find((l) => l.mediaType === type) ?? fail(`has no ${type} layer`);
  const recordBytes = await getBlob(client, repo, layerOf(RECORD_TYPE).digest, fail);
  const entriesBytes = await getBlob(client, repo, layerOf(ENTRIES_TYPE).digest, fail);
  const record = JSON.parse(recordBytes.toString('utf8')) as BuildRecord;
  if (record.id !== job.id || record.key !== job.key) fail(`its record is of ${record.id} at key ${record.key}`);
  if (sha256(entriesBytes) !== record.entriesSha256) fail('its entries do not match the record');

  const image = await getManifest(client, repo, a.subject!.digest);
  if (!image) fail(`its image ${a.subject!.digest} is not in the registry`);
  const m = parseManifest(image!.body, fail);
  if (sha256Digest(image!.body) !== a.subject!.digest) fail(`image manifest bytes do not match ${a.subject!.digest}`);
  if (m.annotations?.[LABEL_KEY] !== job.key) fail(`the image manifest carries key ${m.annotations?.[LABEL_KEY] ?? 'none'}`);
  if (m.config.digest !== record.imageId) fail(`image config ${m.config.digest} is not the recorded image ${record.imageId}`);
  const diffIds = m.layers.map((l) => l.digest);
  const own = record.layers ?? [record.layer];
  if (diffIds.join(',') !== record.diffIds.join(',') || diffIds.slice(-own.length).join(',') !== own.map((l) => l.diffId).join(','))
    fail('its layers are not the recorded diff ids');
  const config = (await getBlob(client, repo, record.imageId, fail)).toString('utf8');
  if (config !== record.configJson) fail('its config is not the recorded one');

  for (const l of m.layers) {
    const dest = job.state.layerPath(l.digest);
    if ((await hashFile(dest).catch(() => null)) === l.digest.slice(7)) continue;
    await downloadBlob(client, repo, l.digest, dest, fail);
  }
  for (const l of own) await storeBodies(job.state, job.state.layerPath(l.diffId));
  const entries = JSON.parse(entriesBytes.toString('utf8')) as Entry[];
  for (const e of entries) {
    if (e.sha256 && !(await stat(job.state.blobs.path(e.sha256)).catch(() => null))) fail(`the body of /${e.path} is not in its layer`);
  }
  for (const r of a.layers.filter((l) => l.mediaType === REPORT_TYPE)) {
    const name = r.annotations?.[ANN_TITLE];
    const file = job.reports.find((f) => f.name === name);
    if (file) await writeAtomic(file.path, await getBlob(client, repo, r.digest, fail));
  }
  const { entriesSha256: _, ...rest } = record;
  await job.state.writeBuild(rest, entries);
  if (!(await job.state.readBuild(job.id, job.key))) fail('the restored build does not verify in the state directory');

  if (job.load) {
    const engine = await job.engine();
    const there = await engine.inspectImage(`${job.id}:${shortKey(job.key)}`);
    if (there?.id !== record.imageId) {
      const layers = record.diffIds.map((d) => ({ diffId: d, path: job.state.layerPath(d) }));
      await loadArchive(engine, job.id, { json: record.configJson, digest: record.imageId }, layers, job.tags);
    }
  }
  job.log(`restored from the registry cache ${cache.registry}/${job.id}@${a.subject!.digest}`);
  return true;
}

/**
 * Publishes the build of `job.key` (already in the state directory): layers (mounted
 * from an ancestor's repository when it has them), config, image manifest under the
 * key, then the build artifact. Does nothing when the artifact is already there.
 * Returns the image manifest's digest, or null when it was there already.
 */
export async function publishToCache(cache: RegistryCache, job: CacheJob): Promise<string | null> {
  const { client } = cache;
  const repo = cacheRepository(cache, job.id);
  const fail = (why: string): never => {
    throw new BuildError(job.id, `publishing to the registry cache ${cache.registry}/${job.id}: ${why}`, { phase: 'cache' });
  };
  const there = await getManifest(client, repo, buildTag(job.key));
  // An entry there is kept unless this deploy signs and it does not verify (a forgery, or unsigned): then it is replaced.
  if (there && !(cache.signer && (await whyUntrusted(cache, repo, sha256Digest(there.body))))) return null;
  const record = await job.state.readBuild(job.id, job.key);
  const entries = await job.state.readEntries(job.id, job.key);
  if (!record || !entries) return fail(`no intact build of key ${shortKey(job.key)} in the state directory`);

  const layers: Descriptor[] = [];
  for (const diffId of record.diffIds) {
    const path = job.state.layerPath(diffId);
    const size = (await stat(path)).size;
    await client.sendBlob(repo, diffId, { path, size }, { from: job.ancestors.map((p) => cacheRepository(cache, p)), what: 'layer', fail });
    layers.push({ mediaType: LAYER_TAR_TYPE, digest: diffId, size });
  }
  await client.sendBlob(repo, record.imageId, Buffer.from(record.configJson), { fail });
  const annotations = { [LABEL_KEY]: job.key, [LABEL_IMAGE]: job.id };
  const imageJson = canonicalJson({
    schemaVersion: 2,
    mediaType: MANIFEST_MEDIA_TYPE,
    config: { mediaType: CONFIG_MEDIA_TYPE, digest: record.imageId, size: Buffer.byteLength(record.configJson) },
    layers,
    annotations,
  });
  const imageDigest = sha256Digest(imageJson);
  await putManifest(client, repo, job.key, imageJson, fail);

  const blobs: { mediaType: string; data: Buffer; annotations?: Record<string, string> }[] = [
    { mediaType: RECORD_TYPE, data: Buffer.from(JSON.stringify(record)) },
    { mediaType: ENTRIES_TYPE, data: Buffer.from(JSON.stringify(entries)) },
  ];
  for (const r of job.reports) {
    const data = await readFile(r.path).catch(() => null);
    if (data) blobs.push({ mediaType: REPORT_TYPE, data, annotations: { [ANN_TITLE]: r.name } });
  }
  const emptyDigest = sha256Digest(EMPTY_CONFIG.json);
  await client.sendBlob(repo, emptyDigest, Buffer.from(EMPTY_CONFIG.json), { fail });
  const described: Descriptor[] = [];
  for (const b of blobs) {
    const digest = sha256Digest(b.data);
    await client.sendBlob(repo, digest, b.data, { fail });
    described.push({ mediaType: b.mediaType, digest, size: b.data.length, ...(b.annotations ? { annotations: b.annotations } : {}) });
  }
  const artifactJson = canonicalJson({
    schemaVersion: 2,
    mediaType: ARTIFACT_MANIFEST_TYPE,
    artifactType: BUILD_ARTIFACT_TYPE,
    config: { mediaType: EMPTY_CONFIG.mediaType, digest: emptyDigest, size: Buffer.byteLength(EMPTY_CONFIG.json) },
    layers: described,
    subject: { mediaType: MANIFEST_MEDIA_TYPE, digest: imageDigest, size: Buffer.byteLength(imageJson) },
    annotations,
  });
  await putManifest(client, repo, buildTag(job.key), artifactJson, fail);
  if (cache.signer) {
    // The artifact names the image manifest and every blob by digest: its signature covers the whole entry.
    const subject = { mediaType: ARTIFACT_MANIFEST_TYPE, digest: sha256Digest(artifactJson), size: Buffer.byteLength(artifactJson) };
    await pushSignature(client, repo, `${cache.registry}/${job.id}`, subject, cache.signer).catch((err: Error) =>
      fail(`signing the entry: ${err.message}`),
    );
  }
  job.log(`published to the registry cache ${cache.registry}/${job.id}:${shortKey(job.key)}… (${imageDigest})`);
  return imageDigest;
}

/**
 * Null when the cache trusts the entry whose build artifact is `digest` (no keys
 * configured, or its signature verifies with one), else why not.
 */
async function whyUntrusted(cache: RegistryCache, repo: string, digest: string): Promise<string | null> {
  if (!cache.trusted?.length) return null;
  try {
    await checkSignature(cache.client, repo, digest, cache.trusted);
    return null;
  } catch (err) {
    if (err instanceof VerifyError) return err.message;
    throw err;
  }
}

const MANIFEST_ACCEPT = [MANIFEST_MEDIA_TYPE, 'application/vnd.docker.distribution.manifest.v2+json'].join(', ');

async function getManifest(client: RegistryClient, repo: string, ref: string): Promise<{ body: string } | null> {
  const res = await client.request('GET', `/v2/${repo}/manifests/${ref}`, { accept: MANIFEST_ACCEPT });
  if (res.status === 404) {
    await res.arrayBuffer().catch(() => undefined);
    return null;
  }
  if (!res.ok)
    throw new BuildError(repo, `registry cache: GET manifest ${ref}: HTTP ${res.status} ${await res.text()}`, { phase: 'cache' });
  return { body: await res.text() };
}

function parseManifest(body: string, fail: (why: string) => never): Manifest {
  try {
    const m = JSON.parse(body) as Manifest;
    if (!m.config || !Array.isArray(m.layers)) fail('is not an OCI manifest');
    return m;
  } catch (err) {
    return fail(`is not JSON (${(err as Error).message})`);
  }
}

/** A blob, checked against its digest. */
async function getBlob(client: RegistryClient, repo: string, digest: string, fail: (why: string) => never): Promise<Buffer> {
  const res = await client.request('GET', `/v2/${repo}/blobs/${digest}`);
  if (!res.ok) return fail(`blob ${digest}: HTTP ${res.status}`);
  const data = Buffer.from(await res.arrayBuffer());
  if (sha256Digest(data) !== digest) fail(`blob ${digest} does not match its digest`);
  return data;
}

/** Streams a blob to `dest`, hashing on the way; renamed into place only when it matches. */
async function downloadBlob(
  client: RegistryClient,
  repo: string,
  digest: string,
  dest: string,
  fail: (why: string) => never,
): Promise<void> {
  const res = await client.request('GET', `/v2/${repo}/blobs/${digest}`);
  if (!res.ok || !res.body) return fail(`layer ${digest}: HTTP ${res.status}`);
  await streamAtomic(dest, Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), {
    check: (hex) => {
      if (`sha256:${hex}` !== digest) fail(`layer ${digest} does not match its digest`);
    },
  });
}

async function putManifest(client: RegistryClient, repo: string, ref: string, json: string, fail: (why: string) => never): Promise<void> {
  const put = await client.request('PUT', `/v2/${repo}/manifests/${ref}`, { body: json, contentType: MANIFEST_MEDIA_TYPE });
  if (put.status !== 201) fail(`manifest ${ref}: HTTP ${put.status} ${await put.text()}`);
}

/** Puts the file bodies of a layer tar into the state's blob store (children read their parents' files there). */
async function storeBodies(state: StateDir, layerPath: string): Promise<void> {
  const ex = extract();
  const reading = pipeline(createReadStream(layerPath), ex);
  for await (const entry of ex) {
    if (entry.header.type === 'file') await state.blobs.putStream(entry as unknown as Readable);
    else entry.resume();
  }
  await reading;
}
