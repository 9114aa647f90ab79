import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BlobStore } from '../../../src/runtime/store/blobs';
import { parseElf } from '../../../src/runtime/rootfs/elf';
import type { Entry } from '../../../src/runtime/store/entry';
import { linkCheck, readLoaderConfig } from '../../../src/runtime/rootfs/linkcheck';
import { Layers } from '../../../src/runtime/rootfs/resolve';
import { elf, file, symlink } from './_tar-fixture';

const LD = '/lib64/ld-linux-x86-64.so.2';
/** A glibc base layer: the loader and libc, Gentoo-style in lib64. */
const glibc: Entry[] = [
  file('lib64/ld-linux-x86-64.so.2', 200, elf({ soname: 'ld-linux-x86-64.so.2' })),
  file('lib64/libc.so.6', 2000, elf({ soname: 'libc.so.6', interp: LD, needed: ['ld-linux-x86-64.so.2'] })),
  file('lib64/libm.so.6', 900, elf({ soname: 'libm.so.6', needed: ['libc.so.6'] })),
];
const program = (path: string, needed: string[], more: Parameters<typeof elf>[0] = {}) =>
  file(path, 100, elf({ type: 3, interp: LD, needed, ...more }));

test('linkCheck names the file and the library no layer provides', () => {
  const problems = linkCheck([glibc, [program('usr/bin/nmap', ['libstdc++.so.6', 'libc.so.6'])]], { libc: 'glibc' });
  assert.is(problems.length, 1);
  assert.is(problems[0].file, 'usr/bin/nmap');
  assert.is(problems[0].soname, 'libstdc++.so.6');
  assert.match(
    problems[0].message,
    /^usr\/bin\/nmap needs libstdc\+\+\.so\.6, which no layer provides \(searched: .*\/lib64\/libstdc\+\+\.so\.6/,
  );
});

test('linkCheck accepts a library a parent layer provides', () => {
  const gcc = [file('usr/lib64/libstdc++.so.6', 10, elf({ soname: 'libstdc++.so.6', needed: ['libm.so.6', 'libc.so.6'] }))];
  assert.equal(linkCheck([glibc, gcc, [program('usr/bin/nmap', ['libstdc++.so.6', 'libc.so.6'])]], { libc: 'glibc' }), []);
});

test('linkCheck expands $ORIGIN in RUNPATH relative to the file', () => {
  const app = [
    program('opt/app/bin/app', ['libapp.so.1', 'libc.so.6'], { runpath: ['$ORIGIN/../lib'] }),
    file('opt/app/lib/libapp.so.1', 10, elf({ needed: ['libc.so.6'] })),
  ];
  assert.equal(linkCheck([glibc, app], { libc: 'glibc' }), []);
  const moved = [{ ...app[0], path: 'opt/app/sbin/x/app' }, app[1]];
  assert.equal(
    linkCheck([glibc, moved], { libc: 'glibc' }).map((p) => p.soname),
    ['libapp.so.1'],
  );
});

test('linkCheck follows a symlinked soname to the real library', () => {
  const zlib = [
    symlink('usr/lib64/libz.so.1', 'libz.so.1.2.13'),
    file('usr/lib64/libz.so.1.2.13', 90, elf({ soname: 'libz.so.1', needed: ['libc.so.6'] })),
  ];
  assert.equal(linkCheck([glibc, zlib, [program('usr/bin/gzip', ['libz.so.1'])]], { libc: 'glibc' }), []);
  const broken = [symlink('usr/lib64/libz.so.1', 'libz.so.1.2.12'), zlib[1]];
  assert.equal(
    linkCheck([glibc, broken, [program('usr/bin/gzip', ['libz.so.1'])]], { libc: 'glibc' }).map((p) => p.soname),
    ['libz.so.1'],
  );
});

test('linkCheck does not accept a library of another class', () => {
  const zlib32 = [file('usr/lib/libz.so.1', 90, elf({ class: 32, machine: 3 }))];
  const problems = linkCheck([glibc, zlib32, [program('usr/bin/gzip', ['libz.so.1'])]], { libc: 'glibc' });
  assert.is(problems.length, 1);
  assert.match(problems[0].message, 'found only for another class or machine at /usr/lib/libz.so.1');
});

test('linkCheck reports a missing interpreter', () => {
  const problems = linkCheck([[program('usr/bin/x', [])]], { libc: 'glibc' });
  assert.equal(problems, [{ file: 'usr/bin/x', soname: LD, message: `usr/bin/x needs interpreter ${LD}, which no layer provides` }]);
});

test('linkCheck checks libraries reached from this layer transitively, parent ones included', () => {
  const parent = [file('usr/lib64/libssl.so.3', 10, elf({ needed: ['libcrypto.so.3'] }))];
  const problems = linkCheck([glibc, parent, [program('usr/bin/curl', ['libssl.so.3'])]], { libc: 'glibc' });
  assert.equal(
    problems.map((p) => [p.file, p.soname]),
    [['usr/lib64/libssl.so.3', 'libcrypto.so.3']],
  );
  // Not reached from this layer: the parent's problem is not this image's.
  assert.equal(linkCheck([glibc, parent, [file('etc/motd')]], { libc: 'glibc' }), []);
});

test('linkCheck uses DT_RPATH only without DT_RUNPATH, and inherits it from the loader', () => {
  const libs = [file('opt/a/liba.so', 1, elf({ needed: ['libb.so'] })), file('opt/a/libb.so', 1, elf())];
  assert.equal(linkCheck([glibc, libs, [program('usr/bin/p', ['liba.so'], { rpath: ['/opt/a'] })]], { libc: 'glibc' }), []);
  const both = program('usr/bin/p', ['liba.so'], { rpath: ['/opt/a'], runpath: ['/opt/b'] });
  assert.equal(
    linkCheck([glibc, libs, [both]], { libc: 'glibc' }).map((p) => p.soname),
    ['liba.so'],
  );
});

test('linkCheck honours ld.so.conf.d directories when the image has an ld.so.cache', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'imgsdk-link-'));
  try {
    const blobs = new BlobStore(tmp);
    const text = async (path: string, body: string): Promise<Entry> => ({
      ...file(path, body.length),
      sha256: await blobs.put(Buffer.from(body)),
    });
    const base = [
      ...glibc,
      await text('etc/ld.so.conf', '# comment\ninclude /etc/ld.so.conf.d/*.conf\n'),
      await text('etc/ld.so.conf.d/local.conf', '/usr/local/lib\n'),
      await text('etc/ld.so.conf.d/README', '/nowhere\n'),
      file('etc/ld.so.cache', 100),
    ];
    const app = [file('usr/local/lib/libfoo.so.1', 1, elf({ needed: ['libc.so.6'] })), program('usr/local/bin/foo', ['libfoo.so.1'])];
    const layers = [base, app];
    const ldSoConf = await readLoaderConfig(layers, blobs);
    assert.equal([...ldSoConf.keys()], ['etc/ld.so.conf', 'etc/ld.so.conf.d/local.conf']);
    assert.equal(linkCheck(layers, { libc: 'glibc', ldSoConf }), []);
    assert.equal(
      linkCheck(layers, { libc: 'glibc' }).map((p) => p.soname),
      ['libfoo.so.1'],
    );

    const noCache = [base.filter((e) => e.path !== 'etc/ld.so.cache'), app];
    const problems = linkCheck(noCache, { libc: 'glibc', ldSoConf });
    assert.equal(
      problems.map((p) => p.soname),
      ['libfoo.so.1'],
    );
    assert.match(problems[0].message, 'only through ld.so.conf');
    assert.match(problems[0].message, 'ld.so.cache');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('linkCheck requires declared needs to resolve from the system directories', () => {
  const layers = [glibc, [program('usr/sbin/nginx', ['libc.so.6'])]];
  const problems = linkCheck(layers, { libc: 'glibc', needs: ['libnss_files.so.2'] });
  assert.equal(
    problems.map((p) => [p.file, p.soname]),
    [['(needs)', 'libnss_files.so.2']],
  );
  assert.match(problems[0].message, 'libnss_files.so.2 (declared), which no layer provides');
  const withNss = [[...glibc, file('lib64/libnss_files.so.2', 1, elf({ needed: ['libc.so.6'] }))], layers[1]];
  assert.equal(linkCheck(withNss, { libc: 'glibc', needs: ['libnss_files.so.2'] }), []);
});

test('linkCheck knows musl answers libc.so itself and reads its path file', () => {
  const MUSL = '/lib/ld-musl-x86_64.so.1';
  const musl = [
    file('lib/ld-musl-x86_64.so.1', 600, elf({ soname: 'libc.musl-x86_64.so.1' })),
    symlink('usr/lib/libc.so', '/lib/ld-musl-x86_64.so.1'),
  ];
  const app = [
    file('usr/bin/jq', 1, elf({ interp: MUSL, needed: ['libonig.so.5', 'libc.so'] })),
    file('opt/onig/libonig.so.5', 1, elf({ needed: ['libc.so'] })),
  ];
  assert.equal(
    linkCheck([musl, app], { libc: 'musl' }).map((p) => p.soname),
    ['libonig.so.5'],
  );
  const conf = new Map([['etc/ld-musl-x86_64.path', '/lib\n/usr/lib:/opt/onig\n']]);
  assert.equal(linkCheck([musl, app], { libc: 'musl', ldSoConf: conf }), []);
  // A library asking for libc.so gets the loader even without the libc.so symlink (musl-dev).
  assert.equal(linkCheck([musl.slice(0, 1), app], { libc: 'musl', ldSoConf: conf }), []);
});

/** Entries for host paths, symlinks of every component included, as a rootfs tar would carry them. */
function hostLayer(paths: readonly string[]): Entry[] {
  const out = new Map<string, Entry>();
  const add = (abs: string, depth = 0): void => {
    const parts = abs.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const cur = '/' + parts.slice(0, i).join('/');
      const st = lstatSync(cur);
      if (st.isSymbolicLink()) {
        const target = readlinkSync(cur);
        out.set(cur.slice(1), symlink(cur.slice(1), target));
        const rest = parts.slice(i).join('/');
        return add(posix.join(target.startsWith('/') ? target : posix.join(posix.dirname(cur), target), rest), depth + 1);
      }
      if (i === parts.length) out.set(cur.slice(1), file(cur.slice(1), st.size, parseElf(readFileSync(cur))));
    }
  };
  paths.forEach((p) => add(p));
  return [...out.values()];
}

