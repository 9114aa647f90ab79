/**
 * The first hour of a user: the same app deployed from another working directory
 * (a build script in scripts/, CI, `--app ../web`) finds the cache beside the app
 * and rebuilds nothing. Before the state directory moved beside the app, this
 * rebuilt everything (16.8 s) although the engine had every image.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deployApp } from '../../src/app/deploy';
import { removeImages, tempDir } from './_app';
import { TEST_BUILDER, testBuilderImage } from '../_kit/builder';
import { engineOrSkip } from '../_kit/engine';

const BIN = resolve(__dirname, '..', '..', 'bin', 'imgsdk.js');
const NS = `hour-cwd-${randomBytes(4).toString('hex')}`;
const BUILDER = `${NS}/bookworm`;

const APP = `
import { debian, image } from 'imgsdk';
// network: 'host': the builder needs no bridge (apt reaches the archive either way).
const deb = debian.builder('${BUILDER}', { suite: 'bookworm', from: '${TEST_BUILDER}', network: 'host' });
export const base = image('${NS}/base').builder(deb).packages('libc6').user('nobody');
export const hello = image('${NS}/hello').from(base).packages('hello').entrypoint('/usr/bin/hello');
`;

function deploy(cwd: string, args: string[]): { code: number | null; stdout: string; stderr: string; ms: number } {
  const env = { ...process.env };
  delete env.IMGSDK_STATE_DIR;
  delete env.IMGSDK_OUTDIR;
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [BIN, 'deploy', ...args], { cwd, env, encoding: 'utf8', timeout: 600_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

test('an app deployed from another working directory reuses the cache beside the app: every image cached', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  await testBuilderImage(docker);
  const p = tempDir('imgsdk-e2e-cwd-');
  const other = tempDir('imgsdk-e2e-cwd-other-');
  try {
    writeFileSync(join(p.dir, 'images.ts'), APP);
    mkdirSync(join(p.dir, 'scripts'));
    const first = deploy(p.dir, ['-q']);
    assert.is(first.code, 0, first.stderr + first.stdout);
    assert.is(first.stdout, '', '-q prints nothing on success');
    assert.ok(existsSync(join(p.dir, '.imgsdk')), 'the state directory is beside the app');
    assert.ok(existsSync(join(p.dir, 'imgsdk.out', 'manifest.json')), 'the assembly is beside the app');

    const again = deploy(join(p.dir, 'scripts'), ['--app', '..', '--json']);
    assert.is(again.code, 0, again.stderr);
    const events = again.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; id: string });
    const finals = events.filter((e) => ['cached', 'done', 'failed', 'skipped'].includes(e.type));
    assert.equal(finals.map((e) => `${e.id} ${e.type}`).sort(), [`${NS}/base cached`, `${NS}/hello cached`]);
    assert.not.ok(
      events.some((e) => e.type === 'building' && (e as { phase?: string }).phase === 'phase1'),
      'no builder container ran',
    );
    assert.equal(readdirSync(join(p.dir, 'scripts')), [], 'nothing written in the working directory');

    // The assembly as --app from a third directory: its state directory is beside it too.
    const fromAssembly = deploy(other.dir, ['--app', join(p.dir, 'imgsdk.out')]);
    assert.is(fromAssembly.code, 0, fromAssembly.stderr);
    assert.match(fromAssembly.stdout, /2 images: 0 built, 2 cached, 0 failed, 0 skipped/);
    // A build script calling the API from the repository root: deployApp opens the app as the CLI does.
    const api = await deployApp({ app: join(p.dir, 'images.ts') });
    assert.ok(api.ok);
    assert.equal(
      api.images.map((i) => `${i.id} ${i.status}`),
      [`${NS}/base cached`, `${NS}/hello cached`],
    );
    console.log(`  # first deploy ${(first.ms / 1000).toFixed(1)} s; from scripts/ ${(again.ms / 1000).toFixed(1)} s (all cached)`);
  } finally {
    await removeImages(docker, [`${NS}/base`, `${NS}/hello`]);
    const builders = await docker.listImages({ filters: { label: [`org.imgsdk.builder=${BUILDER}`] } });
    for (const b of builders)
      await docker
        .getImage(b.Id)
        .remove({ force: true })
        .catch(() => undefined);
    p.remove();
    other.remove();
  }
});

test.run();
