/**
 * A deploy's keys, read and checked before anything is built: the signer of what
 * it pushes and publishes, the public keys the registry cache trusts, and the
 * OpenVEX document it attests. The signing modules load only when a key is given.
 */
import { readFile } from 'node:fs/promises';
import { signingKeyOf } from '../../contract/defaults';
import { UsageError } from '../../contract/errors';
import type { ShipOptions } from '../image/ship';
import type { Signer, TrustedKey } from '../image/sign/keys';

/** A deploy's keys: what signs, what the registry cache trusts, and the VEX document attested. */
export interface Signing {
  readonly signer: Signer | null;
  readonly trusted: readonly TrustedKey[];
  readonly vex: string | null;
}

/** The options of a deploy that name keys (DeployOptions has them). */
export interface SigningOptions {
  readonly signKey?: string;
  readonly signKeyPassphrase?: string;
  readonly trustKeys?: readonly string[];
  readonly vex?: string;
}

/** The signing key, trusted keys and VEX document of a deploy, read (and checked) before anything is built. */
export async function signingOf(opts: SigningOptions): Promise<Signing> {
  const { key, passphrase } = signingKeyOf(opts);
  if (!key && opts.vex) throw new UsageError('--vex attests a VEX document, which needs a signing key (--sign-key or IMGSDK_SIGN_KEY)');
  if (!key && !opts.trustKeys?.length) return { signer: null, trusted: [], vex: null };
  const { keySigner, trustedKeys } = await import('../image/sign/keys');
  const signer = key ? await keySigner(key, { passphrase }) : null;
  // Without --trust-key, the cache trusts what this key signed.
  const trusted = await trustedKeys(opts.trustKeys?.length ? opts.trustKeys : [await publicPem(key!, passphrase)]);
  const vex = opts.vex ? await readVex(opts.vex) : null;
  return { signer, trusted, vex };
}

/** The public half of a private key (a file or PEM text) as PEM. */
async function publicPem(key: string, passphrase: string | undefined): Promise<string> {
  const { createPrivateKey, createPublicKey } = await import('node:crypto');
  const text = key.trimStart().startsWith('-----BEGIN') ? key : await readFile(key, 'utf8');
  return createPublicKey(createPrivateKey({ key: text, format: 'pem', ...(passphrase !== undefined ? { passphrase } : {}) })).export({
    type: 'spki',
    format: 'pem',
  }) as string;
}

/** An OpenVEX document from a file, checked to be one. */
async function readVex(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch((err: Error) => {
    throw new UsageError(`--vex ${path}: ${err.message}`);
  });
  let doc: { '@context'?: string; statements?: unknown };
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--vex ${path}: not JSON (${(err as Error).message})`);
  }
  if (!String(doc['@context'] ?? '').startsWith('https://openvex.dev/ns') || !Array.isArray(doc.statements)) {
    throw new UsageError(
      `--vex ${path}: not an OpenVEX document (an "@context" of https://openvex.dev/ns/v0.2.0 and a "statements" list are expected)`,
    );
  }
  return text;
}

export function withSigning(ship: ShipOptions, s: Signing): ShipOptions {
  if (!ship.push || !s.signer) return ship;
  return { ...ship, push: { ...ship.push, signer: s.signer, vex: s.vex } };
}
