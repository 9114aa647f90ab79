/**
 * Attaching an in-toto statement to an image, as an OCI artifact: a manifest whose
 * one layer is the statement, whose config is OCI's empty descriptor, and whose
 * `subject` is the image's manifest. Registries and layouts without the referrers
 * API find it by cosign's tag scheme, `sha256-<manifest hex>.att`.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { ImgsdkError } from '../../contract/errors';
import { canonicalJson } from '../../contract/json';
import { sha256Digest } from '../../util/hash';
import type { RegistryAuth } from '../engine/engine';
import { writeAtomic } from '../../util/files';
import { IN_TOTO_MEDIA_TYPE } from '../reports/provenance';

export const ARTIFACT_MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';
/** OCI's empty config (`{}`), for artifacts that have no config of their own. */
export const EMPTY_CONFIG = { mediaType: 'application/vnd.oci.empty.v1+json', json: '{}' } as const;

/** A manifest a registry or layout knows, as a descriptor. */
export interface Subject {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}

/** The artifact: its manifest, and the blobs it names. */
export interface Attestation {
  readonly manifest: { readonly json: string; readonly digest: string; readonly size: number };
  readonly blobs: readonly { readonly digest: string; readonly data: string }[];
  /** `sha256-<subject hex>.att` */
  readonly tag: string;
}

/**
 * The artifact carrying `statement` for the image manifest `subject`.
 * @example const a = attestation(statementJson, { mediaType, digest, size }); a.tag // 'sha256-ab12….att'
 */
