/**
 * Build by Number, end to end, against an apt archive this test makes and serves
 * itself: a shared library and a program linked to it, packaged with dpkg-deb at
 * 1.0, published with apt-ftparchive, served over HTTP on loopback (the builder
 * containers use the host network). A parent image installs the library, a child
 * the program, an unrelated image Debian's hello. Lock and deploy; publish 1.1;
 * `outdated` names it; `update` then `deploy` rebuilds exactly parent and child.
 * Everything goes through the CLI, as a team's CI would run it.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { debian, image, lock } from '../../src';
import { bootstrapKey, builderRef } from '../../src/runtime/phase1/builders/debian';
import { removeImages, runImage, tempDir } from './_app';
import { testBuilderImage } from '../_kit/builder';
import { runCli } from '../_kit/cli';
import { engineOrSkip } from '../_kit/engine';
import { serveDir } from '../_kit/mirror';

const NS = `imgsdk-lock-${randomBytes(4).toString('hex')}`;
const IDS = [`${NS}/libgreet`, `${NS}/greet`, `${NS}/unrelated`];
const TOOLS = ['gcc', 'dpkg-deb', 'apt-ftparchive'];

/** The app: the builder shares its bootstrap with the other e2e tests (extra sources do not re-bootstrap). */
const APP = `import { app, debian, image } from 'imgsdk';
const bookworm = debian.builder('imgsdk-e2e/bookworm', {
  suite: 'bookworm', network: 'host', sources: [\`deb [trusted=yes] \${process.env.IMGSDK_E2E_REPO} ./\`],
});
// libc6 by name: a package asked for is kept whole, so the child's program finds ld.so and libc in this layer.
export const libgreet = image('${NS}/libgreet').builder(bookworm).packages('libc6', 'libgreet1').user('nobody');
export const greet = image('${NS}/greet').from(libgreet).packages('greet').entrypoint('/usr/bin/greet');
export const unrelated = image('${NS}/unrelated').builder(bookworm).packages('hello').user('nobody').entrypoint('/usr/bin/hello');
export default app(greet, unrelated);
`;

/** Compiles libgreet.so.1 and greet at `version` and packages them as libgreet1 and greet. */
function buildDebs(work: string, pool: string, version: string, greeting = 'hello'): void {
  const src = join(work, `src-${version}-${greeting}`);
  const lib = join(src, 'libgreet1');
  const bin = join(src, 'greet');
  for (const d of [join(lib, 'DEBIAN'), join(lib, 'usr/lib/x86_64-linux-gnu'), join(bin, 'DEBIAN'), join(bin, 'usr/bin')])
    mkdirSync(d, { recursive: true });
  writeFileSync(join(src, 'libgreet.c'), `const char *greet_version(void) { return "${version}"; }\n`);
  writeFileSync(
    join(src, 'greet.c'),
    `#include <stdio.h>\nconst char *greet_version(void);\nint main(void) { printf("greet ${version}: ${greeting} from libgreet %s\\n", greet_version()); return 0; }\n`,
  );
  const so = join(lib, 'usr/lib/x86_64-linux-gnu/libgreet.so.1');
  sh('gcc', ['-shared', '-fPIC', '-O2', '-Wl,-soname,libgreet.so.1', '-o', so, join(src, 'libgreet.c')]);
  sh('gcc', ['-O2', '-o', join(bin, 'usr/bin/greet'), join(src, 'greet.c'), so]);
  const control = (name: string, depends: string) =>
    `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\nMaintainer: imgsdk tests <tests@imgsdk.invalid>\nDepends: ${depends}\nDescription: imgsdk lock test package\n`;
  writeFileSync(join(lib, 'DEBIAN/control'), control('libgreet1', 'libc6 (>= 2.34)'));
  writeFileSync(join(bin, 'DEBIAN/control'), control('greet', `libgreet1 (= ${version}), libc6 (>= 2.34)`));
  sh('dpkg-deb', ['--root-owner-group', '-Zgzip', '-b', lib, join(pool, `libgreet1_${version}_amd64.deb`)]);
  sh('dpkg-deb', ['--root-owner-group', '-Zgzip', '-b', bin, join(pool, `greet_${version}_amd64.deb`)]);
}

/** A flat repository (`deb URI ./`) of exactly the .debs in `repo`. */
function publish(repo: string): void {
  const packages = sh('apt-ftparchive', ['packages', '.'], repo);
  writeFileSync(join(repo, 'Packages'), packages);
  rmSync(join(repo, 'Release'), { force: true });
  const release = sh(
    'apt-ftparchive',
    ['-o', 'APT::FTPArchive::Release::Origin=imgsdk-test', '-o', 'APT::FTPArchive::Release::Suite=greet', 'release', '.'],
    repo,
  );
  writeFileSync(join(repo, 'Release'), release);
}

function sh(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Per image, what an NDJSON deploy did: `done` (built) or `cached`. */
function outcomes(ndjson: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of ndjson.split('\n').filter(Boolean)) {
    const e = JSON.parse(line) as { type: string; id: string };
    if (e.type === 'done' || e.type === 'cached' || e.type === 'failed') out[e.id] = e.type;
  }
  return out;
}

