/**
 * Signing at push: after a manifest (or an index) is in the registry, its
 * signature and, for an image, its signed attestations go next to it.
 */
import type { VexStatementDef } from '../../../contract/assembly';
import type { RegistryAuth } from '../../engine/engine';
import { RegistryClient } from '../attest';
import { PREDICATE, statement } from './bundles';
import { pushSignature, pushSignedAttestations, subjectOf, type Statement } from './artifacts';
import type { Signer } from './keys';

/** What an image is attested with: each optional. */
export interface ImageAttestations {
  /** The provenance statement imgsdk wrote (in-toto v1, SLSA provenance v1). */
  readonly provenance?: string | null;
  /** The SPDX 2.3 JSON document. */
  readonly sbom?: string | null;
  /** An OpenVEX document (`--vex FILE`). */
  readonly vex?: string | null;
  /** The image's own statements (`.vex()`), attested as an OpenVEX document of their own. */
  readonly vexStatements?: readonly VexStatementDef[];
  /** SOURCE_DATE_EPOCH: the time of that document (OpenVEX requires one). @default 0 */
  readonly epoch?: number;
}

/**
 * The statements of an image pushed as `reference@digest`: each subject is that
 * manifest (and, for the provenance, also the image id it was written for).
 * @example imageStatements('reg/ns/app', 'sha256:…', { sbom }).map((s) => s.predicateType) // ['https://spdx.dev/Document']
 */
export function imageStatements(reference: string, digest: string, a: ImageAttestations): Statement[] {
  const pushed = { name: reference, digest };
  const out: Statement[] = [];
  if (a.provenance) {
    const p = JSON.parse(a.provenance) as {
      predicateType: string;
      predicate: unknown;
      subject?: { name: string; digest: { sha256: string } }[];
    };
    const own = (p.subject ?? []).map((s) => ({ name: s.name, digest: s.digest.sha256 }));
    out.push({ predicateType: p.predicateType, statement: statement([pushed, ...own], p.predicateType, p.predicate) });
  }
  if (a.sbom) out.push({ predicateType: PREDICATE.sbom, statement: statement([pushed], PREDICATE.sbom, JSON.parse(a.sbom)) });
  if (a.vex) out.push({ predicateType: PREDICATE.vex, statement: statement([pushed], PREDICATE.vex, JSON.parse(a.vex)) });
  if (a.vexStatements?.length)
    out.push({
      predicateType: PREDICATE.vex,
      statement: statement([pushed], PREDICATE.vex, vexDocument(reference, digest, a.vexStatements, a.epoch ?? 0)),
    });
  return out;
}

/**
 * An OpenVEX v0.2.0 document of `.vex()` statements about `reference@digest`; a
 * statement that names no products is about that image (as a `pkg:oci` purl).
 * @example vexDocument('reg/acme/web', 'sha256:…', [{ vulnerability: { name: 'CVE-2023-4911' }, status: 'fixed' }], 0).statements[0].products
 */
export function vexDocument(
  reference: string,
  digest: string,
  statements: readonly VexStatementDef[],
  epoch: number,
): { statements: readonly VexStatementDef[] } & Record<string, unknown> {
  const name = reference.slice(reference.lastIndexOf('/') + 1);
  const purl = `pkg:oci/${name}@${encodeURIComponent(digest)}?repository_url=${encodeURIComponent(reference)}`;
  return {
    '@context': PREDICATE.vex,
    '@id': `https://imgsdk.invalid/vex/${reference}@${digest}`,
    author: 'imgsdk',
    timestamp: new Date(epoch * 1000).toISOString(),
    version: 1,
    statements: statements.map((st) => ({ ...st, products: st.products?.length ? st.products : [{ '@id': purl }] })),
  };
}

/**
 * Signs `registry/id@digest` and attaches its signed attestations (none for an
 * index or a debug variant). Returns the tags written.
 */
export async function signPushed(
  registry: string,
  auth: RegistryAuth | null,
  id: string,
  digest: string,
  signer: Signer,
  attestations: ImageAttestations | null,
): Promise<string[]> {
  const client = new RegistryClient(registry, auth);
  const repo = [...registry.split('/').slice(1), id].join('/');
  const reference = `${registry}/${id}`;
  const subject = await subjectOf(client, repo, digest);
  const tags = [await pushSignature(client, repo, reference, subject, signer)];
  const statements = attestations ? imageStatements(reference, digest, attestations) : [];
  if (statements.length) tags.push(await pushSignedAttestations(client, repo, subject, statements, signer));
  return tags;
}
