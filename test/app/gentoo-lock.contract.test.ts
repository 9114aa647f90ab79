/**
 * Contract tests of `imgsdk lock` / `outdated` / `update` for Gentoo images,
 * without Gentoo: lock() runs for real (builder set-up, one container per image,
 * portage.sh --lock) in a builder made from the Debian test builder with the
 * stand-in Portage commands on PATH (test/runtime/phase1/scripts/fixtures/stubs). The
 * Portage snapshot is an image holding the tree's identity plus the report the
 * stand-in emerge prints for each package (real `emerge --pretend --verbose`
 * output); a new snapshot is a new image under the same tag, as a new
 * gentoo/portage is. Every container's recorded command lines and its
 * package.provided are collected. Stage3 dates come from a mirror served on
 * 127.0.0.1.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gentoo, image } from '../../src';
import { engineFromDocker } from '../../src/runtime/engine/docker';
import type { ContainerHandle, Engine } from '../../src/runtime/engine/engine';
import { outdatedCommand } from '../../src/cli/outdated';
import { stage3Lines } from '../../src/cli/lock';
import { lock, outdated } from '../../src/app/lockfile';
import { dirTar, tarOf } from '../../src/util/tar';
import { update } from '../../src/app/update-lock';
import { App } from '../../src/sdk/app';
import { parseLock, type GentooBuilderLock } from '../../src/sdk/lock';
import { assemble } from '../../src/sdk/synth';
import { testBuilderImage } from '../_kit/builder';
import { engineOrSkip } from '../_kit/engine';
import { type Mirror, serveFiles } from '../_kit/mirror';

const STUBS = join(__dirname, '..', 'runtime', 'phase1', 'scripts', 'fixtures', 'stubs');
// Per run: two runs sharing an engine must not remove each other's fixtures.
const STUB_IMAGE = `imgsdk-test/gentoo-lock-stubs:gentoo-${process.pid}`;
const PORTAGE_IMAGE = `imgsdk-test/gentoo-lock-portage:gentoo-${process.pid}`;
const RUN = randomBytes(8).toString('hex');

const bob = gentoo.builder('gentoo-lock/bob', { stage3: 'amd64-openrc', from: STUB_IMAGE, portage: PORTAGE_IMAGE });
const glibc = image('gentoo-lock/glibc').builder(bob).packages('sys-libs/glibc').user('nobody');
const jq = image('gentoo-lock/jq').from(glibc).packages('app-misc/jq').use('app-misc/jq', 'oniguruma');
const jqConf = image('gentoo-lock/jq-conf').from(jq).file('/etc/jq.conf', 'x\n');
const curl = image('gentoo-lock/curl').builder(bob).packages('net-misc/curl').user('nobody');
const APP = App.of([jqConf, curl]);

/** What the stand-in emerge prints per package: real emerge --pretend --verbose lines. */
function tree(jqVersion: string): Record<string, string> {
  return {
    'sys-libs_glibc.txt':
      '[ebuild  N     ] sys-libs/timezone-data-2025b:0::gentoo  USE="nls -leaps-timezone -zic-slim" 442 KiB\n[ebuild  N     ] sys-libs/glibc-2.40-r8:2.2::gentoo  USE="multiarch ssp (split-usr) -audit -caps -gd -nscd" 18,802 KiB\n',
    'app-misc_jq.txt': `[ebuild  N     ] dev-libs/oniguruma-6.9.9:0/5::gentoo  USE="-crnl-as-line-terminator -static-libs" ABI_X86="(64) -32 (-x32)" 598 KiB\n[ebuild  N     ] app-misc/jq-${jqVersion}:0::gentoo  USE="oniguruma -test" 1,236 KiB\n`,
    'net-misc_curl.txt':
      '[binary  N     ] sys-libs/zlib-1.3.1-r1:0/1::gentoo  USE="-minizip -static-libs -verify-sig" 0 KiB\n[ebuild  N     ] net-misc/curl-8.9.1-r2:0::gentoo  USE="ipv6 ssl -test" CURL_SSL="openssl -gnutls" 2,682 KiB\n',
  };
}