test("linkCheck resolves /bin/ls against this machine's real libraries", () => {
  const libdir = '/usr/lib/x86_64-linux-gnu';
  const base = hostLayer([LD, `${libdir}/libc.so.6`, `${libdir}/libselinux.so.1`, `${libdir}/libpcre2-8.so.0`]);
  const ls = hostLayer(['/usr/bin/ls']);
  assert.ok(new Layers([base]).lookup(LD)?.elf, 'the loader resolves through the lib64 symlinks');
  assert.equal(linkCheck([base, ls], { libc: 'glibc' }), []);
  const noSelinux = base.filter((e) => !e.path.endsWith('libselinux.so.1'));
  assert.equal(
    linkCheck([noSelinux, ls], { libc: 'glibc' }).map((p) => [p.file, p.soname]),
    [['usr/bin/ls', 'libselinux.so.1']],
  );
});

test('with executablesOnly, a module nothing runs is not checked, but what an executable loads is', () => {
  const jdk = [
    file('opt/jdk/lib/libjava.so', 10, elf({ soname: 'libjava.so', needed: ['libjvm.so', 'libc.so.6'] })),
    file('opt/jdk/lib/server/libjvm.so', 10, elf({ soname: 'libjvm.so', needed: ['libc.so.6'] })),
  ];
  assert.equal(linkCheck([glibc, jdk], { libc: 'glibc', executablesOnly: true }), []);
  assert.is(linkCheck([glibc, jdk], { libc: 'glibc' }).length, 1);
  const linked = [...jdk, program('opt/jdk/bin/tool', ['libjava.so', 'libc.so.6'], { runpath: ['$ORIGIN/../lib'] })];
  assert.equal(
    linkCheck([glibc, linked], { libc: 'glibc', executablesOnly: true }).map((p) => p.soname),
    ['libjvm.so'],
  );
});

test.run();
