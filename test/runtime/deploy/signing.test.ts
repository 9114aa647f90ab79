import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { signingKeyOf } from '../../../src/contract/defaults';
import { signingOf, withSigning } from '../../../src/runtime/deploy/signing';

let dir: string;
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'imgsdk-signing-'));
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

const pair = () => {
  const p = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    priv: p.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    pub: p.publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
};

async function rejects(f: () => Promise<unknown>, re: RegExp): Promise<void> {
  const err = await f().then(
    () => null,
    (e: Error) => e,
  );
  assert.ok(err, `expected a rejection matching ${re}`);
  assert.match(err!.message, re);
}

test('the signing key comes from the option, else IMGSDK_SIGN_KEY, with its passphrase', () => {
  assert.equal(signingKeyOf({}, { IMGSDK_SIGN_KEY: 'ci.key', IMGSDK_SIGN_KEY_PASSPHRASE: 'p' }), { key: 'ci.key', passphrase: 'p' });
  assert.equal(signingKeyOf({ signKey: 'mine.key' }, { IMGSDK_SIGN_KEY: 'ci.key' }), { key: 'mine.key', passphrase: undefined });
  assert.equal(signingKeyOf({}, {}), { key: undefined, passphrase: undefined });
});

test('without --trust-key the cache trusts what the signing key signs; with them, only those', async () => {
  const ours = pair();
  const other = pair();
  writeFileSync(join(dir, 'ci.key'), ours.priv);
  const own = await signingOf({ signKey: join(dir, 'ci.key') });
  const hint = (await own.signer!.sign(Buffer.from('x'))).keyHint;
  assert.equal(
    own.trusted.map((k) => k.hint),
    [hint],
  );
  const rotated = await signingOf({ signKey: ours.priv, trustKeys: [other.pub, ours.pub] });
  assert.is(rotated.trusted.length, 2);
  assert.equal(await signingOf({}), { signer: null, trusted: [], vex: null });
});

test('a VEX document needs a signing key and must be OpenVEX; it goes with a signed push only', async () => {
  const ours = pair();
  writeFileSync(join(dir, 'vex.json'), JSON.stringify({ '@context': 'https://openvex.dev/ns/v0.2.0', '@id': 'x', statements: [] }));
  writeFileSync(join(dir, 'not-vex.json'), JSON.stringify({ hello: 1 }));
  await rejects(() => signingOf({ vex: join(dir, 'vex.json') }), /needs a signing key/);
  await rejects(() => signingOf({ signKey: ours.priv, vex: join(dir, 'not-vex.json') }), /not an OpenVEX document/);
  const s = await signingOf({ signKey: ours.priv, vex: join(dir, 'vex.json') });
  assert.match(s.vex!, /openvex/);
  const ship = withSigning({ load: true, push: { registry: 'r', auth: null } }, s);
  assert.ok(ship.push!.signer && ship.push!.vex);
  assert.is(withSigning({ load: true }, s).push, undefined);
});

test.run();