async function portageImage(engine: Engine, jqVersion: string): Promise<string> {
  // The run's own bytes: the snapshot volume is named by the image id, and a run sharing it with another (same tree, same id) lost it to that run's cleanup.
  const files: Record<string, string> = {
    'var/db/repos/gentoo/profiles/repo_name': 'gentoo\n',
    'var/db/repos/gentoo/metadata/layout.conf': 'masters =\n',
    'var/db/repos/gentoo/imgsdk-stub/run': `${RUN}\n`,
  };
  for (const [n, t] of Object.entries(tree(jqVersion))) files[`var/db/repos/gentoo/imgsdk-stub/pretend/${n}`] = t;
  await engine.importImage(Readable.from([await dirTar(null, files)]), PORTAGE_IMAGE, { changes: ['CMD ["/bin/true"]'] });
  return (await engine.inspectImage(PORTAGE_IMAGE))!.id.replace(/^sha256:/, '').slice(0, 12);
}

/** Per container run by lock(): what the stand-ins recorded and the package.provided portage.sh wrote. */
interface Seen {
  readonly calls: string[];
  readonly provided: string;
}

/** The engine, reading /imgsdk/stub/calls and package.provided out of every container before it goes. */
function recording(engine: Engine, seen: Seen[]): Engine {
  const text = async (c: ContainerHandle, path: string) => {
    let out = '';
    const ex = extract();
    ex.on('entry', (_h, s, next) => {
      s.on('data', (d: unknown) => void (out += (d as Buffer).toString()));
      s.on('end', next);
    });
    try {
      await pipeline(await c.getArchive(path), ex);
    } catch {
      return '';
    }
    return out;
  };
  return new Proxy(engine, {
    get(target, prop, receiver) {
      if (prop !== 'withContainer') return Reflect.get(target, prop, receiver);
      return <T>(opts: Parameters<Engine['withContainer']>[0], fn: (c: ContainerHandle) => Promise<T>) =>
        target.withContainer(opts, async (c) => {
          const r = await fn(c);
          if (opts.cmd?.includes('/imgsdk/scripts/portage-lock.sh'))
            seen.push({
              calls: (await text(c, '/imgsdk/stub/calls')).split('\n').filter(Boolean),
              provided: await text(c, '/etc/portage/profile/package.provided'),
            });
          return r;
        });
    },
  });
}

let dir = '';
let server: Mirror;
let mirrorUrl = '';
test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'imgsdk-gentoo-lock-'));
  server = await serveFiles({
    '/releases/amd64/autobuilds/latest-stage3-amd64-openrc.txt':
      '# Latest as of Mon, 01 Jun 2026 17:00:00 +0000\n# ts=1780333200\n20260601T170000Z/stage3-amd64-openrc-20260601T170000Z.tar.xz 276000000\n',
  });
  mirrorUrl = server.url.replace(/\/$/, '');
});
test.after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

