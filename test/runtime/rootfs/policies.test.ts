import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, debian, image, noShell, nonRoot, type Image } from '../../../src';
import type { ImageDef } from '../../../src/contract/assembly';
import { BuildError } from '../../../src/contract/errors';
import { findShells } from '../../../src/runtime/rootfs/policies';
import { runPipeline } from '../../../src/runtime/rootfs/pipeline';
import { BlobStore } from '../../../src/runtime/store/blobs';
import type { CreatedAccount, PackageInfo } from '../../../src/runtime/store/state';
import { Testing } from '../../../src/sdk/testing';
import { buildElf } from './_elf-fixture';
import { makeTar, type TarItem } from './_tar-fixture';

const deb = debian.builder('acme/bookworm', { suite: 'bookworm' });
let tmp: string;
let blobs: BlobStore;
test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'imgsdk-policies-'));
  blobs = new BlobStore(join(tmp, 'blobs'));
});
test.after(() => rm(tmp, { recursive: true, force: true }));

/** A static ELF program whose bytes carry `strings` (as a shell's .rodata would). */
const program = (...strings: string[]) =>
  Buffer.concat([buildElf({ class: 64, endian: 'little', type: 2 }), Buffer.from(`\0${strings.join('\0')}\0`)]);
/** A dynamic ELF program that needs `lib`, which no layer has. */
const needing = (lib: string, ...strings: string[]) =>
  Buffer.concat([
    buildElf({ class: 64, endian: 'little', type: 3, interp: '/lib64/ld-linux-x86-64.so.2', needed: [lib] }),
    Buffer.from(`\0${strings.join('\0')}\0`),
  ]);

interface Build {
  readonly items?: readonly TarItem[];
  readonly files?: Readonly<Record<string, Buffer>>;
  readonly origins?: Readonly<Record<string, string>>;
  readonly packages?: readonly PackageInfo[];
  readonly createdAccounts?: readonly CreatedAccount[];
  readonly def?: (d: ImageDef) => ImageDef;
}

/** The pipeline of `img` under `policies`, over a phase-1 tar of `b.items`. */
async function build(img: Image, policies: ReturnType<typeof noShell>[], b: Build = {}) {
  const rootfsTar = join(tmp, `${Math.random().toString(36).slice(2)}.tar`);
  await pipeline(makeTar(b.items ?? []), createWriteStream(rootfsTar));
  const synth = Testing.synth(app(img).policy(...policies));
  const def0 = synth.image(img.id).def;
  const def = b.def ? b.def(def0) : def0;
  const bodies = new Map<string, Buffer>();
  for (const f of def.files) if (f.sha256 && b.files?.[f.path]) bodies.set(f.sha256, b.files[f.path]);
  return runPipeline({
    def,
    libc: 'glibc',
    rootfsTar,
    origins: b.origins ?? {},
    packages: b.packages ?? [],
    parents: [],
    inheritedAccounts: [],
    copySources: new Map(),
    blobs,
    createdAccounts: b.createdAccounts ?? [],
    readFile: async (sha) => bodies.get(sha)!,
  });
}

async function buildError(img: Image, policies: ReturnType<typeof noShell>[], b: Build = {}): Promise<string> {
  try {
    await build(img, policies, b);
  } catch (e) {
    assert.instance(e, BuildError);
    return (e as Error).message;
  }
  assert.unreachable('the build passed');
  return '';
}

const plain = (id: string) => image(id).builder(deb).user('nobody').entrypoint('/usr/bin/app');

test('a POSIX shell a hook copied under another name fails noShell, naming the image, the path and why', async () => {
  const m = await buildError(plain('acme/hooked'), [noShell()], {
    items: [{ name: 'usr/local/bin/sh', mode: 0o755, body: program('esac', 'elif', 'getopts') }],
  });
  assert.match(m, /acme\/hooked/);
  assert.match(m, /policy noShell: \/usr\/local\/bin\/sh is a shell: an ELF file that is a POSIX shell/);
});

test('a C shell, rc, sash, yash and fish under any name are shells; a program that only runs /bin/sh is not', async () => {
  const items: TarItem[] = [
    { name: 'opt/a', mode: 0o755, body: program('endsw', 'breaksw') },
    { name: 'opt/b', mode: 0o755, body: program('rc: cannot shift') },
    { name: 'opt/c', mode: 0o755, body: program('Stand-alone shell (version %s)') },
    { name: 'opt/d', mode: 0o755, body: program('Yet another shell, version %s') },
    { name: 'opt/e', mode: 0o755, body: program('# This file contains fish universal variable definitions.') },
    { name: 'usr/bin/app', mode: 0o755, body: program('/bin/sh', '-c', 'system', 'case', 'done') },
  ];
  const m = await buildError(plain('acme/many'), [noShell()], { items });
  for (const p of ['a', 'b', 'c', 'd', 'e']) assert.match(m, new RegExp(`/opt/${p} is a shell`));
  assert.not.match(m, /usr\/bin\/app/);
  const ok = await build(plain('acme/many'), [noShell()], { items: [items[5]] });
  assert.ok(ok.entries.some((e) => e.path === 'usr/bin/app'));
});

test('a shell added with .file() at a path no name list knows fails the policy', async () => {
  const body = program('esac', 'elif');
  const img = plain('acme/filed').file('/usr/libexec/dash', body, { mode: 0o755 });
  const m = await buildError(img, [noShell()], { files: { '/usr/libexec/dash': body } });
  assert.match(m, /policy noShell: \/usr\/libexec\/dash is a shell/);
});

