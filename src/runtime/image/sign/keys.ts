/**
 * Keys for signing and verifying: a private key the user provides (PEM, optionally
 * passphrase-protected) becomes a {@link Signer}; public keys become the trusted
 * keys a verifier accepts. A key is named by its hint: the sha256 of its
 * SubjectPublicKeyInfo (DER), hex, which the Sigstore bundle carries instead of a
 * certificate. Keyless signing (Fulcio) would be another Signer returning a
 * certificate instead of a hint.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { UsageError } from '../../../contract/errors';
import { shortKey } from '../../../contract/names';

/** What a signature needs besides its bytes: how a verifier finds the key. */
export interface SignatureMaterial {
  readonly signature: Buffer;
  /** The public key's hint (keyed signing). */
  readonly keyHint?: string;
  /** A DER certificate (keyless signing; not made by imgsdk yet). */
  readonly certificate?: Buffer;
}

/** Signs bytes: the one thing the bundles need of a key. */
export interface Signer {
  /** Names the key in messages (its hint's first 12 hex for a keyed signer). */
  readonly name: string;
  sign(data: Buffer): Promise<SignatureMaterial>;
}

/** A public key a verifier accepts, by its hint. */
export interface TrustedKey {
  readonly hint: string;
  readonly key: KeyObject;
  /** Where it came from (a file name), for messages. */
  readonly source: string;
}

/** The hint of a public key: sha256 of its DER SubjectPublicKeyInfo, hex. */
export function keyHint(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/**
 * A signer from a PEM private key (EC P-256/P-384, RSA or Ed25519; PKCS#8, SEC1 or
 * PKCS#1; encrypted with `passphrase` when it is). `pem` is the key itself or a
 * file holding it; `what` names it in errors.
 * @example const signer = await keySigner('cosign.key', { passphrase: process.env.IMGSDK_SIGN_KEY_PASSPHRASE });
 */
export async function keySigner(pem: string, o: { readonly passphrase?: string; readonly what?: string } = {}): Promise<Signer> {
  const what = o.what ?? (isPem(pem) ? 'the signing key' : pem);
  const text = isPem(pem)
    ? pem
    : await readFile(pem, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new UsageError(`signing key ${pem}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
      });
  const encrypted = /ENCRYPTED/.test(text);
  if (encrypted && o.passphrase === undefined)
    throw new UsageError(`signing key ${what} is encrypted: set IMGSDK_SIGN_KEY_PASSPHRASE to its passphrase`);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem', ...(o.passphrase !== undefined ? { passphrase: o.passphrase } : {}) });
  } catch (err) {
    const why = encrypted ? 'wrong passphrase?' : 'a PEM private key is expected: imgsdk keygen makes one';
    throw new UsageError(`signing key ${what}: cannot read it: ${(err as Error).message} (${why})`);
  }
  const hint = keyHint(createPublicKey(key));
  // Ed25519 signs the message itself; the others sign its sha256.
  const digest = key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  return {
    name: `key ${shortKey(hint)}`,
    sign: async (data) => ({ signature: sign(digest, data, key), keyHint: hint }),
  };
}

/**
 * Trusted keys from PEM public keys (files or the PEM text). A private key is
 * accepted too (its public half is used), so `--trust-key` may name the signing key.
 * @example const keys = await trustedKeys(['cosign.pub', 'old.pub']);
 */
export async function trustedKeys(sources: readonly string[]): Promise<TrustedKey[]> {
  const out: TrustedKey[] = [];
  for (const s of sources) {
    const text = isPem(s)
      ? s
      : await readFile(s, 'utf8').catch((err: NodeJS.ErrnoException) => {
          throw new UsageError(`public key ${s}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
        });
    let key: KeyObject;
    try {
      key = createPublicKey({ key: text, format: 'pem' });
    } catch (err) {
      throw new UsageError(
        `public key ${isPem(s) ? '(PEM text)' : s}: cannot read it: ${(err as Error).message} (a PEM public key is expected)`,
      );
    }
    out.push({ hint: keyHint(key), key, source: isPem(s) ? `key ${shortKey(keyHint(key))}` : s });
  }
  return out;
}

/**
 * `imgsdk keygen`: writes an ECDSA P-256 key pair, `<prefix>.key` (PKCS#8 PEM,
 * mode 0600, encrypted with AES-256-CBC when a passphrase is given) and
 * `<prefix>.pub` (SPKI PEM). Refuses to overwrite. Returns both paths and the hint.
 * @example await generateKeyPair('imgsdk') // { privateKey: 'imgsdk.key', publicKey: 'imgsdk.pub', hint: '…' }
 */
export async function generateKeyPair(
  prefix: string,
  o: { readonly passphrase?: string } = {},
): Promise<{ privateKey: string; publicKey: string; hint: string }> {
  const paths = { privateKey: `${prefix}.key`, publicKey: `${prefix}.pub` };
  for (const p of Object.values(paths)) {
    if (
      await readFile(p).then(
        () => true,
        () => false,
      )
    )
      throw new UsageError(`keygen: ${p} exists; remove it or choose another name`);
  }
  // `wx`: never over a key that appeared meanwhile; 0600: the private key is for its owner only.
  const create = (p: string, data: string, mode: number) => writeFile(p, data, { flag: 'wx', mode });
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const priv = pair.privateKey.export({
    type: 'pkcs8',
    format: 'pem',
    ...(o.passphrase ? { cipher: 'aes-256-cbc', passphrase: o.passphrase } : {}),
  }) as string;
  await create(paths.privateKey, priv, 0o600);
  await create(paths.publicKey, pair.publicKey.export({ type: 'spki', format: 'pem' }) as string, 0o644);
  return { ...paths, hint: keyHint(pair.publicKey) };
}

function isPem(s: string): boolean {
  return s.trimStart().startsWith('-----BEGIN');
}
