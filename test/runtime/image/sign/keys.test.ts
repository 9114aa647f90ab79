import { statSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPair, keySigner, trustedKeys } from '../../../../src/runtime/image/sign/keys';

let dir: string;
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'imgsdk-keys-'));
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

test('keygen writes a P-256 private key only its owner reads and its public key, both named by the same hint', async () => {
  const k = await generateKeyPair(join(dir, 'ci'));
  assert.is(statSync(k.privateKey).mode & 0o777, 0o600);
  assert.match(readFileSync(k.privateKey, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
  const signer = await keySigner(k.privateKey);
  const [pub] = await trustedKeys([k.publicKey]);
  assert.is(pub.hint, k.hint);
  assert.is((await signer.sign(Buffer.from('x'))).keyHint, k.hint);
  assert.is(pub.source, k.publicKey);
});

test('keygen never overwrites a key', async () => {
  await generateKeyPair(join(dir, 'ci'));
  await rejects(() => generateKeyPair(join(dir, 'ci')), /ci\.key exists/);
});

test('an encrypted key is read with its passphrase, and without it the error says which variable to set', async () => {
  const k = await generateKeyPair(join(dir, 'sealed'), { passphrase: 'open sesame' });
  assert.match(readFileSync(k.privateKey, 'utf8'), /ENCRYPTED PRIVATE KEY/);
  assert.is((await (await keySigner(k.privateKey, { passphrase: 'open sesame' })).sign(Buffer.from('x'))).keyHint, k.hint);
  await rejects(() => keySigner(k.privateKey), /IMGSDK_SIGN_KEY_PASSPHRASE/);
});

test('a missing key file or a file that is not a key is a usage error naming it', async () => {
  await rejects(() => keySigner(join(dir, 'nope.key')), /nope\.key: no such file/);
  await rejects(() => trustedKeys([join(dir, 'nope.pub')]), /nope\.pub: no such file/);
  await rejects(() => trustedKeys(['-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n']), /cannot read it/);
});

test('a private key is trusted as its public half, so --trust-key may name the signing key', async () => {
  const k = await generateKeyPair(join(dir, 'ci'));
  const [fromPrivate] = await trustedKeys([readFileSync(k.privateKey, 'utf8')]);
  assert.is(fromPrivate.hint, k.hint);
});

/** The message `f` rejects with, matched against `re`. */
async function rejects(f: () => Promise<unknown>, re: RegExp): Promise<void> {
  const err = await f().then(
    () => null,
    (e: Error) => e,
  );
  assert.ok(err, `expected a rejection matching ${re}`);
  assert.match(err!.message, re);
}

test.run();
