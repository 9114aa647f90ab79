/**
 * What a package and a killed command hand imgsdk, end to end against an apt
 * archive this test makes and serves on loopback: file names holding a TAB or
 * U+FFFD reach the image; `imgsdk lock` killed with SIGKILL leaves a resolver
 * container that `clean --dry-run` lists and the next lock removes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stateIdentity } from '../../src/runtime/deploy/leftovers';
import { removeImages, tempDir } from './_app';
import { BIN, runCli } from '../_kit/cli';
import { engineOrSkip } from '../_kit/engine';
import { serveDir } from '../_kit/mirror';

const NS = `imgsdk-robust-${randomBytes(4).toString('hex')}`;
const ID = `${NS}/names`;
const NAMES = ['usr/share/odd/a\tb', 'usr/share/odd/x\uFFFD', 'usr/share/odd/plain'];

const APP = `import { debian, image } from 'imgsdk';
const bookworm = debian.builder('imgsdk-e2e/bookworm', {
  suite: 'bookworm', network: 'host', sources: [\`deb [trusted=yes] \${process.env.IMGSDK_E2E_REPO} ./\`],
});
export const names = image('${ID}').builder(bookworm).packages('odd-names').user('nobody');
`;

function sh(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** A data-only .deb holding NAMES, in a flat repository. */
function publish(work: string, repo: string): void {
  const pkg = join(work, 'odd-names');
  mkdirSync(join(pkg, 'DEBIAN'), { recursive: true });
  mkdirSync(join(pkg, 'usr/share/odd'), { recursive: true });
  for (const n of NAMES) writeFileSync(join(pkg, n), `${n}\n`);
  writeFileSync(
    join(pkg, 'DEBIAN/control'),
    'Package: odd-names\nVersion: 1.0\nArchitecture: all\nMaintainer: imgsdk tests <tests@imgsdk.invalid>\nDescription: file names with a TAB and U+FFFD\n',
  );
  sh('dpkg-deb', ['--root-owner-group', '-Zgzip', '-b', pkg, join(repo, 'odd-names_1.0_all.deb')]);
  writeFileSync(join(repo, 'Packages'), sh('apt-ftparchive', ['packages', '.'], repo));
  writeFileSync(join(repo, 'Release'), sh('apt-ftparchive', ['-o', 'APT::FTPArchive::Release::Suite=odd', 'release', '.'], repo));
}

test('names with a TAB and U+FFFD reach the image; a lock killed with SIGKILL leaves a container that clean lists and the next lock removes', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const missing = ['dpkg-deb', 'apt-ftparchive'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing.length) {
    if (process.env.IMGSDK_REQUIRE_ENGINE === '1') throw new Error(`${missing.join(', ')} not installed`);
    return void console.log(`  skipped: ${missing.join(', ')} not installed`);
  }
  const work = tempDir('imgsdk-e2e-robust-');
  const repo = join(work.dir, 'repo');
  const appDir = join(work.dir, 'app');
  const stateDir = join(work.dir, 'state');
  mkdirSync(repo, { recursive: true });
  mkdirSync(appDir);
  writeFileSync(join(appDir, 'images.ts'), APP);
  publish(work.dir, repo);
  const mirror = await serveDir(repo);
  const env = { IMGSDK_E2E_REPO: mirror.url, IMGSDK_STATE_DIR: stateDir };
  mkdirSync(stateDir);
  const identity = stateIdentity(stateDir);
  const ours = async () =>
    (await docker.listContainers({ all: true, filters: { label: [`org.imgsdk.state=${identity}`] } })).map((c) =>
      c.Names[0].replace(/^\//, ''),
    );
  try {
    // kill -9 while the resolver container runs.
    const child = spawn(process.execPath, [BIN, 'lock'], { cwd: appDir, env: { ...process.env, ...env }, stdio: 'ignore' });
    let seen: string[] = [];
    for (let i = 0; i < 1200 && !seen.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      seen = await ours();
    }
    assert.ok(seen.length, 'the resolver container carries the state identity');
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    assert.ok((await ours()).length, 'left behind by the killed lock');
    const dry = await runCli(['clean', '--dry-run', '--state', stateDir], { cwd: appDir, env });
    assert.ok(
      seen.every((name) => dry.stdout.includes(name)),
      `clean --dry-run lists ${seen.join(', ')}:\n${dry.stdout}${dry.stderr}`,
    );

    const locked = await runCli(['lock'], { cwd: appDir, env });
    assert.is(locked.code, 0, locked.stderr);
    assert.equal(await ours(), [], 'the next lock removed the dead one and its own');

    const out = join(work.dir, 'out');
    const d = await runCli(['deploy', '--frozen-lock', '--no-load', '--state', stateDir, '-o', out], { cwd: appDir, env });
    assert.is(d.code, 0, d.stdout + d.stderr);
    const key = (JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { images: Record<string, { key: string }> }).images[ID]
      .key;
    const entries = JSON.parse(readFileSync(join(stateDir, 'images', ID, `${key}.entries.json`), 'utf8')) as { path: string }[];
    const paths = new Set(entries.map((e) => e.path));
    for (const n of NAMES) assert.ok(paths.has(n), `${JSON.stringify(n)} is in the image`);
  } finally {
    await mirror.close();
    for (const name of await ours().catch(() => [] as string[]))
      await docker
        .getContainer(name)
        .remove({ force: true })
        .catch(() => undefined);
    await removeImages(docker, [ID]);
    work.remove();
  }
});

test.run();