export function attestation(statement: string, subject: Subject): Attestation {
  const config = { digest: sha256Digest(EMPTY_CONFIG.json), data: EMPTY_CONFIG.json };
  const layer = { digest: sha256Digest(statement), data: statement };
  const json = canonicalJson({
    schemaVersion: 2,
    mediaType: ARTIFACT_MANIFEST_TYPE,
    artifactType: IN_TOTO_MEDIA_TYPE,
    config: { mediaType: EMPTY_CONFIG.mediaType, digest: config.digest, size: Buffer.byteLength(config.data) },
    layers: [{ mediaType: IN_TOTO_MEDIA_TYPE, digest: layer.digest, size: Buffer.byteLength(layer.data) }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  });
  return {
    manifest: { json, digest: sha256Digest(json), size: Buffer.byteLength(json) },
    blobs: [config, layer],
    tag: attestationTag(subject.digest),
  };
}

/** cosign's tag for an attestation of a manifest: `sha256-<hex>.att`. */
export function attestationTag(manifestDigest: string): string {
  return `${manifestDigest.replace(':', '-')}.att`;
}

/**
 * Pushes `statement` to `registry` as the attestation of `<registry>/<id>@digest` (a manifest
 * the engine pushed): blobs, then the artifact under `sha256-<hex>.att`. Speaks the
 * registry API directly (the engine cannot push artifacts): plain http for a
 * loopback registry, https otherwise; Basic or token auth with `auth`.
 * Returns the artifact's tag.
 */
export async function pushAttestation(
  registry: string,
  id: string,
  digest: string,
  statement: string,
  auth: RegistryAuth | null,
): Promise<string> {
  const client = new RegistryClient(registry, auth);
  // `host[:port][/path]`: the path is the repository's prefix.
  const repo = [...registry.split('/').slice(1), id].join('/');
  const head = await client.request('HEAD', `/v2/${repo}/manifests/${digest}`, { accept: MANIFEST_TYPES });
  if (!head.ok)
    throw new ImgsdkError(
      'PUSH',
      `attestation for ${registry}/${id}@${digest}: the registry does not have that manifest (HTTP ${head.status})`,
    );
  const subject = {
    mediaType: head.headers.get('content-type') ?? ARTIFACT_MANIFEST_TYPE,
    digest,
    size: Number(head.headers.get('content-length') ?? 0),
  };
  const a = attestation(statement, subject);
  for (const b of a.blobs) await client.putBlob(repo, b.digest, b.data);
  const put = await client.request('PUT', `/v2/${repo}/manifests/${a.tag}`, { body: a.manifest.json, contentType: ARTIFACT_MANIFEST_TYPE });
  if (!put.ok) throw new ImgsdkError('PUSH', `attestation ${registry}/${id}:${a.tag}: HTTP ${put.status} ${await put.text()}`);
  return a.tag;
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/** Just enough of the registry API v2 for blobs and manifests, with Basic and token auth. */
export class RegistryClient {
  private readonly base: string;
  private authorization: string | null = null;

  constructor(
    registry: string,
    private readonly auth: RegistryAuth | null,
  ) {
    const host = registry.split('/')[0];
    const loopback = /^(localhost|127\.[\d.]+|\[::1\])(:\d+)?$/.test(host);
    this.base = `${loopback ? 'http' : 'https'}://${host}`;
  }

  /** `http://host[:port]` or `https://…`. */
  get url(): string {
    return this.base;
  }

  /** Uploads `data` as blob `digest` unless the registry has it. */
  async putBlob(repo: string, digest: string, data: string | Buffer): Promise<void> {
    await this.sendBlob(repo, digest, typeof data === 'string' ? Buffer.from(data) : data);
  }

  /** Uploads the file at `path` as blob `digest` (monolithic, streamed) unless the registry has it. */
  async putBlobFile(repo: string, digest: string, size: number, path: string): Promise<void> {
    await this.sendBlob(repo, digest, { path, size });
  }

  /**
   * Sends blob `digest` in one monolithic upload: bytes, or a file streamed. Nothing
   * is sent when the registry has it, or can mount it from one of `from` (other
   * repositories of the same registry). A refusal goes to `fail` (a push error
   * unless told).
   */
  async sendBlob(
    repo: string,
    digest: string,
    body: Buffer | { readonly path: string; readonly size: number },
    o: { readonly from?: readonly string[]; readonly what?: string; readonly fail?: (why: string) => never } = {},
  ): Promise<void> {
    const fail =
      o.fail ??
      ((why: string): never => {
        throw new ImgsdkError('PUSH', why);
      });
    const exists = await this.request('HEAD', `/v2/${repo}/blobs/${digest}`);
    if (exists.ok) return;
    for (const other of o.from ?? []) {
      const mount = await this.request(
        'POST',
        `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(other)}`,
      );
      await mount.arrayBuffer().catch(() => undefined);
      if (mount.status === 201) return;
      // 202: not mountable; the registry opened an upload instead, left to expire.
    }
    const start = await this.request('POST', `/v2/${repo}/blobs/uploads/`);
    const location = start.headers.get('location');
    const startText = await start.text().catch(() => '');
    if (start.status !== 202 || !location) fail(`blob upload to ${this.base}/${repo}: HTTP ${start.status} ${startText}`);
    const url = new URL(location!, this.base);
    url.searchParams.set('digest', digest);
    const put = await this.request('PUT', url.pathname + url.search, {
      body: Buffer.isBuffer(body)
        ? () => body
        : () => Readable.toWeb(createReadStream(body.path)) as unknown as NonNullable<RequestInit['body']>,
      length: Buffer.isBuffer(body) ? body.length : body.size,
      contentType: 'application/octet-stream',
    });
    if (put.status !== 201) fail(`${o.what ?? 'blob'} ${digest} to ${this.base}/${repo}: HTTP ${put.status} ${await put.text()}`);
  }

  /** Puts a manifest or index under `ref` (a tag or its digest); returns the digest the registry reports. */
  async putManifest(repo: string, ref: string, json: string, mediaType: string): Promise<string | null> {
    const put = await this.request('PUT', `/v2/${repo}/manifests/${ref}`, { body: json, contentType: mediaType });
    if (put.status !== 201) throw new ImgsdkError('PUSH', `manifest ${this.base}/${repo}:${ref}: HTTP ${put.status} ${await put.text()}`);
    return put.headers.get('docker-content-digest');
  }

  /**
   * One request, answering an auth challenge once. A `body` function is called
   * for each attempt (a stream can be sent only once); `length` is its byte count.
   */
  async request(
    method: string,
    path: string,
    o: { body?: string | (() => NonNullable<RequestInit['body']>); length?: number; contentType?: string; accept?: string } = {},
  ): Promise<Response> {
    const send = () => {
      const headers: Record<string, string> = {};
      if (o.contentType) headers['Content-Type'] = o.contentType;
      if (o.accept) headers.Accept = o.accept;
      if (o.length !== undefined) headers['Content-Length'] = String(o.length);
      if (this.authorization) headers.Authorization = this.authorization;
      const body = typeof o.body === 'function' ? o.body() : o.body;
      // A stream body needs half duplex (Node's fetch); the option is not in the DOM types.
      const init = {
        method,
        headers,
        body,
        redirect: 'follow',
        ...(typeof o.body === 'function' ? { duplex: 'half' } : {}),
      } as RequestInit;
      return fetch(this.base + path, init);
    };
    let res = await send();
    if (res.status === 401 && !this.authorization) {
      const challenge = res.headers.get('www-authenticate') ?? '';
      await res.arrayBuffer().catch(() => undefined);
      this.authorization = await this.answer(challenge, path);
      if (this.authorization) res = await send();
    }
    return res;
  }

  /** The Authorization header for a Basic or Bearer challenge; null without credentials to give. */
  private async answer(challenge: string, path: string): Promise<string | null> {
    const user = this.auth?.username ?? '';
    const basic =
      this.auth?.username !== undefined ? `Basic ${Buffer.from(`${user}:${this.auth.password ?? ''}`).toString('base64')}` : null;
    if (/^Basic/i.test(challenge)) return basic;
    if (!/^Bearer/i.test(challenge)) return null;
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (!params.realm) return null;
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    const repo = /^\/v2\/(.+?)\/(manifests|blobs)\//.exec(path)?.[1];
    url.searchParams.set('scope', params.scope ?? `repository:${repo}:pull,push`);
    const res = await fetch(url, { headers: basic ? { Authorization: basic } : {} });
    if (!res.ok) return null;
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    return token ? `Bearer ${token}` : null;
  }
}

const REF_NAME = 'org.opencontainers.image.ref.name';

/**
 * Adds the artifact to the OCI image layout at `dir` (whose index already lists
 * the subject), under the ref name `refName` (`<id>:sha256-<hex>.att`); an entry of
 * that ref name is replaced. Blobs first, index.json last, each by rename.
 */
export async function addToOciLayout(dir: string, refName: string, a: Attestation): Promise<void> {
  const blobDir = join(dir, 'blobs', 'sha256');
  for (const b of [...a.blobs, { digest: a.manifest.digest, data: a.manifest.json }]) {
    const dest = join(blobDir, b.digest.replace(/^sha256:/, ''));
    const have = await stat(dest).then(
      (s) => s.size === Buffer.byteLength(b.data),
      () => false,
    );
    if (!have) await writeAtomic(dest, b.data);
  }
  const indexPath = join(dir, 'index.json');
  const index = JSON.parse(await readFile(indexPath, 'utf8')) as {
    manifests?: { digest: string; annotations?: Record<string, string> }[];
  } & Record<string, unknown>;
  const ref = (d: { annotations?: Record<string, string> }) => d.annotations?.[REF_NAME] ?? '';
  const manifests = [
    ...(index.manifests ?? []).filter((d) => ref(d) !== refName),
    {
      mediaType: ARTIFACT_MANIFEST_TYPE,
      artifactType: IN_TOTO_MEDIA_TYPE,
      digest: a.manifest.digest,
      size: a.manifest.size,
      annotations: { [REF_NAME]: refName },
    },
  ].sort((x, y) => (ref(x) < ref(y) ? -1 : ref(x) > ref(y) ? 1 : x.digest < y.digest ? -1 : x.digest > y.digest ? 1 : 0));
  await writeAtomic(indexPath, canonicalJson({ ...index, manifests }));
}
