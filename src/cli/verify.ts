import { keygen, verify } from '../app/verify';
import { ENV_SIGN_KEY_PASSPHRASE } from '../contract/defaults';
import { UsageError } from '../contract/errors';
import { parse } from './args';
import { shortKey } from '../contract/names';

export const VERIFY_USAGE = `imgsdk verify REF --key PUB [--key PUB…] [options]
  Verifies a pushed image offline (no transparency log): the signature of REF's
  manifest, or of its index and every platform's manifest; their attestations
  (SLSA provenance, SPDX SBOM, OpenVEX when attached: signed, about that digest);
  and that the SBOM's packages are the package database in the image's layers.
  REF is host[:port]/repository[:tag|@sha256:…].
  --key FILE         a trusted public key (PEM); repeat it while rotating keys
  --signature-only   check the signatures alone (a :debug variant has no attestations)
  --json             the result as JSON on stdout
  Exit 0 when everything verifies, 1 naming what did not.
`;

export async function verifyCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      key: { type: 'string', multiple: true },
      'signature-only': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    true,
  );
  if (positionals.length !== 1) throw new UsageError('verify takes one image reference (host[:port]/repository[:tag|@sha256:…])');
  const keys = (values.key as string[] | undefined) ?? [];
  if (!keys.length) throw new UsageError('verify needs --key FILE (a PEM public key)');
  const r = await verify(positionals[0], {
    keys,
    attestations: !values['signature-only'],
    log: values.json ? undefined : (line) => process.stdout.write(`${line}\n`),
  });
  if (values.json) process.stdout.write(JSON.stringify(r) + '\n');
  else process.stdout.write(`verified ${r.ref} (${r.digest}): ${r.manifests.length} manifest${r.manifests.length === 1 ? '' : 's'}\n`);
  return 0;
}

export const KEYGEN_USAGE = `imgsdk keygen [PREFIX]
  Writes an ECDSA P-256 key pair for --sign-key / --trust-key / verify --key:
  PREFIX.key (PKCS#8 PEM, mode 0600) and PREFIX.pub (default PREFIX: imgsdk).
  Encrypted with IMGSDK_SIGN_KEY_PASSPHRASE when that is set. Never overwrites.
`;

export async function keygenCommand(argv: readonly string[]): Promise<number> {
  const { positionals } = parse(argv, {}, true);
  if (positionals.length > 1) throw new UsageError('keygen takes one file name prefix');
  const k = await keygen(positionals[0] ?? 'imgsdk', { passphrase: process.env[ENV_SIGN_KEY_PASSPHRASE] || undefined });
  process.stdout.write(`wrote ${k.privateKey} (private, keep it secret) and ${k.publicKey} (key ${shortKey(k.hint)})\n`);
  return 0;
}
