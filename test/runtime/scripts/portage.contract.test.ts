/**
 * Contract tests of portage.sh: the real script runs in the Debian test builder
 * with stand-in emerge, portageq, emaint, eselect, qlist, wget, localedef and
 * gcc-config (test/runtime/scripts/fixtures/stubs) that record their arguments
 * and create files. What is asserted is the contract with Portage -- the exact
 * invocations, ROOT, /etc/portage, package.provided -- and with the host: the
 * tar, packages.json and files.tsv. Whether Portage then builds is for the
 * gentoo e2e test (IMGSDK_GENTOO_STAGE3).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gentoo, image, type Image } from '../../../src';
import { engineFromDocker } from '../../../src/runtime/engine/docker';
import { dirTar, runPhase1, SCRIPTS_DIR } from '../../../src/runtime/phase1';
import { StateDir } from '../../../src/runtime/state';
import { assemble } from '../../../src/sdk/synth';
import { App } from '../../../src/sdk/app';
import { writeAssembly } from '../../../src/sdk/synth';
import { testBuilderImage } from '../../e2e/_builder';
import { engineOrSkip } from '../../e2e/_engine';

const STUBS = join(__dirname, 'fixtures', 'stubs');
const URL_JDK = 'https://example.org/jdk-21.tar.gz';
const SHA_JDK = createHash('sha256').update(`payload of ${URL_JDK}`).digest('hex');

const bob = gentoo.builder('test/bob', { stage3: 'amd64-openrc' });
const base_ = image('test/base').builder(bob).packages('sys-libs/glibc');
const app = image('test/app')
  .from(base_)
  .packages('app-shells/bash', 'net-misc/curl')
  .use('app-shells/bash', '-nls', '+readline')
  .keywords('net-misc/curl', '~amd64')
  .mask('dev-libs/openssl')
  .unmask('dev-libs/libressl')
  .unmaskUse('dev-lang/python', 'jit')
  .makeConf({ MAKEOPTS: '-j2' })
  .packageEnv('app-shells/bash', { CFLAGS: '-Os' })
  .overlay('berne', { uri: 'https://example.org/berne.git' })
  .provide('sys-libs/zlib', '=sys-libs/ncurses-6.4')
  .unprovide('sys-libs/readline')
  .patch('app-shells/bash', 'fixtures/bash-no-nls.patch')
  .uninstall('net-misc/curl')
  .noBinpkgCache('dev-libs/openssl')
  .runtimeLibs('gcc')
  .download(URL_JDK, SHA_JDK, 'jdk.tar.gz')
  .record('manual', 'oracle-jdk-21')
  .locale('en_US.UTF-8')
  .account({ user: 'app', uid: 1000 })
  .configureBuilder('echo "builder ROOT=[${ROOT:-}] jdk=$(cat $IMGSDK_DOWNLOADS/jdk.tar.gz)" >>/imgsdk/stub/hooks')
  .configureRootfs('echo "rootfs ROOT=[$ROOT] provided=$(wc -l </etc/portage/profile/package.provided)" >>/imgsdk/stub/hooks')
  .finishRootfs('echo "finish ROOT=[$ROOT] bash=$(test -x $ROOT/usr/bin/bash && echo yes)" >>/imgsdk/stub/hooks; id app >>/imgsdk/stub/hooks')
  .entrypoint('/usr/bin/bash')
  .user('app');

const PARENT_PACKAGES = 'sys-libs/glibc-2.38-r10\nsys-libs/readline-8.2\nsys-apps/baselayout\n';

interface Run {
  readonly code: number;
  readonly tail: string;
  readonly calls: string[];
  readonly hooks: string[];
  readonly out: Map<string, TarFile>;
  readonly etc: Map<string, TarFile>;
  readonly rootfs: Map<string, TarFile>;
}
interface TarFile {
  readonly type: string;
  readonly data: Buffer;
  readonly uid: number;
  readonly linkname: string | null;
}

async function readTar(stream: Readable | Buffer): Promise<Map<string, TarFile>> {
  const files = new Map<string, TarFile>();
  const ex = extract();
  const done = new Promise<void>((res, rej) => {
    ex.on('entry', (h, s, next) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: unknown) => void chunks.push(c as Buffer));
      s.on('end', () => {
        files.set(h.name.replace(/^\.\//, '').replace(/\/$/, ''), { type: h.type ?? 'file', data: Buffer.concat(chunks), uid: h.uid ?? 0, linkname: h.linkname ?? null });
        next();
      });
    });
    ex.on('finish', res);
    ex.on('error', rej);
  });
  if (Buffer.isBuffer(stream)) ex.end(stream);
  else stream.pipe(ex);
  await done;
  return files;
}

/** Synthesizes `img`, puts its dir and the stand-ins into a builder container, runs build.sh. */
async function runScript(img: Image, opts: { stubs?: string[]; env?: Record<string, string>; parents?: string; entry?: string } = {}): Promise<Run | null> {
  const docker = await engineOrSkip();
  if (!docker) return null;
  const engine = engineFromDocker(docker);
  const builder = await testBuilderImage(docker);
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-contract-'));
  try {
    await writeAssembly(assemble(App.of([img])), dir);
    const inTar = await dirTar(join(dir, img.id), { 'parent-packages.list': opts.parents ?? PARENT_PACKAGES });
    const stubs = await dirTar(STUBS, {});
    const keep = new Set(opts.stubs ?? ['emerge', 'portageq', 'emaint', 'eselect', 'qlist', 'wget', 'localedef', 'gcc-config']);
    const fakeGcc = await dirTar(mkGcc(dir), {});
    return await engine.withContainer(
      {
        image: builder,
        cmd: ['/bin/sh', '-c', `cd /imgsdk/stub/all && for s in *; do case " ${[...keep].join(' ')} " in *" $s "*) cp "$s" /imgsdk/stub/bin/;; esac; done; exec ${opts.entry ?? '/bin/sh /imgsdk/in/build.sh'}`],
        env: { PATH: '/imgsdk/stub/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...opts.env },
        network: 'none',
      },
      async (c) => {
        await c.putArchive('/imgsdk/in', inTar);
        await c.putArchive('/imgsdk/scripts', await dirTar(SCRIPTS_DIR, {}));
        await c.putArchive('/imgsdk/stub/all', stubs);
        await c.putArchive('/imgsdk/stub/bin', await dirTar(join(dir, 'empty'), {}));
        await c.putArchive('/opt/gcc-fake/lib', fakeGcc);
        await c.putArchive('/var/cache/binpkgs/dev-libs/openssl', await dirTar(join(dir, 'empty'), { 'openssl-3.0.0-1.gpkg.tar': 'x' }));
        await c.putArchive('/var/cache/binpkgs/dev-libs/libressl', await dirTar(join(dir, 'empty'), { 'libressl-3.9-1.gpkg.tar': 'x' }));
        const code = await c.run();
        const text = async (p: string) => {
          try {
            const m = await readTar(await c.getArchive(p));
            return [...m.values()][0]?.data.toString() ?? '';
          } catch {
            return '';
          }
        };
        const calls = (await text('/imgsdk/stub/calls')).split('\n').filter(Boolean);
        const hooks = (await text('/imgsdk/stub/hooks')).split('\n').filter(Boolean);
        const out = code === 0 ? await readTar(await c.getArchive('/imgsdk/out')) : new Map();
        const etc = await readTar(await c.getArchive('/etc/portage'));
        const binpkgs = await readTar(await c.getArchive('/var/cache/binpkgs'));
        for (const [k, v] of binpkgs) etc.set(`@binpkgs/${k}`, v);
        const rootfs = out.has('out/rootfs.tar') ? await readTar(out.get('out/rootfs.tar')!.data) : new Map();
        return { code, tail: c.tail(), calls, hooks, out, etc, rootfs };
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function mkGcc(dir: string): string {
  const { mkdirSync, writeFileSync, symlinkSync } = require('node:fs') as typeof import('node:fs');
  const d = join(dir, 'gcc');
  mkdirSync(d, { recursive: true });
  mkdirSync(join(dir, 'empty'), { recursive: true });
  for (const f of ['libstdc++.so.6.0.32', 'libgcc_s.so.1', 'libgomp.so.1.0.0', 'libstdc++.so.6.0.32-gdb.py', 'libgfortran.so.5']) writeFileSync(join(d, f), f);
  symlinkSync('libstdc++.so.6.0.32', join(d, 'libstdc++.so.6'));
  return d;
}

let run: Run | null | undefined;
const main = async () => (run === undefined ? (run = await runScript(app)) : run);
const file = (m: Map<string, TarFile>, p: string) => m.get(p)?.data.toString();

test('contract: the script exits 0 and runs emerge three times with exact arguments', async () => {
  const r = await main();
  if (!r) return;
  assert.is(r.code, 0, r.tail);
  assert.equal(r.calls.filter((c) => c.startsWith('emerge ')), [
    'emerge ROOT= --oneshot --onlydeps --with-bdeps=y --usepkg --buildpkg --binpkg-respect-use=y app-shells/bash net-misc/curl',
    'emerge ROOT=/imgsdk/root --root=/imgsdk/root --root-deps=rdeps --oneshot --usepkg --buildpkg --binpkg-respect-use=y app-shells/bash net-misc/curl',
    'emerge ROOT=/imgsdk/root --root=/imgsdk/root --unmerge net-misc/curl',
  ]);
  assert.not.ok(r.calls.some((c) => c.startsWith('qlist')), 'portage.sh reads /var/db/pkg itself');
});

test('contract: ROOT is unset for configureBuilder and /imgsdk/root for configureRootfs and finishRootfs', async () => {
  const r = await main();
  if (!r) return;
  assert.is(r.hooks[0], `builder ROOT=[] jdk=payload of ${URL_JDK}`);
  assert.is(r.hooks[1], 'rootfs ROOT=[/imgsdk/root] provided=4');
  assert.is(r.hooks[2], 'finish ROOT=[/imgsdk/root] bash=yes');
  assert.match(r.hooks[3], /^uid=1000\(app\) gid=1000\(app\)/);
});

test('contract: package.provided holds the ancestors\' packages minus unprovide plus provide, pinned with portageq', async () => {
  const r = await main();
  if (!r) return;
  assert.equal(file(r.etc, 'portage/profile/package.provided')!.split('\n').filter(Boolean), [
    'sys-apps/baselayout-9.9',
    'sys-libs/glibc-2.38-r10',
    'sys-libs/ncurses-6.4',
    'sys-libs/zlib-9.9',
  ]);
  assert.ok(r.calls.includes('portageq best_visible / sys-apps/baselayout'));
  assert.ok(r.calls.includes('portageq best_visible / sys-libs/zlib'));
});

test('contract: /etc/portage gets the image\'s files where portage(5) reads them, make.conf with the sandboxes off', async () => {
  const r = await main();
  if (!r) return;
  const mk = file(r.etc, 'portage/make.conf')!;
  assert.match(mk, /^FEATURES="\$\{FEATURES\} -sandbox -usersandbox -ipc-sandbox -network-sandbox -pid-sandbox"$/m);
  assert.match(mk, /^MAKEOPTS="-j2"$/m);
  assert.is(file(r.etc, 'portage/package.use/imgsdk'), '# generated by imgsdk\napp-shells/bash -nls readline\n');
  assert.is(file(r.etc, 'portage/package.accept_keywords/imgsdk'), '# generated by imgsdk\nnet-misc/curl ~amd64\n');
  assert.is(file(r.etc, 'portage/package.mask/imgsdk'), '# generated by imgsdk\ndev-libs/openssl\n');
  assert.is(file(r.etc, 'portage/package.unmask/imgsdk'), '# generated by imgsdk\ndev-libs/libressl\n');
  assert.is(file(r.etc, 'portage/profile/package.use.mask'), '# generated by imgsdk\ndev-lang/python -jit\n');
  assert.match(file(r.etc, 'portage/package.env')!, /^app-shells\/bash imgsdk-app-shells_bash$/m);
  assert.is(file(r.etc, 'portage/env/imgsdk-app-shells_bash'), '# generated by imgsdk\nCFLAGS="-Os"\n');
  assert.match(file(r.etc, 'portage/patches/app-shells/bash/bash-no-nls.patch')!, /AM_GNU_GETTEXT/);
});

test('contract: overlays are added with eselect repository when it is there, then synced with emaint', async () => {
  const r = await main();
  if (!r) return;
  assert.ok(r.calls.includes('eselect repository add berne git https://example.org/berne.git'));
  assert.ok(r.calls.includes('emaint sync --repo berne'));
  assert.is(file(r.etc, 'portage/repos.conf/berne.conf'), undefined);
});

test('contract: noBinpkgCache deletes that package\'s binary packages only and fixes the index', async () => {
  const r = await main();
  if (!r) return;
  assert.not.ok([...r.etc.keys()].some((k) => k.startsWith('@binpkgs/binpkgs/dev-libs/openssl/')));
  assert.ok(r.etc.has('@binpkgs/binpkgs/dev-libs/libressl/libressl-3.9-1.gpkg.tar'));
  assert.ok(r.calls.includes('emaint --fix binhost'));
});

test('contract: the tar holds ROOT with what emerge put there, minus the uninstalled package', async () => {
  const r = await main();
  if (!r) return;
  const names = [...r.rootfs.keys()];
  assert.ok(names.includes('usr/bin/bash'));
  assert.is(r.rootfs.get('usr/bin/bash-link')?.linkname, 'bash');
  assert.not.ok(names.includes('usr/bin/curl'), 'curl was uninstalled');
  assert.not.ok(names.some((n) => n.startsWith('var/db/pkg/net-misc/')));
  // Headers and static libraries are still there: the host purge drops them unless kept.
  assert.ok(names.includes('usr/include/bash.h') && names.includes('usr/lib64/libbash.a'));
  // runtimeLibs('gcc') without the gdb script and the gfortran libraries
  for (const f of ['usr/lib64/libstdc++.so.6', 'usr/lib64/libstdc++.so.6.0.32', 'usr/lib64/libgcc_s.so.1', 'usr/lib64/libgomp.so.1.0.0']) assert.ok(names.includes(f), f);
  assert.not.ok(names.includes('usr/lib64/libstdc++.so.6.0.32-gdb.py') || names.includes('usr/lib64/libgfortran.so.5'));
  assert.is(file(r.rootfs, 'usr/lib/locale/en_US.utf8/LC_CTYPE'), 'compiled\n');
  assert.ok(r.calls.includes('localedef -i en_US -f UTF-8 /imgsdk/root/usr/lib/locale/en_US.utf8'));
  assert.ok(r.rootfs.get('usr/bin/bash')!.uid === 0);
});

test('contract: packages.json lists name, version, USE from IUSE, slot, repository and origin, plus recorded rows', async () => {
  const r = await main();
  if (!r) return;
  assert.equal(JSON.parse(file(r.out, 'out/packages.json')!), [
    { name: 'app-shells/bash', version: '1.0-r1', use: ['ipv6', '-nls', '-static-libs'], slot: '0/1', repository: 'gentoo', origin: 'gentoo' },
    { name: 'oracle-jdk', version: '21', source: 'manual', origin: 'recorded' },
  ]);
});

test('contract: files.tsv maps every obj and sym of CONTENTS, spaces included, to its package', async () => {
  const r = await main();
  if (!r) return;
  assert.is(file(r.out, 'out/files.tsv'), [
    '/usr/bin/bash\tapp-shells/bash',
    '/usr/bin/bash-link\tapp-shells/bash',
    '/usr/include/bash.h\tapp-shells/bash',
    '/usr/lib64/libbash.a\tapp-shells/bash',
    '/usr/share/bash/with space.txt\tapp-shells/bash',
    '',
  ].join('\n'));
});

test('contract: without eselect-repository the overlay\'s repos.conf entry is installed, then synced', async () => {
  const r = await runScript(image('test/overlay').builder(bob).packages('app-misc/hello').overlay('berne', { uri: 'https://example.org/berne.git', branch: 'main' }), {
    stubs: ['emerge', 'portageq', 'emaint'],
  });
  if (!r) return;
  assert.is(r.code, 0, r.tail);
  assert.is(
    file(r.etc, 'portage/repos.conf/berne.conf'),
    '# generated by imgsdk\n[berne]\nlocation = /var/db/repos/berne\nsync-type = git\nsync-uri = https://example.org/berne.git\nsync-git-clone-extra-opts = --branch=main\nauto-sync = yes\n',
  );
  assert.equal(r.calls.filter((c) => c.startsWith('emaint')), ['emaint sync --repo berne']);
  assert.is(file(r.etc, 'portage/profile/package.provided'), 'sys-apps/baselayout-9.9\nsys-libs/glibc-2.38-r10\nsys-libs/readline-8.2\n');
});

test('contract: a download whose sha256 differs fails the build before any emerge', async () => {
  const r = await runScript(image('test/bad-download').builder(bob).packages('app-misc/hello').download(URL_JDK, '0'.repeat(64)));
  if (!r) return;
  assert.is.not(r.code, 0);
  assert.match(r.tail, /download https:\/\/example\.org\/jdk-21\.tar\.gz: sha256 [0-9a-f]{64}, expected 0{64}/);
  assert.not.ok(r.calls.some((c) => c.startsWith('emerge')));
});

test('contract: a failing emerge fails the script and nothing is emitted', async () => {
  const r = await runScript(image('test/fails').builder(bob).packages('app-misc/hello'), { env: { STUB_EMERGE_FAIL: '1' } });
  if (!r) return;
  assert.is.not(r.code, 0);
  assert.match(r.tail, /imgsdk: error: emerging the build dependencies failed/);
  assert.is(r.out.size, 0);
});

test('contract: --configure-only (imgsdk shell) configures the builder and stops before the first emerge', async () => {
  const r = await runScript(app, { entry: '/bin/sh /imgsdk/scripts/portage.sh --configure-only /imgsdk/in' });
  if (!r) return;
  assert.is(r.code, 0, r.tail);
  assert.not.ok(r.calls.some((c) => c.startsWith('emerge ')));
  assert.equal(r.hooks, [`builder ROOT=[] jdk=payload of ${URL_JDK}`]);
  assert.is(file(r.etc, 'portage/package.use/imgsdk'), '# generated by imgsdk\napp-shells/bash -nls readline\n');
  assert.match(file(r.etc, 'portage/profile/package.provided')!, /^sys-libs\/zlib-9\.9$/m);
  assert.match(r.tail, /ROOT=\/imgsdk\/root emerge --root=\/imgsdk\/root --root-deps=rdeps/);
  assert.not.ok(r.out.has('out/rootfs.tar') || r.out.has('out/packages.json'));
});

test('contract: phase 1 runs build.sh in a builder and collects what portage.sh emits', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const engine = engineFromDocker(docker);
  const base = await testBuilderImage(docker);
  const ref = 'imgsdk-test/portage-stubs:latest';
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-contract-phase1-'));
  try {
    // The stand-ins on the default PATH, as emerge is in a stage3.
    await engine.withContainer({ image: base, cmd: ['/bin/true'] }, async (c) => {
      await c.putArchive('/usr/local/bin', await dirTar(STUBS, {}));
      await engine.importImage(await c.exportFilesystem(), ref, { changes: ['ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] });
    });
    const img = image('test/phase1').from(base_).packages('app-shells/bash').user('nobody');
    const asm = assemble(App.of([img]));
    await writeAssembly(asm, join(dir, 'out'));
    const def = asm.images.get('test/phase1')!;
    const m = asm.manifest.images['test/phase1'];
    const rec = await runPhase1({
      engine, state: new StateDir(join(dir, 'state')), def, key: m.key, builder: asm.manifest.builders['test/bob'].def, builderRef: ref,
      imageDir: join(dir, 'out', m.dir), parentPackages: ['sys-libs/glibc-2.38-r10'],
    });
    assert.equal(rec.packages, [{ name: 'app-shells/bash', version: '1.0-r1', use: ['ipv6', '-nls', '-static-libs'], slot: '0/1', repository: 'gentoo', origin: 'gentoo' }]);
    assert.is(rec.origins['usr/bin/bash'], 'app-shells/bash');
    assert.is(rec.origins['usr/share/bash/with space.txt'], 'app-shells/bash');
    assert.ok(rec.size > 0);
  } finally {
    await engine.removeImage(ref, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
