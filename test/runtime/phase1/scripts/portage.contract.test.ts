/**
 * Contract tests of portage.sh: the real script runs in the Debian test builder,
 * set up first with the Gentoo builder's own set-up script (make.conf with
 * FEATURES and EMERGE_DEFAULT_OPTS), with stand-in emerge, portageq, emaint,
 * eselect, qlist, wget, localedef and gcc-config (test/runtime/phase1/scripts/fixtures/stubs)
 * that record their arguments and create files. The stand-in emerge also decides
 * binary packages as Portage does (command line over per-package FEATURES) and
 * records, per package, the env files applied and the FEATURES that result. What
 * is asserted is the contract with Portage -- the exact invocations, ROOT,
 * /etc/portage, package.provided, per-package FEATURES -- and with the host: the
 * tar, packages.json and files.tsv. Whether Portage then builds is for the
 * gentoo e2e test (IMGSDK_GENTOO_STAGE3).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { extract, pack } from 'tar-stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gentoo, image, type Image } from '../../../../src';
import { builderSetupScript } from '../../../../src/runtime/phase1/builders/gentoo';
import { engineFromDocker } from '../../../../src/runtime/engine/docker';
import { runPhase1, scriptsTar } from '../../../../src/runtime/phase1/run';
import { dirTar, tarOf } from '../../../../src/util/tar';
import { StateDir } from '../../../../src/runtime/store/state';
import { App } from '../../../../src/sdk/app';
import type { Lock } from '../../../../src/sdk/lock';
import { assemble, writeAssembly } from '../../../../src/sdk/synth';
import { testBuilderImage } from '../../../_kit/builder';
import { engineOrSkip } from '../../../_kit/engine';

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
  // Staves' [env.nocache]: no binary package of bash, whatever make.conf says.
  .packageEnv('app-shells/bash', { CFLAGS: '-Os', FEATURES: '-buildpkg' })
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
  .configureBuilder('echo "builder ROOT=[${ROOT:-}] jdk=$(cat $IMGSDK_DOWNLOADS/jdk.tar.gz) app=$(id -u app)" >>/imgsdk/stub/hooks')
  .configureRootfs('echo "rootfs ROOT=[$ROOT] provided=$(grep -vc "^#" /etc/portage/profile/package.provided)" >>/imgsdk/stub/hooks')
  .finishRootfs(
    'echo "finish ROOT=[$ROOT] bash=$(test -x $ROOT/usr/bin/bash && echo yes)" >>/imgsdk/stub/hooks; id app >>/imgsdk/stub/hooks',
  )
  .entrypoint('/usr/bin/bash')
  .user('app');

const PARENT_PACKAGES = 'sys-libs/glibc-2.38-r10\nsys-libs/readline-8.2\nsys-apps/baselayout\n';

interface Run {
  readonly code: number;
  readonly tail: string;
  /** Everything the container printed, stdout and stderr. */
  readonly log: string;
  readonly calls: string[];
  readonly hooks: string[];
  /** The stand-in emerge's line per installed package: `<root> <cat/pkg> env=… FEATURES=… from=… binpkg=…`. */
  readonly merged: string[];
  /** Its line per installed package of the stand-in tree: `<root> <cat/pkg-version> USE=… from=…`. */
  readonly installed: string[];
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
        files.set(h.name.replace(/^\.\//, '').replace(/\/$/, ''), {
          type: h.type ?? 'file',
          data: Buffer.concat(chunks),
          uid: h.uid ?? 0,
          linkname: h.linkname ?? null,
        });
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

/** A file of a fake compiler directory: content, or a symlink (`link`). */
type GccEntry = { readonly name: string; readonly body?: Buffer | string; readonly link?: string };

/** An ELF shared object as far as a magic-number check goes. */
const elf = (soname: string) => Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.from(soname)]);

/**
 * A gcc library directory as a Gentoo gcc installs it: the real shared objects with
 * their soname links, and for the link editor a linker script (libgcc_s.so) and
 * links into places that need not exist (libgomp.so, libstdc++.so).
 */
const GOOD_GCC: GccEntry[] = [
  { name: 'libgcc_s.so', body: '/* GNU ld script */\nGROUP ( libgcc_s.so.1 -lgcc )\n' },
  { name: 'libgcc_s.so.1', body: elf('libgcc_s.so.1') },
  { name: 'libgomp.so', link: '../../../../lib64/libgomp.so.1' },
  { name: 'libgomp.so.1', link: 'libgomp.so.1.0.0' },
  { name: 'libgomp.so.1.0.0', body: elf('libgomp.so.1') },
  { name: 'libstdc++.so', link: 'libstdc++.so.6' },
  { name: 'libstdc++.so.6', link: 'libstdc++.so.6.0.32' },
  { name: 'libstdc++.so.6.0.32', body: elf('libstdc++.so.6') },
  { name: 'libstdc++.so.6.0.32-gdb.py', body: 'import gdb\n' },
  { name: 'libgfortran.so.5', body: elf('libgfortran.so.5') },
];

