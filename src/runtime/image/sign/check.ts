/**
 * Checking what is attached to a manifest in a registry: its signature (one
 * signature artifact that verifies with a trusted key and names this very
 * digest) and its attestations (every one signed by a trusted key, each a
 * statement whose subject is this digest). Shared by `imgsdk verify` and the
 * registry cache.
 */
import { VerifyError } from '../../../contract/errors';
import type { RegistryClient } from '../attest';
import { BUNDLE_MEDIA_TYPE, IN_TOTO_PAYLOAD_TYPE, SIMPLE_SIGNING_TYPE, readSimpleSigning, verifyBundle } from './bundles';
import { ANN_PREDICATE, findArtifacts, getBlob } from './artifacts';
import type { TrustedKey } from './keys';

/**
 * The trusted key whose signature of `repo@digest` verifies. Throws VerifyError
 * saying why none does (none attached, a bundle that fails, another key, a payload
 * naming another digest).
 */
export async function checkSignature(
  client: RegistryClient,
  repo: string,
  digest: string,
  keys: readonly TrustedKey[],
): Promise<{ key: TrustedKey; via: string }> {
  const found = await findArtifacts(client, repo, digest, 'sig');
  if (!found.length)
    throw new VerifyError(
      `${repo}@${digest} is not signed (no signature artifact: neither a referrer nor the tag ${digest.replace(':', '-')}.sig)`,
    );
  const why: string[] = [];
  for (const a of found) {
    try {
      if (a.manifest.subject?.digest !== digest) throw new VerifyError(`its subject is ${a.manifest.subject?.digest ?? 'missing'}`);
      const bundleLayer = a.manifest.layers.find((l) => l.mediaType === BUNDLE_MEDIA_TYPE);
      const payloadLayer = a.manifest.layers.find((l) => l.mediaType === SIMPLE_SIGNING_TYPE);
      if (!bundleLayer || !payloadLayer) throw new VerifyError('it lacks the bundle or the signed payload');
      const payload = await getBlob(client, repo, payloadLayer.digest);
      const named = readSimpleSigning(payload);
      if (named?.digest !== digest) throw new VerifyError(`its payload names ${named?.digest ?? 'no image'}`);
      const v = verifyBundle((await getBlob(client, repo, bundleLayer.digest)).toString('utf8'), keys, payload);
      return { key: v.key, via: a.via };
    } catch (err) {
      why.push(`${a.via}: ${(err as Error).message}`);
    }
  }
  throw new VerifyError(`the signature of ${repo}@${digest} does not verify: ${why.join('; ')}`);
}

/** One verified attestation. */
export interface CheckedAttestation {
  readonly predicateType: string;
  readonly statement: { readonly subject: readonly { name: string; digest: { sha256?: string } }[]; readonly predicate: unknown };
  readonly key: TrustedKey;
}

/**
 * Every attestation of `repo@digest`, each verified (signature by a trusted key,
 * DSSE payload an in-toto statement about this digest, predicate type as
 * annotated). Throws VerifyError on the first that fails, or when an attached
 * attestation is not signed at all.
 */
export async function checkAttestations(
  client: RegistryClient,
  repo: string,
  digest: string,
  keys: readonly TrustedKey[],
): Promise<CheckedAttestation[]> {
  const out: CheckedAttestation[] = [];
  for (const a of await findArtifacts(client, repo, digest, 'att')) {
    const where = `attestation ${a.via} of ${repo}@${digest}`;
    if (a.manifest.artifactType !== BUNDLE_MEDIA_TYPE)
      throw new VerifyError(`${where} is not signed (artifactType ${a.manifest.artifactType ?? 'none'}, not a Sigstore bundle)`);
    if (a.manifest.subject?.digest !== digest) throw new VerifyError(`${where}: its subject is ${a.manifest.subject?.digest ?? 'missing'}`);
    for (const l of a.manifest.layers) {
      if (l.mediaType !== BUNDLE_MEDIA_TYPE) continue;
      const type = l.annotations?.[ANN_PREDICATE] ?? '?';
      let v;
      try {
        v = verifyBundle((await getBlob(client, repo, l.digest)).toString('utf8'), keys);
      } catch (err) {
        throw new VerifyError(`${where}, ${type}: ${(err as Error).message}`);
      }
      const envelope = v.bundle.content.$case === 'dsseEnvelope' ? v.bundle.content.dsseEnvelope : null;
      if (!envelope || envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE || !v.payload)
        throw new VerifyError(`${where}, ${type}: not an in-toto statement in a DSSE envelope`);
      const stmt = JSON.parse(v.payload.toString('utf8')) as CheckedAttestation['statement'] & { predicateType?: string };
      if (stmt.predicateType !== type)
        throw new VerifyError(`${where}: the statement's predicate type ${stmt.predicateType} is not the annotated ${type}`);
      if (!stmt.subject?.some((s) => `sha256:${s.digest?.sha256}` === digest))
        throw new VerifyError(`${where}, ${type}: no subject is ${digest}`);
      out.push({ predicateType: type, statement: stmt, key: v.key });
    }
  }
  return out;
}