test("contract: lock resolves each Gentoo image with emerge --pretend in its builder, on top of its ancestors' locked versions; outdated and update follow a new Portage snapshot; keys change exactly below the new version", async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const real = engineFromDocker(docker);
  const seen: Seen[] = [];
  const engine = recording(real, seen);
  const volumesBefore = new Set((await docker.listVolumes()).Volumes?.map((v) => v.Name) ?? []);
  const builderKey = assemble(APP).manifest.builders['gentoo-lock/bob'].key;
  const lockFile = join(dir, 'imgsdk.lock');
  try {
    const base = await testBuilderImage(docker);
    await real.withContainer({ image: base, cmd: ['/bin/true'] }, async (c) => {
      await c.putArchive('/usr/local/bin', await dirTar(STUBS, {}));
      await c.putArchive('/imgsdk/stub', await tarOf([{ name: 'calls', data: Buffer.alloc(0) }]));
      await real.importImage(await c.exportFilesystem(), STUB_IMAGE, {
        changes: ['ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      });
    });
    const snap1 = await portageImage(real, '1.7.1');

    const first = await lock(APP, { lockFile, engine });
    assert.equal([...first.resolved].sort(), ['gentoo-lock/curl', 'gentoo-lock/glibc', 'gentoo-lock/jq', 'gentoo-lock/jq-conf']);
    const text = readFileSync(lockFile, 'utf8');
    const l = parseLock(text);
    assert.equal(l.builders['gentoo-lock/bob'], {
      kind: 'gentoo',
      arch: 'amd64',
      stage3: 'amd64-openrc',
      date: 'latest',
      sha512: null,
      portage: PORTAGE_IMAGE,
      snapshot: snap1,
    } satisfies GentooBuilderLock);
    assert.equal(l.images['gentoo-lock/jq'], {
      builder: 'gentoo-lock/bob',
      parent: 'gentoo-lock/glibc',
      request: ['app-misc/jq'],
      packages: [
        { name: 'app-misc/jq', version: '1.7.1', arch: 'amd64', sha256: '', suite: 'gentoo', use: ['oniguruma', '-test'], slot: '0' },
        {
          name: 'dev-libs/oniguruma',
          version: '6.9.9',
          arch: 'amd64',
          sha256: '',
          suite: 'gentoo',
          use: ['-abi_x86_32', 'abi_x86_64', '-abi_x86_x32', '-crnl-as-line-terminator', '-static-libs'],
          slot: '0/5',
        },
      ],
    });
    assert.equal(
      l.images['gentoo-lock/glibc'].packages.map((p) => `${p.name}-${p.version}`),
      ['sys-libs/glibc-2.40-r8', 'sys-libs/timezone-data-2025b'],
    );
    assert.equal(
      l.images['gentoo-lock/curl'].packages.map((p) => [p.name, p.use]),
      [
        ['net-misc/curl', ['-curl_ssl_gnutls', 'curl_ssl_openssl', 'ipv6', 'ssl', '-test']],
        ['sys-libs/zlib', ['-minizip', '-static-libs', '-verify-sig']],
      ],
    );
    assert.not.ok('gentoo-lock/jq-conf' in l.images, 'an image without packages has no entry');
    // One emerge --pretend per image, exactly this command line; the child gets its parent's locked versions as package.provided.
    const pretend = seen.map((s) => s.calls.filter((c) => c.startsWith('emerge ')));
    assert.equal(pretend.flat().sort(), [
      'emerge ROOT=/imgsdk/root --pretend --verbose --color=n --nospinner --root=/imgsdk/root --root-deps=rdeps --oneshot --usepkg --binpkg-respect-use=y app-misc/jq',
      'emerge ROOT=/imgsdk/root --pretend --verbose --color=n --nospinner --root=/imgsdk/root --root-deps=rdeps --oneshot --usepkg --binpkg-respect-use=y net-misc/curl',
      'emerge ROOT=/imgsdk/root --pretend --verbose --color=n --nospinner --root=/imgsdk/root --root-deps=rdeps --oneshot --usepkg --binpkg-respect-use=y sys-libs/glibc',
    ]);
    const jqRun = seen.find((s) => s.calls.some((c) => c.endsWith(' app-misc/jq')))!;
    assert.match(jqRun.provided, /# BEGIN imgsdk\nsys-libs\/glibc-2\.40-r8\nsys-libs\/timezone-data-2025b\n# END imgsdk/);

    // Deterministic: the same tree gives the same bytes, and the assembly installs exactly these versions.
    const again = await lock(APP, { lockFile, engine });
    assert.is(again.written, false);
    assert.is(readFileSync(lockFile, 'utf8'), text);
    // One image again: its locked parent is kept and goes into package.provided from the lock.
    seen.length = 0;
    const one = await lock(APP, { lockFile, engine, select: ['gentoo-lock/jq'] });
    assert.equal([...one.resolved].sort(), ['gentoo-lock/jq', 'gentoo-lock/jq-conf']);
    assert.equal(seen.length, 1);
    assert.match(seen[0].provided, /# BEGIN imgsdk\nsys-libs\/glibc-2\.40-r8\nsys-libs\/timezone-data-2025b\n# END imgsdk/);
    assert.is(readFileSync(lockFile, 'utf8'), text);
    const before = assemble(APP, { lock: lockFile });
    assert.is(
      before.files.get('gentoo-lock/jq/portage/imgsdk/lock.list'),
      '# imgsdk.lock: gentoo-lock/jq\n=app-misc/jq-1.7.1::gentoo\n=dev-libs/oniguruma-6.9.9::gentoo\n',
    );

    const current = await outdated(APP, { lockFile, engine });
    assert.equal([current.outdated, current.changes, current.rebuild], [false, [], []]);
    // A builder made from an image has no stage3 date: the report names the image it follows, set up (not "latest (not set up yet)").
    const stubId = (await real.inspectImage(STUB_IMAGE))!.id.slice(7, 19);
    assert.equal(stage3Lines(current.stage3), [
      `gentoo-lock/bob: stage3 amd64-openrc from ${STUB_IMAGE}: set up from image ${stubId}; the builder follows ${STUB_IMAGE}: build or pull a newer image under that tag, and the next deploy sets the builder up again from it`,
    ]);

    // A new Portage snapshot with jq 1.8.0.
    const snap2 = await portageImage(real, '1.8.0');
    const old = await outdated(APP, { lockFile, engine });
    assert.is(old.outdated, true);
    assert.equal(old.changes, [
      { image: 'gentoo-lock/jq', package: 'app-misc/jq', arch: 'amd64', locked: '1.7.1', available: '1.8.0', security: false },
    ]);
    assert.equal(old.rebuild, ['gentoo-lock/jq', 'gentoo-lock/jq-conf']);
    assert.is(readFileSync(lockFile, 'utf8'), text, 'outdated writes nothing');

    const up = await update(APP, { lockFile, engine });
    assert.equal(up.rebuild, ['gentoo-lock/jq', 'gentoo-lock/jq-conf']);
    const l2 = parseLock(readFileSync(lockFile, 'utf8'));
    assert.is((l2.builders['gentoo-lock/bob'] as GentooBuilderLock).snapshot, snap2);
    assert.equal(
      l2.images['gentoo-lock/jq'].packages.map((p) => p.version),
      ['1.8.0', '6.9.9'],
    );
    const after = assemble(APP, { lock: lockFile });
    const changedKeys = Object.keys(after.manifest.images)
      .filter((id) => after.manifest.images[id].key !== before.manifest.images[id].key)
      .sort();
    assert.equal(changedKeys, ['gentoo-lock/jq', 'gentoo-lock/jq-conf']);
    assert.is(
      after.files.get('gentoo-lock/jq/portage/imgsdk/lock.list'),
      '# imgsdk.lock: gentoo-lock/jq\n=app-misc/jq-1.8.0::gentoo\n=dev-libs/oniguruma-6.9.9::gentoo\n',
    );
    assert.equal((await outdated(APP, { lockFile, engine })).outdated, false);
  } finally {
    await real.removeImage(`imgsdk-builder/gentoo-lock-bob:${builderKey.slice(0, 12)}`, { force: true }).catch(() => false);
    await real.removeImage(STUB_IMAGE, { force: true }).catch(() => false);
    await real.removeImage(PORTAGE_IMAGE, { force: true }).catch(() => false);
    for (const v of (await docker.listVolumes()).Volumes ?? []) {
      if (!volumesBefore.has(v.Name) && /^imgsdk-(portage-|binpkgs-gentoo-lock-bob$|distfiles$)/.test(v.Name))
        await docker
          .getVolume(v.Name)
          .remove()
          .catch(() => undefined);
    }
  }
});

test('contract: outdated reports a newer stage3 on the mirror with the images that would rebuild (exit 3), and a current one as up to date', async () => {
  const pinned = (date: string) => gentoo.builder('gentoo-lock/dated', { stage3: 'amd64-openrc', date, mirror: mirrorUrl });
  // Images without packages: nothing to resolve, only the stage3 to look up.
  const app = (date: string) => {
    const b = image('gentoo-lock/base').builder(pinned(date)).file('/etc/motd', 'hi\n').user('nobody');
    return App.of([
      image('gentoo-lock/child').from(b).file('/etc/issue', 'x\n'),
      image('gentoo-lock/debian-free').builder(pinned(date)).file('/etc/a', 'a\n').user('nobody'),
    ]);
  };
  const lockFile = join(dir, 'stage3.lock');
  writeFileSync(lockFile, '{"lockfileVersion": 1, "builders": {}, "images": {}}\n');
  const old = await outdated(app('20260101T170000Z'), { lockFile });
  assert.equal(old.stage3, [
    {
      builder: 'gentoo-lock/dated',
      flavour: 'amd64-openrc',
      pinned: true,
      current: '20260101T170000Z',
      latest: '20260601T170000Z',
      newer: true,
      rebuild: ['gentoo-lock/base', 'gentoo-lock/child', 'gentoo-lock/debian-free'],
    },
  ]);
  assert.is(old.outdated, true);
  assert.equal(old.rebuild, ['gentoo-lock/base', 'gentoo-lock/child', 'gentoo-lock/debian-free']);
  const fresh = await outdated(app('20260601T170000Z'), { lockFile });
  assert.equal([fresh.outdated, fresh.stage3[0].newer, fresh.rebuild], [false, false, []]);
  // Selecting an image reports the stage3 of its builder and only the selected images below it.
  const one = await outdated(app('20260101T170000Z'), { lockFile, select: ['gentoo-lock/child'] });
  assert.equal(one.rebuild, ['gentoo-lock/child']);
});

test('contract: imgsdk outdated prints the newer stage3 with what would rebuild and exits 3; --json carries it under stage3', async () => {
  const appDir = mkdtempSync(join(dir, 'app-'));
  writeFileSync(
    join(appDir, 'images.ts'),
    [
      `import { gentoo, image } from ${JSON.stringify(join(__dirname, '..', '..', 'src'))};`,
      `const bob = gentoo.builder('gentoo-lock/cli', { stage3: 'amd64-openrc', date: '20260101T170000Z', mirror: ${JSON.stringify(mirrorUrl)} });`,
      `export const base = image('gentoo-lock/cli-base').builder(bob).file('/etc/motd', 'hi\\n').user('nobody');`,
      '',
    ].join('\n'),
  );
  const lockFile = join(appDir, 'imgsdk.lock');
  writeFileSync(lockFile, '{"lockfileVersion": 1, "builders": {}, "images": {}}\n');
  const capture = async (argv: string[]): Promise<[number, string]> => {
    let out = '';
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => ((out += String(chunk)), true)) as typeof process.stdout.write;
    try {
      return [await outdatedCommand(argv), out];
    } finally {
      process.stdout.write = write;
    }
  };
  const [code, text] = await capture(['--app', appDir]);
  assert.is(code, 3);
  assert.match(
    text,
    /^gentoo-lock\/cli: stage3 amd64-openrc 20260101T170000Z -> 20260601T170000Z \(would rebuild: gentoo-lock\/cli-base\)\n {2}set date: '20260601T170000Z' in gentoo\.builder\('gentoo-lock\/cli', …\) and deploy\nwould rebuild: gentoo-lock\/cli-base\n$/,
  );
  const [jcode, json] = await capture(['--app', appDir, '--json']);
  assert.is(jcode, 3);
  const r = JSON.parse(json) as { outdated: boolean; stage3: { latest: string; newer: boolean }[]; rebuild: string[] };
  assert.equal(
    [r.outdated, r.stage3.map((u) => [u.latest, u.newer]), r.rebuild],
    [true, [['20260601T170000Z', true]], ['gentoo-lock/cli-base']],
  );
});

test.run();