test('a new version in the archive: outdated names it, update and deploy rebuild exactly the images holding it', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const missing = TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing.length) {
    const why = `${missing.join(', ')} not installed (apt-get install gcc libc6-dev dpkg-dev apt-utils)`;
    if (process.env.IMGSDK_REQUIRE_ENGINE === '1') throw new Error(why);
    return void console.log(`  skipped: ${why}`);
  }
  const work = tempDir('imgsdk-e2e-lock-');
  const repo = join(work.dir, 'repo');
  const appDir = join(work.dir, 'app');
  mkdirSync(repo, { recursive: true });
  mkdirSync(appDir);
  writeFileSync(join(appDir, 'images.ts'), APP);
  buildDebs(work.dir, repo, '1.0');
  publish(repo);
  const mirror = await serveDir(repo);
  const env = { IMGSDK_E2E_REPO: mirror.url };
  const inApp = { cwd: appDir, env, unset: ['IMGSDK_OUTDIR'] };
  const state = ['--state', join(work.dir, 'state'), '-o', join(work.dir, 'out')];
  const lockFile = join(appDir, 'imgsdk.lock');
  const [libgreet, greet, unrelated] = IDS;
  try {
    // Lock: resolved in a builder container, written beside the app; twice, byte for byte the same.
    const locked = await runCli(['lock'], inApp);
    assert.is(locked.code, 0, locked.stderr);
    const first = readFileSync(lockFile, 'utf8');
    const lock = JSON.parse(first) as {
      images: Record<string, { packages: { name: string; version: string; sha256: string; suite: string }[] }>;
    };
    const own = (id: string) => Object.fromEntries(lock.images[id].packages.map((p) => [p.name, p.version]));
    assert.is(own(libgreet).libgreet1, '1.0');
    assert.ok(own(libgreet).libc6, 'the parent holds libgreet1 and its closure (libc6)');
    assert.equal(Object.keys(own(greet)), ['greet'], 'the child holds only what its parent does not');
    assert.ok(own(unrelated).hello);
    const deb = lock.images[greet].packages[0];
    assert.is(deb.sha256, sh('sha256sum', [join(repo, 'greet_1.0_amd64.deb')]).split(' ')[0], "the sha256 is the index's, of the .deb");
    rmSync(lockFile);
    assert.is((await runCli(['lock'], inApp)).code, 0);
    assert.is(readFileSync(lockFile, 'utf8'), first, 'two lock runs on an unchanged archive write the same bytes');

    const upToDate = await runCli(['outdated'], inApp);
    assert.is(upToDate.code, 0, upToDate.stdout + upToDate.stderr);
    assert.match(upToDate.stdout, /the lock is up to date/);

    const d1 = await runCli(['deploy', '--frozen-lock', '--json', ...state], inApp);
    assert.is(d1.code, 0, d1.stderr + d1.stdout.slice(-3000));
    assert.equal(outcomes(d1.stdout), { [libgreet]: 'done', [greet]: 'done', [unrelated]: 'done' });
    const ran1 = await runImage(docker, `${greet}:latest`);
    assert.is(ran1.out.trim(), 'greet 1.0: hello from libgreet 1.0');

    // The archive moves on: 1.1 replaces 1.0.
    for (const f of readdirSync(repo).filter((n) => n.endsWith('.deb'))) rmSync(join(repo, f));
    buildDebs(work.dir, repo, '1.1');
    publish(repo);

    const stale = await runCli(['outdated'], inApp);
    assert.is(stale.code, 3, stale.stdout + stale.stderr);
    assert.match(stale.stdout, new RegExp(`^${libgreet} +libgreet1 +1\\.0 +1\\.1 *$`, 'm'));
    assert.match(stale.stdout, new RegExp(`^${greet} +greet +1\\.0 +1\\.1 *$`, 'm'));
    assert.match(stale.stdout, new RegExp(`^would rebuild: ${greet}, ${libgreet}$`, 'm'));
    const staleJson = await runCli(['outdated', '--json'], inApp);
    assert.is(staleJson.code, 3);
    const report = JSON.parse(staleJson.stdout) as {
      rebuild: string[];
      changes: { image: string; package: string; locked: string; available: string }[];
    };
    assert.equal(report.rebuild, [greet, libgreet]);
    assert.equal(
      report.changes.map((c) => [c.image, c.package, c.locked, c.available]),
      [
        [greet, 'greet', '1.0', '1.1'],
        [libgreet, 'libgreet1', '1.0', '1.1'],
      ],
    );

    // The old lock cannot be installed any more: phase 1 says so and what to do.
    const gone = await runCli(['deploy', '-F', '-e', libgreet, ...state], inApp);
    assert.is(gone.code, 1, gone.stdout + gone.stderr);
    assert.match(gone.stdout + gone.stderr, /imgsdk\.lock pins libgreet1 1\.0, which the archive no longer has/);
    assert.match(gone.stdout + gone.stderr, /run `imgsdk update`.*or pin the builder to a snapshot/);

    const updated = await runCli(['update'], inApp);
    assert.is(updated.code, 0, updated.stderr);
    assert.match(updated.stdout, new RegExp(`^will rebuild: ${greet}, ${libgreet}$`, 'm'));

    const d2 = await runCli(['deploy', '--frozen-lock', '--json', ...state], inApp);
    assert.is(d2.code, 0, d2.stderr + d2.stdout.slice(-3000));
    assert.equal(outcomes(d2.stdout), { [libgreet]: 'done', [greet]: 'done', [unrelated]: 'cached' });
    const ran2 = await runImage(docker, `${greet}:latest`);
    assert.is(ran2.out.trim(), 'greet 1.1: hello from libgreet 1.1');

    // The same version with other bytes (a re-upload): the lock's sha256 no longer matches the index.
    for (const f of readdirSync(repo).filter((n) => n.endsWith('.deb'))) rmSync(join(repo, f));
    buildDebs(work.dir, repo, '1.1', 'hi');
    publish(repo);
    const swapped = await runCli(['deploy', '-F', '-e', greet, ...state], inApp);
    assert.is(swapped.code, 1, swapped.stdout + swapped.stderr);
    assert.match(swapped.stdout + swapped.stderr, /imgsdk\.lock pins greet 1\.1 with sha256 [0-9a-f]{64}, the archive has [0-9a-f]{64}/);

    // CI: a lock without an image the app has fails before anything is built.
    const trimmed = JSON.parse(readFileSync(lockFile, 'utf8')) as { images: Record<string, unknown> };
    delete trimmed.images[unrelated];
    writeFileSync(lockFile, JSON.stringify(trimmed));
    const frozen = await runCli(['deploy', '--frozen-lock', ...state], inApp);
    assert.is(frozen.code, 1);
    assert.match(
      frozen.stderr,
      new RegExp(
        `does not have what the app installs \\(--frozen-lock\\):\\n  ${unrelated}: ${unrelated} is not in the lock\\nrun \`imgsdk lock\``,
      ),
    );
  } finally {
    await mirror.close();
    await removeImages(docker, IDS);
    work.remove();
  }
});