/** What the issue found where gcc-config's directory was missing: a linker script and dangling links, no library. */
const BROKEN_GCC: GccEntry[] = [
  { name: 'libgcc_s.so', body: '/* GNU ld script */\nGROUP ( libgcc_s.so.1 -lgcc )\n' },
  { name: 'libgcc_s.so.1', body: '/* not a shared object */\n' },
  { name: 'libgomp.so', link: 'libgomp.so.1' },
  { name: 'libstdc++.so', link: '../../../x86_64-linux-gnu/libstdc++.so.6' },
  { name: 'libstdc++.so.6', link: '../../../x86_64-linux-gnu/libstdc++.so.6.0.30' },
];

/** The entries under /opt/gcc-fake/lib, put at / (the engine refuses links that leave the directory a tar is put in). */
async function gccTar(entries: readonly GccEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (d: unknown) => void chunks.push(d as Buffer));
  const done = new Promise<void>((res, rej) => {
    p.on('end', res);
    p.on('error', rej);
  });
  for (const e of entries) {
    const h = { name: `opt/gcc-fake/lib/${e.name}`, mode: e.link ? 0o777 : 0o755, uid: 0, gid: 0, mtime: new Date(0) };
    if (e.link) p.entry({ ...h, type: 'symlink', linkname: e.link });
    else p.entry({ ...h, type: 'file' }, Buffer.from(e.body ?? ''));
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

interface RunOptions {
  /** Stand-ins on PATH. @default all */
  readonly stubs?: string[];
  readonly env?: Record<string, string>;
  /** parent-packages.list. */
  readonly parents?: string;
  /** What runs after the builder set-up. @default `exec /bin/sh /imgsdk/in/build.sh` */
  readonly entry?: string;
  /** What `gcc-config -L` names. @default GOOD_GCC */
  readonly gcc?: readonly GccEntry[];
  /** imgsdk.lock the image is assembled with. @default none */
  readonly lock?: Lock;
  /** Stand-in ebuilds (`<cat>/<pn>/<pn>-<ver>.ebuild`: KEYWORDS, IUSE, DEPEND) in /var/db/repos/gentoo. @default none */
  readonly tree?: Record<string, string>;
  /** Binary packages in PKGDIR, by path under it (the stand-in's: `USE=<flags>`). @default none */
  readonly binpkgs?: Record<string, string>;
}

/**
 * Synthesizes `img`, sets the test builder up as a Gentoo builder is, puts the
 * image's dir and the stand-ins into it and runs build.sh.
 */
async function runScript(img: Image, opts: RunOptions = {}): Promise<Run | null> {
  const docker = await engineOrSkip();
  if (!docker) return null;
  const engine = engineFromDocker(docker);
  const builder = await testBuilderImage(docker);
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-contract-'));
  try {
    const asm = assemble(App.of([img]), { lock: opts.lock ?? null });
    await writeAssembly(asm, dir);
    const inTar = await dirTar(join(dir, img.id), { 'parent-packages.list': opts.parents ?? PARENT_PACKAGES });
    const stubs = await dirTar(STUBS, {});
    const keep = new Set(opts.stubs ?? ['emerge', 'portageq', 'emaint', 'eselect', 'qlist', 'wget', 'localedef', 'gcc-config']);
    const setup = await tarOf([
      { name: 'setup.sh', data: Buffer.from(builderSetupScript(asm.builders.get(asm.images.get(img.id)!.builder)!)), mode: 0o755 },
    ]);
    mkdirSync(join(dir, 'empty'), { recursive: true });
    const script = [
      // The stand-ins' shared parts (_tree.sh) always: they are not commands.
      `cd /imgsdk/stub/all && for s in *; do case " ${[...keep].join(' ')} " in *" $s "*) cp "$s" /imgsdk/stub/bin/;; esac; case $s in _*) cp "$s" /imgsdk/stub/bin/;; esac; done`,
      '/bin/sh /imgsdk/setup/setup.sh >/dev/null',
      opts.entry ?? 'exec /bin/sh /imgsdk/in/build.sh',
    ].join('\n');
    return await engine.withContainer(
      {
        image: builder,
        cmd: ['/bin/sh', '-ec', script],
        env: { PATH: '/imgsdk/stub/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...opts.env },
        network: 'none',
      },
      async (c) => {
        await c.putArchive('/imgsdk/in', inTar);
        await c.putArchive('/imgsdk/scripts', await scriptsTar());
        await c.putArchive('/imgsdk/setup', setup);
        await c.putArchive('/imgsdk/stub/all', stubs);
        await c.putArchive('/imgsdk/stub/bin', await dirTar(join(dir, 'empty'), {}));
        await c.putArchive('/', await gccTar(opts.gcc ?? GOOD_GCC));
        await c.putArchive('/var/cache/binpkgs/dev-libs/openssl', await dirTar(join(dir, 'empty'), { 'openssl-3.0.0-1.gpkg.tar': 'x' }));
        await c.putArchive('/var/cache/binpkgs/dev-libs/libressl', await dirTar(join(dir, 'empty'), { 'libressl-3.9-1.gpkg.tar': 'x' }));
        if (opts.tree) await c.putArchive('/var/db/repos/gentoo', await dirTar(null, opts.tree));
        if (opts.binpkgs) await c.putArchive('/var/cache/binpkgs', await dirTar(null, opts.binpkgs));
        let log = '';
        const code = await c.run({ onOutput: (chunk) => void (log += chunk.toString('utf8')) });
        const text = async (p: string) => {
          try {
            const m = await readTar(await c.getArchive(p));
            return [...m.values()][0]?.data.toString() ?? '';
          } catch {
            return '';
          }
        };
        const lines = async (p: string) => (await text(p)).split('\n').filter(Boolean);
        const out = code === 0 ? await readTar(await c.getArchive('/imgsdk/out')) : new Map();
        const etc = await readTar(await c.getArchive('/etc/portage'));
        const binpkgs = await readTar(await c.getArchive('/var/cache/binpkgs'));
        for (const [k, v] of binpkgs) etc.set(`@binpkgs/${k}`, v);
        const rootfs = out.has('out/rootfs.tar') ? await readTar(out.get('out/rootfs.tar')!.data) : new Map();
        return {
          code,
          tail: c.tail(),
          log,
          calls: await lines('/imgsdk/stub/calls'),
          hooks: await lines('/imgsdk/stub/hooks'),
          merged: await lines('/imgsdk/stub/merged'),
          installed: await lines('/imgsdk/stub/installed'),
          out,
          etc,
          rootfs,
        };
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let run: Run | null | undefined;
const main = async () => (run === undefined ? (run = await runScript(app)) : run);
const file = (m: Map<string, TarFile>, p: string) => m.get(p)?.data.toString();
/** The lines of a Portage file that are not comments. */
const entries = (text: string | undefined) => (text ?? '').split('\n').filter((l) => l && !l.startsWith('#'));

test('contract: the script exits 0 and runs emerge three times with exact arguments', async () => {
  const r = await main();
  if (!r) return;
  assert.is(r.code, 0, r.tail);
  assert.equal(
    r.calls.filter((c) => c.startsWith('emerge ')),
    [
      'emerge ROOT= --oneshot --onlydeps --with-bdeps=y --usepkg --binpkg-respect-use=y app-shells/bash net-misc/curl',
      'emerge ROOT=/imgsdk/root --root=/imgsdk/root --root-deps=rdeps --oneshot --usepkg --binpkg-respect-use=y app-shells/bash net-misc/curl',
      'emerge ROOT=/imgsdk/root --root=/imgsdk/root --unmerge net-misc/curl',
    ],
  );
  assert.not.ok(
    r.calls.some((c) => c.startsWith('qlist')),
    'portage.sh reads /var/db/pkg itself',
  );
});

test('contract: ROOT is unset for configureBuilder and /imgsdk/root for configureRootfs and finishRootfs; declared accounts exist in the builder before the first hook', async () => {
  const r = await main();
  if (!r) return;
  assert.is(r.hooks[0], `builder ROOT=[] jdk=payload of ${URL_JDK} app=1000`);
  assert.is(r.hooks[1], 'rootfs ROOT=[/imgsdk/root] provided=4');
  assert.is(r.hooks[2], 'finish ROOT=[/imgsdk/root] bash=yes');
  assert.match(r.hooks[3], /^uid=1000\(app\) gid=1000\(app\)/);
});

test("contract: package.provided holds the ancestors' packages minus unprovide plus provide, pinned with portageq", async () => {
  const r = await main();
  if (!r) return;
  assert.equal(entries(file(r.etc, 'portage/profile/package.provided')), [
    'sys-apps/baselayout-9.9',
    'sys-libs/glibc-2.38-r10',
    'sys-libs/ncurses-6.4',
    'sys-libs/zlib-9.9',
  ]);
  assert.ok(r.calls.includes('portageq best_visible / sys-apps/baselayout'));
  assert.ok(r.calls.includes('portageq best_visible / sys-libs/zlib'));
});

test("contract: /etc/portage gets the image's files where portage(5) reads them, make.conf with the sandboxes off", async () => {
  const r = await main();
  if (!r) return;
  const mk = file(r.etc, 'portage/make.conf')!;
  assert.match(mk, /^FEATURES="\$\{FEATURES\} -sandbox -usersandbox -ipc-sandbox -network-sandbox -pid-sandbox"$/m);
  assert.match(mk, /^MAKEOPTS="-j2"$/m);
  assert.is(file(r.etc, 'portage/package.use/imgsdk'), '# generated by imgsdk\napp-shells/bash -nls readline\n');
  assert.is(file(r.etc, 'portage/package.accept_keywords/imgsdk'), '# generated by imgsdk\nnet-misc/curl ~amd64\n');
  assert.is(file(r.etc, 'portage/package.mask/imgsdk'), '# generated by imgsdk\ndev-libs/openssl\n');
  assert.is(file(r.etc, 'portage/package.unmask/imgsdk'), '# generated by imgsdk\ndev-libs/libressl\n');
  assert.equal(entries(file(r.etc, 'portage/profile/package.use.mask')), ['dev-lang/python -jit']);
  assert.equal(entries(file(r.etc, 'portage/package.env')), ['app-shells/bash imgsdk-app-shells_bash']);
  assert.is(file(r.etc, 'portage/env/imgsdk-app-shells_bash'), '# generated by imgsdk\nCFLAGS="-Os"\nFEATURES="-buildpkg"\n');
  assert.match(file(r.etc, 'portage/patches/app-shells/bash/bash-no-nls.patch')!, /AM_GNU_GETTEXT/);
});

test('contract: overlays are added with eselect repository when it is there, then synced with emaint', async () => {
  const r = await main();
  if (!r) return;
  assert.ok(r.calls.includes('eselect repository add berne git https://example.org/berne.git'));
  assert.ok(r.calls.includes('emaint sync --repo berne'));
  assert.is(file(r.etc, 'portage/repos.conf/berne.conf'), undefined);
});

test("contract: noBinpkgCache deletes that package's binary packages only and fixes the index", async () => {
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
  assert.is(file(r.rootfs, 'usr/lib/locale/en_US.utf8/LC_CTYPE'), 'compiled\n');
  assert.ok(r.calls.includes('localedef -i en_US -f UTF-8 /imgsdk/root/usr/lib/locale/en_US.utf8'));
  assert.ok(r.rootfs.get('usr/bin/bash')!.uid === 0);
});

test('contract: packages.json lists name, version, USE from IUSE, slot, repository and origin, plus recorded rows', async () => {
  const r = await main();
  if (!r) return;
  assert.equal(JSON.parse(file(r.out, 'out/packages.json')!), [
    {
      name: 'app-shells/bash',
      version: '1.0-r1',
      use: ['ipv6', '-nls', '-static-libs'],
      slot: '0/1',
      repository: 'gentoo',
      origin: 'gentoo',
    },
    { name: 'oracle-jdk', version: '21', source: 'manual', origin: 'recorded' },
  ]);
});

test('contract: files.tsv maps every obj and sym of CONTENTS, spaces included, to its package', async () => {
  const r = await main();
  if (!r) return;
  assert.is(
    file(r.out, 'out/files.tsv'),
    [
      '/usr/bin/bash\tapp-shells/bash',
      '/usr/bin/bash-link\tapp-shells/bash',
      '/usr/include/bash.h\tapp-shells/bash',
      '/usr/lib64/libbash.a\tapp-shells/bash',
      '/usr/share/bash/with space.txt\tapp-shells/bash',
      '',
    ].join('\n'),
  );
});

test("contract: without eselect-repository the overlay's repos.conf entry is installed, then synced", async () => {
  const r = await runScript(
    image('test/overlay')
      .builder(bob)
      .packages('app-misc/hello')
      .overlay('berne', { uri: 'https://example.org/berne.git', branch: 'main' }),
    {
      stubs: ['emerge', 'portageq', 'emaint'],
    },
  );
  if (!r) return;
  assert.is(r.code, 0, r.tail);
  assert.is(
    file(r.etc, 'portage/repos.conf/berne.conf'),
    '# generated by imgsdk\n[berne]\nlocation = /var/db/repos/berne\nsync-type = git\nsync-uri = https://example.org/berne.git\nsync-git-clone-extra-opts = --branch=main\nauto-sync = yes\n',
  );
  assert.equal(
    r.calls.filter((c) => c.startsWith('emaint')),
    ['emaint sync --repo berne'],
  );
  assert.equal(entries(file(r.etc, 'portage/profile/package.provided')), [
    'sys-apps/baselayout-9.9',
    'sys-libs/glibc-2.38-r10',
    'sys-libs/readline-8.2',
  ]);
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

test('contract: an image dir without the plain lists synth writes (an assembly of an older imgsdk) fails before any emerge, saying to synthesize again', async () => {
  const r = await runScript(image('test/old').builder(bob).packages('app-misc/hello'), {
    entry: 'rm /imgsdk/in/portage/imgsdk/image\nexec /bin/sh /imgsdk/in/build.sh',
  });
  if (!r) return;
  assert.is.not(r.code, 0);
  assert.match(r.tail, /portage\/imgsdk\/image is missing: the assembly was written by an older imgsdk; synthesize it again/);
  assert.not.ok(
    r.calls.some((c) => c.startsWith('emerge ')),
    r.calls.join('\n'),
  );
});

test('contract: --configure-only (imgsdk shell) configures the builder and stops before the first emerge', async () => {
  const r = await runScript(app, { entry: '/bin/sh /imgsdk/scripts/portage-configure.sh /imgsdk/in' });
  if (!r) return;
  assert.is(r.code, 0, r.tail);
  assert.not.ok(r.calls.some((c) => c.startsWith('emerge ')));
  assert.equal(r.hooks, [`builder ROOT=[] jdk=payload of ${URL_JDK} app=1000`]);
  assert.is(file(r.etc, 'portage/package.use/imgsdk'), '# generated by imgsdk\napp-shells/bash -nls readline\n');
  assert.match(file(r.etc, 'portage/profile/package.provided')!, /^sys-libs\/zlib-9\.9$/m);
  assert.match(r.tail, /ROOT=\/imgsdk\/root emerge --root=\/imgsdk\/root --root-deps=rdeps/);
  assert.not.ok(r.out.has('out/rootfs.tar') || r.out.has('out/packages.json'));
});

test('contract: a package\'s own FEATURES="-buildpkg" survives: no --buildpkg on any emerge command line or in EMERGE_DEFAULT_OPTS', async () => {
  const r = await main();
  if (!r) return;
  assert.is(r.code, 0, r.tail);
  // The builder's make.conf turns binary packages on through FEATURES only.
  const mk = file(r.etc, 'portage/make.conf')!;
  assert.match(mk, /^FEATURES="\$\{FEATURES\} [^"]* buildpkg /m);
  assert.match(mk, /^EMERGE_DEFAULT_OPTS="\$\{EMERGE_DEFAULT_OPTS\} --usepkg --binpkg-respect-use=y"$/m);
  for (const c of r.calls.filter((l) => l.startsWith('emerge '))) assert.not.match(c, /\s(--buildpkg|-b)(\s|=|$)/, c);
  const bash = r.merged.find((l) => l.startsWith('/imgsdk/root app-shells/bash '))!;
  const curl = r.merged.find((l) => l.startsWith('/imgsdk/root net-misc/curl '))!;
  assert.match(bash, / env=imgsdk-app-shells_bash /);
  assert.not.match(bash, /FEATURES=\S*\bbuildpkg\b/, bash);
  assert.match(bash, / binpkg=none$/);
  assert.match(curl, /FEATURES=\S*\bbuildpkg\b/, curl);
  assert.match(curl, / binpkg=written$/);
  // As Portage leaves them: bash's database entry without buildpkg, a binary package of curl only.
  assert.not.match(file(r.rootfs, 'var/db/pkg/app-shells/bash-1.0-r1/FEATURES')!, /\bbuildpkg\b/);
  assert.ok(r.etc.has('@binpkgs/binpkgs/net-misc/curl/curl-1.0-r1-1.gpkg.tar'));
  assert.not.ok([...r.etc.keys()].some((k) => k.startsWith('@binpkgs/binpkgs/app-shells/bash')));
});

test('contract: noBinpkgCache is not undone by --usepkg: the package is built again, the others come from their binary packages', async () => {
  const img = image('test/nocache').builder(bob).packages('dev-libs/openssl', 'dev-libs/libressl').noBinpkgCache('dev-libs/openssl');
  const r = await runScript(img);
  if (!r) return;
  assert.is(r.code, 0, r.tail);
  assert.equal(
    r.merged.map((l) => l.replace(/ env=.* from=/, ' from=')),
    ['/imgsdk/root dev-libs/openssl from=source binpkg=written', '/imgsdk/root dev-libs/libressl from=binpkg binpkg=none'],
  );
});

test('contract: runtimeLibs copies the shared objects by soname, links among them as links, and no linker script or dangling link', async () => {
  const r = await main();
  if (!r) return;
  const lib = (n: string) => r.rootfs.get(`usr/lib64/${n}`);
  assert.is(lib('libgcc_s.so.1')?.type, 'file');
  assert.is(lib('libstdc++.so.6.0.32')?.type, 'file');
  assert.is(lib('libstdc++.so.6')?.linkname, 'libstdc++.so.6.0.32');
  assert.is(lib('libgomp.so.1')?.linkname, 'libgomp.so.1.0.0');
  assert.is(lib('libgomp.so.1.0.0')?.type, 'file');
  for (const n of ['libgcc_s.so', 'libgomp.so', 'libstdc++.so', 'libstdc++.so.6.0.32-gdb.py', 'libgfortran.so.5'])
    assert.is(lib(n), undefined, n);
  assert.match(r.log, /runtimeLibs gcc: 5 files of libgcc_s libgomp libstdc\+\+ into \/usr\/lib64/);
});

test('contract: runtimeLibs fails, naming what is missing, where the gcc directory holds only a linker script and dangling links', async () => {
  const r = await runScript(image('test/nogcc').builder(bob).packages('app-misc/hello').runtimeLibs('gcc'), { gcc: BROKEN_GCC });
  if (!r) return;
  assert.is.not(r.code, 0);
  assert.match(r.log, /imgsdk: error: runtimeLibs gcc: no shared object of libgcc_s libgomp libstdc\+\+ in \/opt\/gcc-fake\/lib/);
  assert.match(r.log, /libgcc_s\.so\.1 \(not an ELF file\)/);
  assert.match(
    r.log,
    /libstdc\+\+\.so\.6 \(a link to \.\.\/\.\.\/\.\.\/x86_64-linux-gnu\/libstdc\+\+\.so\.6\.0\.30, which does not exist\)/,
  );
  assert.is(r.out.size, 0);
});

test('contract: a second run in the same container writes make.conf, package.provided, package.env and package.use.mask whole, not twice', async () => {
  const once = await main();
  const twice = await runScript(app, { entry: '/bin/sh /imgsdk/in/build.sh >/dev/null\nexec /bin/sh /imgsdk/in/build.sh' });
  if (!once || !twice) return;
  assert.is(twice.code, 0, twice.tail);
  for (const f of [
    'make.conf',
    'profile/package.provided',
    'package.env',
    'profile/package.use.mask',
    'package.use/imgsdk',
    'env/imgsdk-app-shells_bash',
  ]) {
    assert.is(file(twice.etc, `portage/${f}`), file(once.etc, `portage/${f}`), f);
  }
  const mk = file(twice.etc, 'portage/make.conf')!;
  assert.is(mk.match(/^# BEGIN imgsdk$/gm)?.length, 1);
  assert.is(mk.match(/^MAKEOPTS="-j2"$/gm)?.length, 1);
  assert.is(mk.match(/^# imgsdk builder test\/bob$/gm)?.length, 1, "the builder's own block stays");
  assert.equal(entries(file(twice.etc, 'portage/profile/package.provided')), entries(file(once.etc, 'portage/profile/package.provided')));
  // The overlay is added once and synced on each run.
  assert.equal(twice.calls.filter((c) => c.startsWith('eselect repository add')).length, 1);
  assert.equal(twice.calls.filter((c) => c === 'emaint sync --repo berne').length, 2);
});

test("contract: Portage's warnings about the overlay before its first sync stay out of the log; the rest of what sync prints is there", async () => {
  const r = await main();
  if (!r) return;
  assert.ok(r.calls.includes('emaint sync --repo berne'));
  assert.not.match(r.log, /nonexistent directory|repository name|repo_name|first line/);
  assert.match(r.log, />>> Syncing repository 'berne' into '\/var\/db\/repos\/berne'\.\.\./);
  const conf = await runScript(
    image('test/overlay-warn')
      .builder(bob)
      .packages('app-misc/hello')
      .overlay('berne', { uri: 'https://example.org/berne.git', branch: 'main' }),
    { stubs: ['emerge', 'portageq', 'emaint'] },
  );
  if (!conf) return;
  assert.is(conf.code, 0, conf.tail);
  assert.not.match(conf.log, /nonexistent directory|repository name|repo_name/);
});

// imgsdk.lock for Gentoo: `imgsdk lock` runs portage.sh --lock, phase 1 installs lock.list.
const jq = image('test/jq')
  .builder(bob)
  .packages('app-misc/jq')
  .use('app-misc/jq', '-oniguruma')
  .keywords('app-misc/jq', '~amd64')
  .user('nobody');
const jqLock = (version = '1.7.1'): Lock => ({
  lockfileVersion: 1,
  builders: {
    'test/bob': {
      kind: 'gentoo',
      arch: 'amd64',
      stage3: 'amd64-openrc',
      date: 'latest',
      sha512: null,
      portage: 'latest',
      snapshot: '20260115',
    },
  },
  images: {
    'test/jq': {
      builder: 'test/bob',
      parent: null,
      request: ['app-misc/jq'],
      packages: [
        { name: 'app-misc/jq', version, arch: 'amd64', sha256: '', suite: 'gentoo', use: ['-oniguruma', '-test'] },
        { name: 'sys-libs/zlib', version: '1.3.1-r1', arch: 'amd64', sha256: '', suite: 'gentoo', use: [] },
      ],
    },
  },
});

test('contract: --lock configures the builder as a build does, then runs exactly one emerge --pretend into the root and writes its report', async () => {
  const r = await runScript(app, { entry: '/bin/sh /imgsdk/scripts/portage-lock.sh /imgsdk/in' });
  if (!r) return;
  assert.is(r.code, 0, r.tail);
  assert.equal(
    r.calls.filter((c) => c.startsWith('emerge ')),
    [
      'emerge ROOT=/imgsdk/root --pretend --verbose --color=n --nospinner --root=/imgsdk/root --root-deps=rdeps --oneshot --usepkg --binpkg-respect-use=y app-shells/bash net-misc/curl',
    ],
  );
  // The same configuration as a build: package.use, keywords, masks, package.provided of the ancestors.
  assert.is(file(r.etc, 'portage/package.use/imgsdk'), '# generated by imgsdk\napp-shells/bash -nls readline\n');
  assert.is(file(r.etc, 'portage/package.accept_keywords/imgsdk'), '# generated by imgsdk\nnet-misc/curl ~amd64\n');
  assert.is(file(r.etc, 'portage/package.mask/imgsdk'), '# generated by imgsdk\ndev-libs/openssl\n');
  assert.equal(entries(file(r.etc, 'portage/profile/package.provided')), [
    'sys-apps/baselayout-9.9',
    'sys-libs/glibc-2.38-r10',
    'sys-libs/ncurses-6.4',
    'sys-libs/zlib-9.9',
  ]);
  assert.ok(r.calls.includes('emaint sync --repo berne'), 'overlays are synced: their ebuilds are candidates');
  assert.is(r.merged.length, 0, 'nothing is installed');
  assert.not.ok(
    r.calls.some((c) => c.includes('--onlydeps')),
    'no build dependencies are emerged',
  );
  assert.match(
    file(r.out, 'out/pretend.txt')!,
    /^\[ebuild {2}N {5}\] app-shells\/bash-1\.0-r1::gentoo {2}USE="ipv6 -nls" 0 KiB\n\[ebuild {2}N {5}\] net-misc\/curl-1\.0-r1::gentoo/m,
  );
  assert.not.ok(r.out.has('out/rootfs.tar'));
});

test('contract: --lock ignores the lock.list of an earlier lock: it resolves what the tree has now', async () => {
  const r = await runScript(jq, { lock: jqLock(), entry: '/bin/sh /imgsdk/scripts/portage-lock.sh /imgsdk/in', parents: '' });
  if (!r) return;
  assert.is(r.code, 0, r.tail);
  assert.equal(
    r.calls.filter((c) => c.startsWith('emerge ')).map((c) => c.split(' ').pop()),
    ['app-misc/jq'],
  );
});

test("contract: with a lock, phase 1 checks every locked =atom with portageq, emerges them into the root, and the requested ones' build dependencies into the builder", async () => {
  const r = await runScript(jq, { lock: jqLock(), parents: '' });
  if (!r) return;
  assert.is(r.code, 0, r.tail);
  assert.ok(r.calls.includes('portageq best_visible / =app-misc/jq-1.7.1::gentoo'));
  assert.ok(r.calls.includes('portageq best_visible / =sys-libs/zlib-1.3.1-r1::gentoo'));
  assert.equal(
    r.calls.filter((c) => c.startsWith('emerge ')),
    [
      'emerge ROOT= --oneshot --onlydeps --with-bdeps=y --usepkg --binpkg-respect-use=y =app-misc/jq-1.7.1::gentoo',
      'emerge ROOT=/imgsdk/root --root=/imgsdk/root --root-deps=rdeps --oneshot --usepkg --binpkg-respect-use=y =app-misc/jq-1.7.1::gentoo =sys-libs/zlib-1.3.1-r1::gentoo',
    ],
  );
  assert.match(r.log, /installing the 2 versions of imgsdk\.lock/);
  assert.equal(
    r.merged.map((m) => m.split(' ').slice(0, 2).join(' ')),
    ['/imgsdk/root app-misc/jq', '/imgsdk/root sys-libs/zlib'],
  );
});

test('contract: a locked version the Portage tree no longer has fails before any emerge, naming it and saying to update the lock or pin the snapshot', async () => {
  const r = await runScript(jq, { lock: jqLock(), parents: '', env: { STUB_PORTAGEQ_GONE: 'app-misc/jq-1.7.1' } });
  if (!r) return;
  assert.is.not(r.code, 0);
  assert.match(
    r.log,
    /imgsdk: error: image test\/jq: imgsdk\.lock locks versions the Portage tree does not have \(any more\): app-misc\/jq-1\.7\.1::gentoo - run `imgsdk update test\/jq` to lock what the tree has now, or pin the builder's portage to the snapshot the lock was made from/,
  );
  assert.equal(
    r.calls.filter((c) => c.startsWith('emerge ')),
    [],
  );
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
      await engine.importImage(await c.exportFilesystem(), ref, {
        changes: ['ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      });
    });
    const img = image('test/phase1').from(base_).packages('app-shells/bash').user('nobody');
    const asm = assemble(App.of([img]));
    await writeAssembly(asm, join(dir, 'out'));
    const def = asm.images.get('test/phase1')!;
    const m = asm.manifest.images['test/phase1'];
    const rec = await runPhase1({
      engine,
      state: new StateDir(join(dir, 'state')),
      def,
      key: m.key,
      builder: asm.manifest.builders['test/bob'].def,
      builderRef: ref,
      imageDir: join(dir, 'out', m.dir),
      parentPackages: ['sys-libs/glibc-2.38-r10'],
    });
    assert.equal(rec.packages, [
      {
        name: 'app-shells/bash',
        version: '1.0-r1',
        use: ['ipv6', '-nls', '-static-libs'],
        slot: '0/1',
        repository: 'gentoo',
        origin: 'gentoo',
      },
    ]);
    assert.is(rec.origins['usr/bin/bash'], 'app-shells/bash');
    assert.is(rec.origins['usr/share/bash/with space.txt'], 'app-shells/bash');
    assert.ok(rec.size > 0);
  } finally {
    await engine.removeImage(ref, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});

// A child and its ancestors (issue 23): the stand-in tree has two versions of a
// package that needs ~amd64, and a package depending on it. The parent was built
// with the older one (imgsdk.lock) and with -nls; its binary package is in PKGDIR.
const HELLO_TREE = {
  'app-misc/hello/hello-2.10-r1.ebuild': 'KEYWORDS="~amd64"\nIUSE="+nls"\n',
  'app-misc/hello/hello-2.10-r2.ebuild': 'KEYWORDS="~amd64"\nIUSE="+nls"\n',
  'app-misc/greeter/greeter-1.ebuild': 'KEYWORDS="~amd64"\nIUSE="+shout"\nDEPEND="app-misc/hello"\n',
};
const hello = image('anc/hello')
  .builder(bob)
  .packages('app-misc/hello')
  .keywords('app-misc/hello', '~amd64')
  .use('app-misc/hello', '-nls')
  .user('nobody');
const greeter = image('anc/greeter').from(hello).packages('app-misc/greeter').keywords('app-misc/greeter', '~amd64');
/** The same child, accepting ~amd64 for its parent's package itself: what a user did before children inherited settings. */
const greeterKeyworded = image('anc/greeter-kw')
  .from(hello)
  .packages('app-misc/greeter')
  .keywords('app-misc/greeter', '~amd64')
  .keywords('app-misc/hello', '~amd64');
const HELLO_BUILT = {
  parents: 'app-misc/hello-2.10-r1\n',
  tree: HELLO_TREE,
  binpkgs: { 'app-misc/hello/hello-2.10-r1-1.gpkg.tar': 'USE=\n' },
};

test("contract: a parent's package that needs ~amd64 is emerged into the child's builder: the child's /etc/portage holds the parent's keywords", async () => {
  const r = await runScript(greeter, HELLO_BUILT);
  if (!r) return;
  assert.is(r.code, 0, r.tail);
  assert.not.match(r.log, /have been masked/);
  assert.ok(
    r.installed.some((l) => l.startsWith('/ app-misc/hello-')),
    r.installed.join('\n'),
  );
  assert.ok(r.installed.includes('/imgsdk/root app-misc/greeter-1 USE=shout from=source'), r.installed.join('\n'));
});

test("contract: the parent's packages go into the child's builder at the versions the parent was built with, not the best visible ones", async () => {
  const r = await runScript(greeterKeyworded, HELLO_BUILT);
  if (!r) return;
  assert.is(r.code, 0, r.tail);
  assert.equal(
    r.installed.filter((l) => l.startsWith('/ ')).map((l) => l.split(' ')[1]),
    ['app-misc/hello-2.10-r1'],
  );
  assert.match(r.log, /pinned 1 packages of the ancestors to their versions/);
  // The pins held for that emerge only: the root install and later runs choose as the image's settings say.
  assert.not.ok(r.etc.has('portage/package.mask/imgsdk-ancestors'));
  assert.equal(entries(file(r.etc, 'portage/profile/package.provided')), ['app-misc/hello-2.10-r1']);
});

test("contract: a parent's USE applies to its package in the child's builder, so --binpkg-respect-use=y reuses the parent's binary package", async () => {
  const r = await runScript(greeterKeyworded, HELLO_BUILT);
  if (!r) return;
  assert.is(r.code, 0, r.tail);
  assert.ok(r.installed.includes('/ app-misc/hello-2.10-r1 USE= from=binpkg'), r.installed.join('\n'));
  assert.equal(entries(file(r.etc, 'portage/package.use/imgsdk')), ['app-misc/hello -nls']);
});

test("contract: --lock configures the child with its ancestors' settings, as a build does", async () => {
  const r = await runScript(greeter, { ...HELLO_BUILT, entry: '/bin/sh /imgsdk/scripts/portage-lock.sh /imgsdk/in' });
  if (!r) return;
  assert.is(r.code, 0, r.tail);
  assert.is(
    file(r.etc, 'portage/package.accept_keywords/imgsdk'),
    '# generated by imgsdk\n# from anc/hello\napp-misc/hello ~amd64\n# from anc/greeter (this image)\napp-misc/greeter ~amd64\n',
  );
  assert.is(file(r.etc, 'portage/package.use/imgsdk'), '# generated by imgsdk\n# from anc/hello\napp-misc/hello -nls\n');
  assert.match(file(r.out, 'out/pretend.txt')!, /^\[ebuild {2}N {5}\] app-misc\/greeter-1::gentoo {2}USE="shout" 0 KiB$/m);
});

test('contract: the stand-in Portage masks a ~amd64-only package nothing accepts, as emerge does', async () => {
  const r = await runScript(image('anc/unaccepted').builder(bob).packages('app-misc/hello').user('nobody'), {
    parents: '',
    tree: HELLO_TREE,
  });
  if (!r) return;
  assert.is.not(r.code, 0);
  assert.match(r.log, /All ebuilds that could satisfy "app-misc\/hello" have been masked/);
  assert.match(r.log, /- app-misc\/hello-2\.10-r2::gentoo \(masked by: ~amd64 keyword\)/);
});

test.run();
