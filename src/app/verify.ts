/**
 * `imgsdk verify` and `imgsdk keygen` as functions: the public keys and the
 * registry's credentials read once, then the runtime's checks.
 */
import { registryAuth } from '../runtime/image/push';
import { generateKeyPair, trustedKeys } from '../runtime/image/sign/keys';
import { verifyImage, type VerifyResult } from '../runtime/image/sign/verify';

export type { VerifyResult, VerifiedManifest } from '../runtime/image/sign/verify';

export interface VerifyAppOptions {
  /** Public keys (PEM files, or PEM text): a signature by any of them verifies. */
  readonly keys: readonly string[];
  /** Require the provenance and SBOM attestations and check the SBOM against the image; false checks the signature alone. @default true */
  readonly attestations?: boolean;
  /** One line per manifest verified. @default none */
  readonly log?: (line: string) => void;
  /** Credentials: IMGSDK_REGISTRY_USER/_PASSWORD, else the Docker config's auths. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Verifies a pushed image or index offline: the signature of every manifest
 * (each platform's and the index's), its attestations (signed, about that
 * digest), and that the SBOM's packages are the package database in the image.
 * Throws an ImgsdkError with code VERIFY naming what did not verify.
 * @example
 * const r = await verify('registry.example.com/team/acme/web:latest', { keys: ['imgsdk.pub'] });
 * r.manifests.map((m) => `${m.platform ?? m.kind} ${m.digest}`);
 */
export async function verify(ref: string, opts: VerifyAppOptions): Promise<VerifyResult> {
  const keys = await trustedKeys(opts.keys);
  const host = ref.split('/')[0];
  return verifyImage(ref, keys, { auth: registryAuth(host, opts.env ?? process.env), attestations: opts.attestations, log: opts.log });
}

/**
 * Writes an ECDSA P-256 key pair for signing: `<prefix>.key` (PKCS#8 PEM, mode
 * 0600, encrypted when a passphrase is given) and `<prefix>.pub`. Never overwrites.
 * @example const { privateKey, publicKey } = await keygen('imgsdk'); // imgsdk.key, imgsdk.pub
 */
export function keygen(
  prefix: string,
  opts: { readonly passphrase?: string } = {},
): Promise<{ privateKey: string; publicKey: string; hint: string }> {
  return generateKeyPair(prefix, opts);
}
