/**
 * Gentoo builders without Gentoo: the setup script and volume layout as text, and
 * ensureGentooBuilder against the engine with the Debian test builder standing in
 * for a stage3 (`from:`), a tiny image standing in for gentoo/portage, and a
 * snapshot tarball served from 127.0.0.1.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gentoo } from '../../../../src';
import { builderSetupScript, ensureGentooBuilder, parentPackageLine } from '../../../../src/runtime/phase1/builders/gentoo';
import { tarOf } from '../../../../src/util/tar';
import { builderMounts, ensurePortageSnapshot, snapshotSource } from '../../../../src/runtime/phase1/builders/portage-snapshot';
import { engineFromDocker } from '../../../../src/runtime/engine/docker';
import type { Engine } from '../../../../src/runtime/engine/engine';
import { serveFiles } from '../../../_kit/mirror';
import { shellCommand } from '../../../../src/cli/shell';
import { UsageError } from '../../../../src/contract/errors';
import { runInteractive } from '../../../../src/runtime/engine/interactive';
import { TEST_BUILDER, testBuilderImage } from '../../../_kit/builder';
import { LABEL_BUILDER_FROM } from '../../../../src/contract/labels';
import { engineOrSkip } from '../../../_kit/engine';

const work = mkdtempSync(join(tmpdir(), 'imgsdk-gentoo-test-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

test("the builder setup appends make.conf with the sandboxes off, binpkgs on and the builder's knobs, then selects the profile", () => {
  const b = gentoo.builder('kubler/bob', {
    stage3: 'amd64-hardened-nomultilib',
    profile: 'default/linux/amd64/23.0/no-multilib/hardened',
    makeConf: { MAKEOPTS: '-j4', GENTOO_MIRRORS: 'https://mirror.example/gentoo', CFLAGS: '-O2 -pipe' },
  });
  const s = builderSetupScript(b.def);
  assert.match(
    s,
    /^FEATURES="\$\{FEATURES\} -sandbox -usersandbox -ipc-sandbox -network-sandbox -pid-sandbox binpkg-multi-instance buildpkg nodoc noinfo noman"$/m,
  );
  // Binary packages through FEATURES only: --buildpkg would override a package's FEATURES="-buildpkg".
  assert.match(s, /^EMERGE_DEFAULT_OPTS="\$\{EMERGE_DEFAULT_OPTS\} --usepkg --binpkg-respect-use=y"$/m);
  assert.not.match(s, /--buildpkg|\s-b\b/);
  assert.match(
    s,
    /^PKGDIR="\/var\/cache\/binpkgs"\nDISTDIR="\/var\/cache\/distfiles"\nCFLAGS="-O2 -pipe"\nGENTOO_MIRRORS="https:\/\/mirror.example\/gentoo"\nMAKEOPTS="-j4"\nIMGSDK_EOF$/m,
  );
  assert.match(s, /^eselect profile set 'default\/linux\/amd64\/23.0\/no-multilib\/hardened'$/m);
  execFileSync('sh', ['-n'], { input: s });
});

test('phase 1 mounts the snapshot read-only at /var/db/repos/gentoo, distfiles and per-builder binpkgs', () => {
  assert.equal(builderMounts('imgsdk-portage-20240101', 'kubler/bob'), [
    { volume: 'imgsdk-portage-20240101', target: '/var/db/repos/gentoo', readOnly: true },
    { volume: 'imgsdk-distfiles', target: '/var/cache/distfiles' },
    { volume: 'imgsdk-binpkgs-kubler-bob', target: '/var/cache/binpkgs' },
  ]);
});

test("children get their ancestors' Portage packages as cat/pkg-version lines for package.provided", () => {
  assert.is(parentPackageLine({ name: 'sys-libs/glibc', version: '2.38-r10', origin: 'gentoo' }), 'sys-libs/glibc-2.38-r10');
  assert.is(parentPackageLine({ name: 'libc6', version: '2.36-9', origin: 'debian' }), 'libc6');
});

test('the portage option names a mirror snapshot (latest once a day, or a date) or an image', () => {
  assert.equal(snapshotSource('latest', 'https://m.example/', new Date('2024-05-01T12:00:00Z')), {
    kind: 'tarball',
    date: '20240501',
    url: 'https://m.example/snapshots/portage-latest.tar.xz',
  });
  assert.equal(snapshotSource('20240101', 'https://m.example'), {
    kind: 'tarball',
    date: '20240101',
    url: 'https://m.example/snapshots/portage-20240101.tar.xz',
  });
  assert.equal(snapshotSource('gentoo/portage:latest', 'x'), { kind: 'image', image: 'gentoo/portage:latest' });
  assert.throws(() => snapshotSource('yesterday', 'x'), /neither latest/);
});

test('imgsdk shell without a terminal is a usage error that says why, before any work', async () => {
  if (process.stdin.isTTY && process.stdout.isTTY) return;
  await shellCommand(['acme/app', '--app', '/nonexistent/images.ts']).then(
    () => assert.unreachable(),
    (e: Error) => {
      assert.instance(e, UsageError);
      assert.match(e.message, /needs a terminal/);
    },
  );
  await runInteractive({ host: 'x' } as Engine, { image: 'x', cmd: ['sh'] }).then(
    () => assert.unreachable(),
    (e: Error) => assert.match(e.message, /needs a terminal/),
  );
});

async function cat(engine: Engine, image: string, mounts: Parameters<Engine['runContainer']>[0]['mounts'], path: string): Promise<string> {
  let out = '';
  await engine.runContainer({ image, cmd: ['cat', path], mounts, onOutput: (c) => void (out += c.toString()) });
  return out;
}

async function removeVolumes(docker: Docker, names: string[]): Promise<void> {
  for (const n of names)
    await docker
      .getVolume(n)
      .remove()
      .catch(() => undefined);
}

test('engine: a builder is set up once from its base and a portage image, and reused', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const engine = engineFromDocker(docker);
  await testBuilderImage(docker);
  const portageImage = 'imgsdk-test/portage:tiny';
  const tree = await tarOf([
    { name: 'var/db/repos/gentoo/profiles/repo_name', data: Buffer.from('gentoo\n') },
    { name: 'var/db/repos/gentoo/metadata/layout.conf', data: Buffer.from('masters =\n') },
  ]);
  await engine.importImage(Readable.from([tree]), portageImage, { changes: ['CMD ["/bin/true"]'] });
  const b = gentoo.builder('test/bob', {
    stage3: 'amd64-openrc',
    from: TEST_BUILDER,
    portage: portageImage,
    makeConf: { MAKEOPTS: '-j2' },
  });
  const key = 'ab'.repeat(32);
  const lines: string[] = [];
  let volumes: string[] = [];
  let ref = '';
  try {
    const r = await ensureGentooBuilder(engine, b.def, key, { log: (l) => lines.push(l), cacheDir: join(work, 'cache') });
    ref = r.ref;
    volumes = r.mounts.map((m) => m.volume);
    assert.is(r.ref, `imgsdk-builder/test-bob:${key.slice(0, 12)}`);
    assert.equal(
      r.mounts.map((m) => [m.target, !!m.readOnly]),
      [
        ['/var/db/repos/gentoo', true],
        ['/var/cache/distfiles', false],
        ['/var/cache/binpkgs', false],
      ],
    );
    const info = await engine.inspectImage(r.ref);
    assert.is(info?.labels['org.imgsdk.key'], key);
    assert.match(
      await cat(engine, r.ref, [], '/etc/portage/make.conf'),
      /# imgsdk builder test\/bob\nFEATURES="\$\{FEATURES\} -sandbox[^\n]*\n[\s\S]*MAKEOPTS="-j2"/,
    );
    assert.is(await cat(engine, r.ref, r.mounts, '/var/db/repos/gentoo/profiles/repo_name'), 'gentoo\n');
    assert.ok(lines.some((l) => /filling volume imgsdk-portage-/.test(l)));

    lines.length = 0;
    const again = await ensureGentooBuilder(engine, b.def, key, { log: (l) => lines.push(l), cacheDir: join(work, 'cache') });
    assert.equal(again, r);
    assert.ok(
      lines.some((l) => /is up to date/.test(l)),
      lines.join('\n'),
    );
    assert.not.ok(
      lines.some((l) => /filling/.test(l)),
      'the filled volume is reused',
    );
  } finally {
    if (ref) await engine.removeImage(ref, { force: true });
    await engine.removeImage(portageImage, { force: true });
    await removeVolumes(docker, volumes);
  }
});

test('engine: a snapshot tarball from the mirror is checked against its .md5sum before it fills a volume', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const engine = engineFromDocker(docker);
  await testBuilderImage(docker);
  const src = join(work, 'snap');
  execFileSync('mkdir', ['-p', join(src, 'portage', 'profiles')]);
  writeFileSync(join(src, 'portage', 'profiles', 'repo_name'), 'gentoo\n');
  // gzip, not xz: the Debian stand-in has no xz, and GNU tar picks the format by its magic.
  const tgz = execFileSync('tar', ['-C', src, '-czf', '-', 'portage']);
  const md5 = createHash('md5').update(tgz).digest('hex');
  const files: Record<string, string | Buffer> = {
    '/good/snapshots/portage-20240101.tar.xz': tgz,
    '/good/snapshots/portage-20240101.tar.xz.md5sum': `${md5}  portage-20240101.tar.xz\n`,
    '/bad/snapshots/portage-20240102.tar.xz': tgz,
    '/bad/snapshots/portage-20240102.tar.xz.md5sum': `${'0'.repeat(32)}  portage-20240102.tar.xz\n`,
  };
  const server = await serveFiles(files);
  const base = server.url.replace(/\/$/, '');
  const opts = { runner: TEST_BUILDER, gpgKey: null, cacheDir: join(work, 'snapcache') };
  try {
    const vol = await ensurePortageSnapshot(engine, 'test/bob', '20240101', { ...opts, mirror: `${base}/good` });
    assert.is(vol, 'imgsdk-portage-20240101');
    assert.is(
      await cat(
        engine,
        TEST_BUILDER,
        [{ volume: vol, target: '/var/db/repos/gentoo', readOnly: true }],
        '/var/db/repos/gentoo/profiles/repo_name',
      ),
      'gentoo\n',
    );
    await ensurePortageSnapshot(engine, 'test/bob', '20240102', { ...opts, mirror: `${base}/bad` }).then(
      () => assert.unreachable('a wrong md5sum must fail'),
      (e: Error) => assert.match(e.message, /portage snapshot 20240102: .*MD5 [0-9a-f]{32} does not match its \.md5sum/),
    );
  } finally {
    await server.close();
    await removeVolumes(docker, ['imgsdk-portage-20240101', 'imgsdk-portage-20240102']);
  }
});

test('engine: a builder made from a stage3 image follows it: the image rebuilt under the same tag sets the builder up again, recording its id', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const engine = engineFromDocker(docker);
  await testBuilderImage(docker);
  const nonce = randomBytes(4).toString('hex');
  const [repo, tag] = [`imgsdk-test/stage3-${nonce}`, 'amd64-openrc'];
  const stage3 = `${repo}:${tag}`;
  const portageImage = `imgsdk-test/portage-${nonce}:tiny`;
  // "Rebuilt": the test builder committed with another /etc/stage3-build, a new image id under the same tag.
  const rebuild = async (n: number): Promise<string> => {
    const c = await docker.createContainer({ Image: TEST_BUILDER, Cmd: ['/bin/true'], Labels: { 'org.imgsdk.test': nonce } });
    try {
      await c.putArchive(await tarOf([{ name: 'stage3-build', data: Buffer.from(`${n}\n`) }]), { path: '/etc' });
      await c.commit({ repo, tag });
    } finally {
      await c.remove({ force: true });
    }
    return (await engine.inspectImage(stage3))!.id;
  };
  await engine.importImage(
    Readable.from([await tarOf([{ name: 'var/db/repos/gentoo/profiles/repo_name', data: Buffer.from('gentoo\n') }])]),
    portageImage,
    { changes: ['CMD ["/bin/true"]'] },
  );
  const b = gentoo.builder(`test/follow-${nonce}`, { stage3: 'amd64-openrc', from: stage3, portage: portageImage });
  const key = 'cd'.repeat(32);
  const ids: string[] = [];
  let r: { ref: string; mounts: { volume: string }[] } | null = null;
  try {
    ids.push(await rebuild(1));
    r = await ensureGentooBuilder(engine, b.def, key, { cacheDir: join(work, 'cache') });
    const first = (await engine.inspectImage(r.ref))!;
    assert.is(first.labels[LABEL_BUILDER_FROM], ids[0]);

    const lines: string[] = [];
    await ensureGentooBuilder(engine, b.def, key, { log: (l) => lines.push(l), cacheDir: join(work, 'cache') });
    assert.ok(
      lines.some((l) => l.endsWith('is up to date')),
      lines.join('\n'),
    );

    ids.push(await rebuild(2));
    lines.length = 0;
    const again = await ensureGentooBuilder(engine, b.def, key, { log: (l) => lines.push(l), cacheDir: join(work, 'cache') });
    assert.is(again.ref, r.ref);
    const second = (await engine.inspectImage(r.ref))!;
    assert.is(second.labels[LABEL_BUILDER_FROM], ids[1]);
    assert.is.not(second.id, first.id);
    assert.is(await cat(engine, r.ref, [], '/etc/stage3-build'), '2\n', 'set up from the new image');
    assert.ok(
      lines.some((l) =>
        l.includes(
          `${stage3} is now image ${ids[1].slice(7, 19)} (the builder was set up from ${ids[0].slice(7, 19)}): setting it up again`,
        ),
      ),
      lines.join('\n'),
    );
  } finally {
    if (r) await engine.removeImage(r.ref, { force: true }).catch(() => false);
    for (const id of [stage3, ...ids, portageImage]) await engine.removeImage(id, { force: true }).catch(() => false);
    await removeVolumes(
      docker,
      (r?.mounts ?? []).map((m) => m.volume).filter((v) => v !== 'imgsdk-distfiles'),
    );
  }
});

test.run();
