import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RootfsError } from '../../../src/contract/errors';
import { closure } from '../../../src/runtime/rootfs/closure';
import type { Entry } from '../../../src/runtime/store/entry';
import { dir, elf, file, hardlink, symlink } from './_tar-fixture';

const LD = '/lib64/ld-linux-x86-64.so.2';
const glibc: Entry[] = [
  dir('lib64'),
  file('lib64/ld-linux-x86-64.so.2', 200, elf({ soname: 'ld-linux-x86-64.so.2' })),
  file('lib64/libc.so.6', 2000, elf({ soname: 'libc.so.6', needed: ['ld-linux-x86-64.so.2'] })),
];
/** What a package manager leaves for nmap: the program, its libraries, data, and much else. */
const nmap: Entry[] = [
  dir('usr'),
  dir('usr/bin'),
  file('usr/bin/nmap', 3000, elf({ interp: LD, needed: ['libpcap.so.1', 'libc.so.6'] })),
  symlink('usr/bin/nmap-alias', 'nmap'),
  file('usr/bin/ncat', 900, elf({ interp: LD, needed: ['libssl.so.3', 'libc.so.6'] })),
  dir('usr/lib64'),
  symlink('usr/lib64/libpcap.so.1', 'libpcap.so.1.10.4'),
  file('usr/lib64/libpcap.so.1.10.4', 400, elf({ soname: 'libpcap.so.1', needed: ['libdbus-1.so.3', 'libc.so.6'] })),
  file('usr/lib64/libdbus-1.so.3', 300, elf({ needed: ['libc.so.6'] })),
  file('usr/lib64/libssl.so.3', 600, elf({ needed: ['libc.so.6'] })),
  dir('usr/share'),
  dir('usr/share/nmap'),
  file('usr/share/nmap/nmap-services', 50),
  dir('usr/share/nmap/scripts'),
  file('usr/share/nmap/scripts/http-title.nse', 5),
  file('usr/share/ncat/ca-bundle.crt', 5),
  dir('etc'),
  file('etc/nmap.conf', 1),
  hardlink('usr/bin/nmap-hard', 'usr/bin/nmap'),
];
const paths = (entries: readonly Entry[]) => entries.map((e) => e.path);

test('closure keeps a root, what it loads, the symlinks on the way and their parent directories', () => {
  const out = closure([glibc, nmap], { libc: 'glibc', roots: ['/usr/bin/nmap'], keep: [] });
  assert.equal(paths(out), [
    'usr',
    'usr/bin',
    'usr/bin/nmap',
    'usr/lib64',
    'usr/lib64/libdbus-1.so.3',
    'usr/lib64/libpcap.so.1',
    'usr/lib64/libpcap.so.1.10.4',
  ]);
});

test('closure never returns entries of parent layers', () => {
  const out = closure([glibc, nmap], { libc: 'glibc', roots: ['/usr/bin/nmap', 'lib64/libc.so.6'], keep: [] });
  assert.not.ok(paths(out).some((p) => p.startsWith('lib64')));
});

test('closure keeps a directory root with its content, and keep globs', () => {
  const out = closure([glibc, nmap], { libc: 'glibc', roots: ['usr/share/nmap'], keep: ['etc/*.conf'] });
  assert.equal(paths(out), [
    'etc',
    'etc/nmap.conf',
    'usr',
    'usr/share',
    'usr/share/nmap',
    'usr/share/nmap/nmap-services',
    'usr/share/nmap/scripts',
    'usr/share/nmap/scripts/http-title.nse',
  ]);
});

test('closure keeps a symlink root and its target, and a hardlink root and the file it shares', () => {
  assert.ok(
    paths(closure([glibc, nmap], { libc: 'glibc', roots: ['usr/bin/nmap-alias'], keep: [] })).includes('usr/lib64/libpcap.so.1.10.4'),
  );
  const out = paths(closure([glibc, nmap], { libc: 'glibc', roots: ['usr/bin/nmap-hard'], keep: [] }));
  assert.ok(out.includes('usr/bin/nmap-hard') && out.includes('usr/bin/nmap') && out.includes('usr/lib64/libpcap.so.1'));
});

test('closure accepts glob roots', () => {
  const out = paths(closure([glibc, nmap], { libc: 'glibc', roots: ['usr/bin/n{map,cat}'], keep: [] }));
  assert.ok(out.includes('usr/lib64/libssl.so.3'));
  assert.ok(out.includes('usr/lib64/libpcap.so.1.10.4'));
  assert.not.ok(out.includes('usr/share/ncat/ca-bundle.crt'));
});

test('closure keeps directory symlinks crossed on the way, as in a merged /usr', () => {
  const merged = [
    symlink('lib', 'usr/lib'),
    file('usr/lib/x86_64-linux-gnu/libz.so.1', 1, elf()),
    file('usr/lib/x86_64-linux-gnu/unused.so', 1, elf()),
    file('usr/bin/gzip', 1, elf({ interp: LD, needed: ['libz.so.1'] })),
    symlink('bin', 'usr/bin'),
  ];
  const out = paths(closure([glibc, merged], { libc: 'glibc', roots: ['/bin/gzip'], keep: [] }));
  assert.equal(out, ['bin', 'lib', 'usr/bin/gzip', 'usr/lib/x86_64-linux-gnu/libz.so.1']);
});

test('closure names every root that matches nothing', () => {
  try {
    closure([glibc, nmap], { libc: 'glibc', roots: ['usr/bin/nmap', 'usr/bin/zenmap', 'opt/*'], keep: [] });
    assert.unreachable('closure should throw');
  } catch (err) {
    assert.instance(err, RootfsError);
    assert.equal((err as RootfsError).entries, ['usr/bin/zenmap', 'opt/*']);
    assert.match((err as Error).message, 'usr/bin/zenmap, opt/*');
  }
});

test('literal roots take file names with glob characters as they are', () => {
  const layer: Entry[] = [dir('usr'), dir('usr/bin'), file('usr/bin/['), file('usr/bin/a{b}'), file('usr/bin/ab')];
  assert.equal(paths(closure([layer], { libc: 'glibc', roots: ['usr/bin/[', 'usr/bin/a{b}'], keep: [], literal: true })), [
    'usr',
    'usr/bin',
    'usr/bin/[',
    'usr/bin/a{b}',
  ]);
});

test.run();
