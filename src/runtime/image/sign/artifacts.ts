/**
 * Where signatures and signed attestations live in a registry: each is an OCI 1.1
 * artifact (artifactType = the Sigstore bundle media type, OCI's empty config)
 * whose `subject` is the signed manifest, so a registry with the referrers API
 * lists it under `/v2/<repo>/referrers/<digest>`. It is also tagged by cosign's
 * scheme, `sha256-<hex>.sig` for the signature and `sha256-<hex>.att` for the
 * attestations, which is how registries without that API (Docker's registry 2.x)
 * find it. A reader asks the referrers API first and reads the tags as well.
 *
 * The signature artifact's layers are the bundle and the simple-signing payload
 * it signs; the payload layer carries the same signature in cosign's annotation
 * (`dev.cosignproject.cosign/signature`), as cosign's own `.sig` manifests do. The
 * attestation artifact has one bundle layer per statement, annotated with its
 * predicate type.
 */
import { canonicalJson } from '../../../contract/json';
import { ImgsdkError, VerifyError } from '../../../contract/errors';
import { sha256Digest } from '../../../util/hash';
import { ARTIFACT_MANIFEST_TYPE, EMPTY_CONFIG, type RegistryClient, type Subject } from '../attest';
import { BUNDLE_MEDIA_TYPE, SIMPLE_SIGNING_TYPE, signMessage, signStatement, simpleSigningPayload } from './bundles';
import type { Signer } from './keys';

export const ANN_CONTENT = 'dev.sigstore.bundle.content';
export const ANN_PREDICATE = 'dev.sigstore.bundle.predicateType';
export const ANN_COSIGN_SIGNATURE = 'dev.cosignproject.cosign/signature';
const INDEX_TYPE = 'application/vnd.oci.image.index.v1+json';

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  INDEX_TYPE,
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/** cosign's tag for the signature (`sig`) or the attestations (`att`) of a manifest. */
export function cosignTag(digest: string, kind: 'sig' | 'att'): string {
  return `${digest.replace(':', '-')}.${kind}`;
}

/** A manifest of `repo` by tag or digest: its bytes, digest and media type; null when absent. */
export async function getManifest(
  client: RegistryClient,
  repo: string,
  ref: string,
): Promise<{ body: Buffer; digest: string; mediaType: string } | null> {
  const res = await client.request('GET', `/v2/${repo}/manifests/${ref}`, { accept: MANIFEST_ACCEPT });
  if (res.status === 404) {
    await res.arrayBuffer().catch(() => undefined);
    return null;
  }
  if (!res.ok) throw new VerifyError(`${client.url}/${repo}: GET manifest ${ref}: HTTP ${res.status} ${await res.text().catch(() => '')}`);
  const body = Buffer.from(await res.arrayBuffer());
  const digest = sha256Digest(body);
  if (ref.startsWith('sha256:') && digest !== ref)
    throw new VerifyError(`${client.url}/${repo}@${ref}: the registry sent a manifest whose digest is ${digest}`);
  const mediaType = (JSON.parse(body.toString('utf8')) as { mediaType?: string }).mediaType ?? res.headers.get('content-type') ?? '';
  return { body, digest, mediaType };
}

/** A blob of `repo`, checked against its digest. */
export async function getBlob(client: RegistryClient, repo: string, digest: string): Promise<Buffer> {
  const res = await client.request('GET', `/v2/${repo}/blobs/${digest}`);
  if (!res.ok) throw new VerifyError(`${client.url}/${repo}: blob ${digest}: HTTP ${res.status}`);
  const data = Buffer.from(await res.arrayBuffer());
  if (sha256Digest(data) !== digest) throw new VerifyError(`${client.url}/${repo}: blob ${digest} does not match its digest`);
  return data;
}

interface Layer {
  readonly mediaType: string;
  readonly data: Buffer;
  readonly annotations: Record<string, string>;
}

/** Uploads the layers and puts the artifact manifest under `tag`; returns its digest. */
async function putArtifact(client: RegistryClient, repo: string, subject: Subject, layers: readonly Layer[], tag: string): Promise<string> {
  await client.putBlob(repo, sha256Digest(EMPTY_CONFIG.json), EMPTY_CONFIG.json);
  for (const l of layers) await client.putBlob(repo, sha256Digest(l.data), l.data);
  const json = canonicalJson({
    schemaVersion: 2,
    mediaType: ARTIFACT_MANIFEST_TYPE,
    artifactType: BUNDLE_MEDIA_TYPE,
    config: { mediaType: EMPTY_CONFIG.mediaType, digest: sha256Digest(EMPTY_CONFIG.json), size: Buffer.byteLength(EMPTY_CONFIG.json) },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: sha256Digest(l.data), size: l.data.length, annotations: l.annotations })),
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  });
  await client.putManifest(repo, tag, json, ARTIFACT_MANIFEST_TYPE);
  return sha256Digest(json);
}

