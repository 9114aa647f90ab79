/**
 * Signatures in Sigstore's formats, so that existing verifiers accept them:
 *
 * - an image (a manifest or an index) is signed with a Sigstore bundle v0.3 holding
 *   a message signature over cosign's "simple signing" payload, which names the
 *   manifest digest (`critical.image.docker-manifest-digest`) and the repository
 *   (`critical.identity.docker-reference`). The payload, not the bare digest, is
 *   what cosign has signed since its first release, and it binds the repository:
 *   the same signature is therefore also a valid cosign signature;
 * - an attestation is an in-toto statement v1 in a DSSE envelope (payloadType
 *   `application/vnd.in-toto+json`), in a bundle v0.3.
 *
 * Keyed bundles carry the key's hint instead of a certificate, no transparency log
 * entry and no timestamp: they verify offline, with the public key.
 */
import { VerifyError } from '../../../contract/errors';
import { createHash } from 'node:crypto';
import {
  assertBundle,
  bundleFromJSON,
  bundleToJSON,
  isBundleWithDsseEnvelope,
  isBundleWithPublicKey,
  toDSSEBundle,
  toMessageSignatureBundle,
  type Bundle,
} from '@sigstore/bundle';
import { dsse } from '@sigstore/core';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { canonicalJson } from '../../../contract/json';
import type { Signer, TrustedKey } from './keys';
import { shortKey } from '../../../contract/names';

export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const SIMPLE_SIGNING_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/** The predicate types imgsdk attests with. */
export const PREDICATE = {
  provenance: 'https://slsa.dev/provenance/v1',
  sbom: 'https://spdx.dev/Document',
  vex: 'https://openvex.dev/ns/v0.2.0',
} as const;

/**
 * cosign's simple-signing payload for `reference@digest` (canonical JSON, so the
 * same image gives the same bytes).
 * @example simpleSigningPayload('reg.example/ns/app', 'sha256:ab…').toString() // '{"critical":{"identity":…'
 */
export function simpleSigningPayload(reference: string, digest: string): Buffer {
  return Buffer.from(
    canonicalJson({
      critical: {
        identity: { 'docker-reference': reference },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional: null,
    }).trimEnd(),
  );
}

/** The image and repository a simple-signing payload names; null when it is not one. */
export function readSimpleSigning(payload: Buffer): { reference: string; digest: string } | null {
  try {
    const p = JSON.parse(payload.toString('utf8')) as {
      critical?: { identity?: { 'docker-reference'?: string }; image?: { 'docker-manifest-digest'?: string }; type?: string };
    };
    const digest = p.critical?.image?.['docker-manifest-digest'];
    if (p.critical?.type !== 'cosign container image signature' || !digest) return null;
    return { reference: p.critical.identity?.['docker-reference'] ?? '', digest };
  } catch {
    return null;
  }
}

/** A message-signature bundle over `payload`, and the raw signature (cosign's `.sig` annotation carries it too). */
export async function signMessage(signer: Signer, payload: Buffer): Promise<{ bundle: string; signature: Buffer }> {
  const s = await signer.sign(payload);
  const b = toMessageSignatureBundle({
    digest: createHash('sha256').update(payload).digest(),
    signature: s.signature,
    keyHint: s.keyHint,
    certificate: s.certificate,
  });
  return { bundle: JSON.stringify(bundleToJSON(b)), signature: s.signature };
}

/** An in-toto statement v1 about `subjects` (name and sha256 hex). */
export function statement(
  subjects: readonly { readonly name: string; readonly digest: string }[],
  predicateType: string,
  predicate: unknown,
): Buffer {
  return Buffer.from(
    canonicalJson({
      _type: STATEMENT_TYPE,
      subject: subjects.map((s) => ({ name: s.name, digest: { sha256: s.digest.replace(/^sha256:/, '') } })),
      predicateType,
      predicate,
    }).trimEnd(),
  );
}

/** A DSSE bundle over an in-toto statement. */
export async function signStatement(signer: Signer, stmt: Buffer): Promise<string> {
  const s = await signer.sign(dsse.preAuthEncoding(IN_TOTO_PAYLOAD_TYPE, stmt));
  return JSON.stringify(
    bundleToJSON(
      toDSSEBundle({
        artifact: stmt,
        artifactType: IN_TOTO_PAYLOAD_TYPE,
        signature: s.signature,
        keyHint: s.keyHint,
        certificate: s.certificate,
      }),
    ),
  );
}

/** A verified bundle: which key signed it and, for DSSE, the statement. */
export interface Verified {
  readonly key: TrustedKey;
  readonly bundle: Bundle;
  /** The DSSE payload (the in-toto statement), for an attestation. */
  readonly payload?: Buffer;
}

/**
 * Checks a serialized bundle against the Sigstore bundle types, then its signature
 * with Sigstore's own verifier, trusting only `keys` (no transparency log, no
 * timestamp: offline). `artifact` is the signed message of a message signature.
 * Throws an Error saying what did not verify.
 * @example verifyBundle(bundleJson, await trustedKeys(['cosign.pub']), payload)
 */
export function verifyBundle(text: string, keys: readonly TrustedKey[], artifact?: Buffer): Verified {
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(JSON.parse(text));
    assertBundle(bundle);
  } catch (err) {
    throw new VerifyError(`not a Sigstore bundle: ${(err as Error).message}`);
  }
  if (!isBundleWithPublicKey(bundle))
    throw new VerifyError('the bundle names no public key (a certificate: keyless signatures are not verified here)');
  const hint = bundle.verificationMaterial.content.publicKey.hint;
  const key = keys.find((k) => k.hint === hint);
  if (!key)
    throw new VerifyError(
      `signed by key ${shortKey(hint) || '(no hint)'}, which is not trusted (trusted: ${keys.map((k) => `${k.source} ${shortKey(k.hint)}`).join(', ') || 'none'})`,
    );
  const root = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  };
  const material = toTrustMaterial(root, (h: string) => {
    if (h !== key.hint) throw new VerifyError(`key ${h} is not trusted`);
    return { publicKey: key.key, validFor: () => true };
  });
  // Keyed and offline: no log entries, no SCTs, no timestamps are required.
  const verifier = new Verifier(material, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  try {
    verifier.verify(toSignedEntity(bundle, artifact));
  } catch (err) {
    throw new VerifyError(`the signature by ${key.source} does not verify: ${(err as Error).message}`);
  }
  return { key, bundle, ...(isBundleWithDsseEnvelope(bundle) ? { payload: bundle.content.dsseEnvelope.payload } : {}) };
}
