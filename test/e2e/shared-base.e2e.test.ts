/**
 * Issue 8, point 5: the shared-base pattern the examples teach. The base of
 * @imgsdk-examples/bases (ca-certificates and tzdata) keeps only what it loads
 * itself; its children bring programs that need more of the parent's packages --
 * libm (jq), libstdc++/libgcc_s/libm (ninja, C++), libresolv (curl, through
 * Kerberos) -- and must deploy and run with no `.needs()`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, image, type Image } from '../../src';
import { engineOrSkip } from '../_kit/engine';
import { deployAll, failures, suiteState, formatSize, loadExample, measureSizes, runOnce, type Deployed } from './_examples';

const base = loadExample('shared-bases/images.ts').roots.find((i) => i.id === 'bases/debian-base')!;
const child = (name: string, pkg: string, bin: string): Image =>
  image(`imgsdk-e2e/base-${name}`).from(base).packages(pkg).user('nobody').entrypoint(bin);
const jq = child('jq', 'jq', '/usr/bin/jq');
const ninja = child('ninja', 'ninja-build', '/usr/bin/ninja');
const curl = child('curl', 'curl', '/usr/bin/curl');
const CHILDREN = [jq, ninja, curl];
const IDS = CHILDREN.map((c) => c.id);

const state = suiteState('shared-base');
let deployed: Deployed | undefined;

/** Deploys the base and its children once for the whole file. */
async function deployOnce(): Promise<Deployed> {
  deployed ??= await deployAll(app(...CHILDREN), state.dir);
  return deployed;
}

test('children of the shared base that need libm, libstdc++/libgcc_s and libresolv deploy with no .needs()', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  assert.equal(
    CHILDREN.map((c) => c.state.needs),
    [[], [], []],
  );
  assert.equal(base.state.needs, []);
  const d = await deployOnce();
  assert.ok(d.result.ok, failures(d));
  assert.equal(d.result.images.map((i) => i.id).sort(), ['bases/debian-base', ...IDS].sort());
});

test('jq (libm) computes square roots', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  assert.ok((await deployOnce()).result.ok);
  const r = await runOnce(docker, `${jq.id}:latest`, { cmd: ['-n', '[4, 9] | map(sqrt) | add'] });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, '5\n');
});

test('ninja (C++: libstdc++, libgcc_s, libm) runs', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  assert.ok((await deployOnce()).result.ok);
  const r = await runOnce(docker, `${ninja.id}:latest`, { cmd: ['--version'] });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^1\.\d+\.\d+\n$/);
});

test("curl (libresolv through Kerberos) runs and reads the parent's CA bundle", async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  assert.ok((await deployOnce()).result.ok);
  const r = await runOnce(docker, `${curl.id}:latest`, {
    cmd: ['-sS', '-o', '/dev/null', '-w', '%{size_download}', 'file:///etc/ssl/certs/ca-certificates.crt'],
  });
  assert.is(r.code, 0, r.stderr);
  assert.ok(Number(r.stdout) > 100_000, `the CA bundle has ${r.stdout} bytes`);
});

test('the base and its children are measured beside plain Debian with the same packages', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const d = await deployOnce();
  const lines = await measureSizes(docker, [d], ['bases/debian-base', ...IDS]);
  for (const l of lines) console.log(`  ${formatSize(l)}`);
  assert.ok(lines.length > 0, 'something was built');
});

test.after(async () => {
  await state.cleanUp(await engineOrSkip().catch(() => null), ['bases/debian-base', ...IDS]);
});

test.run();