/**
 * Signs manifest `subject` of `repo` (named `reference` in the payload, e.g.
 * `registry/ns/app`) and pushes the signature artifact. Returns its tag.
 * @example await pushSignature(client, 'ns/app', '127.0.0.1:5000/ns/app', subject, signer) // 'sha256-….sig'
 */
export async function pushSignature(
  client: RegistryClient,
  repo: string,
  reference: string,
  subject: Subject,
  signer: Signer,
): Promise<string> {
  const payload = simpleSigningPayload(reference, subject.digest);
  const { bundle, signature } = await signMessage(signer, payload);
  const tag = cosignTag(subject.digest, 'sig');
  await putArtifact(
    client,
    repo,
    subject,
    [
      { mediaType: BUNDLE_MEDIA_TYPE, data: Buffer.from(bundle), annotations: { [ANN_CONTENT]: 'message-signature' } },
      { mediaType: SIMPLE_SIGNING_TYPE, data: payload, annotations: { [ANN_COSIGN_SIGNATURE]: signature.toString('base64') } },
    ],
    tag,
  );
  return tag;
}

/** One statement to attest: its predicate type and the statement's bytes. */
export interface Statement {
  readonly predicateType: string;
  readonly statement: Buffer;
}

/**
 * Signs each statement (DSSE) and pushes them as the attestation artifact of
 * `subject`. Returns its tag.
 */
export async function pushSignedAttestations(
  client: RegistryClient,
  repo: string,
  subject: Subject,
  statements: readonly Statement[],
  signer: Signer,
): Promise<string> {
  const layers: Layer[] = [];
  for (const s of statements) {
    layers.push({
      mediaType: BUNDLE_MEDIA_TYPE,
      data: Buffer.from(await signStatement(signer, s.statement)),
      annotations: { [ANN_CONTENT]: 'dsse-envelope', [ANN_PREDICATE]: s.predicateType },
    });
  }
  const tag = cosignTag(subject.digest, 'att');
  await putArtifact(client, repo, subject, layers, tag);
  return tag;
}

/** The descriptor of manifest `digest` of `repo` (media type and size), as a subject. */
export async function subjectOf(client: RegistryClient, repo: string, digest: string): Promise<Subject> {
  const head = await client.request('HEAD', `/v2/${repo}/manifests/${digest}`, { accept: MANIFEST_ACCEPT });
  if (!head.ok)
    throw new ImgsdkError('PUSH', `${client.url}/${repo}@${digest}: the registry does not have that manifest (HTTP ${head.status})`);
  return {
    mediaType: head.headers.get('content-type') ?? ARTIFACT_MANIFEST_TYPE,
    digest,
    size: Number(head.headers.get('content-length') ?? 0),
  };
}

/** An artifact found for a manifest: its manifest, parsed, and where it was found. */
export interface FoundArtifact {
  readonly digest: string;
  readonly manifest: {
    readonly artifactType?: string;
    readonly subject?: { readonly digest: string };
    readonly layers: readonly { readonly mediaType: string; readonly digest: string; readonly annotations?: Record<string, string> }[];
  };
  /** `referrers` or the tag it was found under. */
  readonly via: string;
}

/**
 * The artifacts attached to manifest `digest` of `repo` of kind `sig` or `att`:
 * the referrers API's (when the registry has it) and the cosign tag's, once each.
 */
export async function findArtifacts(client: RegistryClient, repo: string, digest: string, kind: 'sig' | 'att'): Promise<FoundArtifact[]> {
  const found = new Map<string, FoundArtifact>();
  const add = (body: Buffer, d: string, via: string) => {
    const m = JSON.parse(body.toString('utf8')) as FoundArtifact['manifest'];
    if (!Array.isArray(m.layers)) return;
    found.set(d, { digest: d, manifest: m, via });
  };
  const res = await client.request('GET', `/v2/${repo}/referrers/${digest}`, { accept: INDEX_TYPE });
  if (res.ok && (res.headers.get('content-type') ?? '').includes(INDEX_TYPE)) {
    const index = (await res.json()) as { manifests?: { digest: string; artifactType?: string }[] };
    for (const d of index.manifests ?? []) {
      if (d.artifactType !== BUNDLE_MEDIA_TYPE && d.artifactType !== undefined) continue;
      const m = await getManifest(client, repo, d.digest);
      if (m && kindOf(m.body) === kind) add(m.body, m.digest, 'referrers');
    }
  } else {
    await res.arrayBuffer().catch(() => undefined);
  }
  const tag = cosignTag(digest, kind);
  const tagged = await getManifest(client, repo, tag);
  if (tagged && !found.has(tagged.digest)) add(tagged.body, tagged.digest, tag);
  return [...found.values()];
}

/** Whether an artifact manifest is a signature (a message signature) or attestations (DSSE). */
function kindOf(body: Buffer): 'sig' | 'att' | null {
  const m = JSON.parse(body.toString('utf8')) as FoundArtifact['manifest'];
  const contents = (m.layers ?? []).map((l) => l.annotations?.[ANN_CONTENT]);
  if (contents.includes('message-signature')) return 'sig';
  if (contents.includes('dsse-envelope')) return 'att';
  return null;
}