test('a program of a package of the shells section is a shell, and so is what /etc/shells lists', async () => {
  const pkgs: PackageInfo[] = [{ name: 'newsh', version: '1', origin: 'debian', section: 'shells' }];
  const m = await buildError(plain('acme/pkg'), [noShell()], {
    items: [
      { name: 'usr/bin/newsh', mode: 0o755, body: program('nothing known') },
      { name: 'etc/shells', body: '# comment\n/usr/bin/script-shell\n/bin/absent\n' },
      { name: 'usr/bin/script-shell', mode: 0o755, body: '#!/usr/bin/python3\n' },
    ],
    origins: { 'usr/bin/newsh': 'newsh' },
    packages: pkgs,
  });
  assert.match(m, /\/usr\/bin\/newsh is a shell: a program of the shell package newsh/);
  assert.match(m, /\/usr\/bin\/script-shell is a shell: listed in \/etc\/shells/);
  assert.not.match(m, /absent/);
});

test('a shell that misses a library is named as a shell, not as a link-check failure', async () => {
  const m = await buildError(plain('acme/sash'), [noShell()], {
    items: [{ name: 'bin/sash', mode: 0o755, body: needing('libgone.so.1', 'Stand-alone shell') }],
  });
  assert.match(m, /policy noShell: \/bin\/sash is a shell: an ELF file that is sash/);
  assert.not.match(m, /link check/);
  // Without the policy the same layer fails where it did before: the link check.
  assert.match(
    await buildError(plain('acme/sash'), [], {
      items: [{ name: 'bin/sash', mode: 0o755, body: needing('libgone.so.1', 'Stand-alone shell') }],
    }),
    /libgone\.so\.1/,
  );
});

test('a shell identity split across two read chunks of a large file is still found', async () => {
  const big = Buffer.alloc((1 << 20) + 64);
  buildElf({ class: 64, endian: 'little', type: 2 }).copy(big);
  Buffer.from('\0esac\0').copy(big, (1 << 20) - 3); // straddles the first chunk's end
  Buffer.from('\0elif\0').copy(big, 4096);
  const sha = await blobs.put(big);
  const e = {
    path: 'opt/big',
    type: 'file' as const,
    mode: 0o755,
    uid: 0,
    gid: 0,
    size: big.length,
    linkname: null,
    sha256: sha,
    elf: {
      class: 64 as const,
      endian: 'little' as const,
      machine: 62,
      type: 2,
      interp: null,
      needed: [],
      rpath: [],
      runpath: [],
      soname: null,
    },
  };
  assert.equal(
    (await findShells([e], [], [], blobs)).map((s) => s.path),
    ['opt/big'],
  );
});

test('nonRoot at build judges a user a package created: uid 0, or gid 0, fails naming the image', async () => {
  const asPkgUser = (d: ImageDef): ImageDef => ({ ...d, config: { ...d.config, user: 'pgsql' } });
  const uid0 = await buildError(plain('acme/pg'), [nonRoot()], {
    createdAccounts: [{ user: 'pgsql', uid: 0, group: 'pgsql', gid: 0 }],
    def: asPkgUser,
  });
  assert.match(uid0, /acme\/pg.*policy nonRoot: runs as root \(user pgsql is uid 0\), as the built image resolves it/);
  const gid0 = await buildError(plain('acme/pg'), [nonRoot()], {
    createdAccounts: [{ user: 'pgsql', uid: 105, group: 'root', gid: 0 }],
    def: asPkgUser,
  });
  assert.match(gid0, /policy nonRoot: runs with the root group \(user pgsql is uid 105, gid 0\)/);
  const app_ = { name: 'usr/bin/app', mode: 0o755, body: program('an app') };
  const fine = await build(plain('acme/pg'), [nonRoot()], {
    items: [app_],
    createdAccounts: [{ user: 'pgsql', uid: 105, group: 'pgsql', gid: 107 }],
    def: asPkgUser,
  });
  assert.ok(fine.entries.length > 0);
});

test('a shell in a directory source fails the policy like any other file of the layer', async () => {
  const src = await mkdtemp(join(tmpdir(), 'imgsdk-policies-dir-'));
  try {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(src, 'run'), '#!/usr/bin/app\n');
    writeFileSync(join(src, 'helper'), program('esac', 'elif'), { mode: 0o755 });
    const img = plain('acme/dir').dir('/opt/app', { src });
    const def = Testing.synth(app(img).policy(noShell())).image('acme/dir').def;
    const bodies = new Map<string, Buffer>();
    for (const d of def.dirs ?? [])
      for (const e of d.entries)
        if (e.sha256) bodies.set(e.sha256, require('node:fs').readFileSync(join(src, e.path.replace(/^\/?opt\/app\//, ''))));
    const rootfsTar = join(tmp, 'dir.tar');
    await pipeline(makeTar([]), createWriteStream(rootfsTar));
    const err = await runPipeline({
      def,
      libc: 'glibc',
      rootfsTar,
      origins: {},
      packages: [],
      parents: [],
      inheritedAccounts: [],
      copySources: new Map(),
      blobs,
      readFile: async (sha) => bodies.get(sha)!,
    }).catch((e: unknown) => e);
    assert.instance(err, BuildError);
    assert.match((err as Error).message, /policy noShell: \/opt\/app\/helper is a shell/);
    assert.not.match((err as Error).message, /opt\/app\/run/);
  } finally {
    await rm(src, { recursive: true, force: true });
  }
});

test.run();