/**
 * snapshot.debian.org's layout on loopback: /archive/<archive>/<timestamp>/… answered
 * from deb.debian.org/<archive>/… (the only archive these machines reach); every
 * path asked for is recorded.
 */
async function snapshotProxy(): Promise<{ server: Server; url: string; paths: string[] }> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    const m = /^\/archive\/(debian|debian-security)\/\d{8}T\d{6}Z(\/.*)$/.exec(req.url ?? '');
    if (!m) return void res.writeHead(404).end();
    get(`http://deb.debian.org/${m[1]}${m[2]}`, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    }).on('error', () => res.writeHead(502).end());
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths };
}

test('a snapshot builder reads the archive and the security archive at <snapshotBase>/archive/…/<timestamp> and records it in the lock', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const { server, url, paths } = await snapshotProxy();
  const work = tempDir('imgsdk-e2e-snapshot-');
  // From the shared test builder (a flattened copy, no bootstrap); removed at the end.
  const b = debian.builder('imgsdk-e2e/snapshot', {
    suite: 'bookworm',
    snapshot: '20261130T000000Z',
    snapshotBase: url,
    network: 'host',
    from: await testBuilderImage(docker),
  });
  const hello = image(`${NS}/snapshot-hello`).builder(b).packages('hello').user('nobody');
  try {
    const r = await lock(hello, { lockFile: join(work.dir, 'imgsdk.lock') });
    const written = JSON.parse(readFileSync(r.file, 'utf8')) as {
      builders: Record<string, { snapshot: string; sources: string[]; releases: Record<string, string> }>;
      images: Record<string, { packages: { name: string }[] }>;
    };
    const entry = written.builders['imgsdk-e2e/snapshot'];
    assert.is(entry.snapshot, '20261130T000000Z');
    assert.equal(entry.sources, [
      `deb ${url}/archive/debian/20261130T000000Z bookworm main`,
      `deb ${url}/archive/debian/20261130T000000Z bookworm-updates main`,
      `deb ${url}/archive/debian-security/20261130T000000Z bookworm-security main`,
    ]);
    assert.equal(Object.keys(entry.releases), ['bookworm', 'bookworm-security', 'bookworm-updates']);
    assert.ok(written.images[`${NS}/snapshot-hello`].packages.some((p) => p.name === 'hello'));
    assert.ok(
      paths.some((p) => p.startsWith('/archive/debian/20261130T000000Z/dists/bookworm/')),
      paths.join('\n'),
    );
    assert.ok(
      paths.some((p) => p.startsWith('/archive/debian-security/20261130T000000Z/dists/bookworm-security/')),
      paths.join('\n'),
    );
  } finally {
    await new Promise((ok) => server.close(ok));
    await docker
      .getImage(builderRef(b.def, bootstrapKey(b.def)))
      .remove({ force: true })
      .catch(() => undefined);
    work.remove();
  }
});

test.run();
