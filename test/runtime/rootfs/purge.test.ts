import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RootfsError } from '../../../src/contract/errors';
import { purge } from '../../../src/runtime/rootfs/purge';
import { globToRegExp } from '../../../src/runtime/rootfs/resolve';
import { dir, file, symlink } from './_tar-fixture';

const paths = (entries: readonly { path: string }[]) => entries.map((e) => e.path);

test('purge removes each default category and reports counts and bytes', () => {
  const entries = [
    dir('usr/share/doc'),
    file('usr/share/doc/nmap/README', 100),
    file('usr/share/man/man1/nmap.1.gz', 50),
    file('usr/share/info/dir', 5),
    file('usr/include/zlib.h', 7),
    file('usr/x86_64-pc-linux-gnu/include/x.h', 1),
    file('usr/lib/libz.a', 1000),
    file('usr/lib64/libz.la', 1),
    file('usr/lib/x86_64-linux-gnu/crt1.o', 1),
    file('usr/lib/pkgconfig/zlib.pc', 1),
    file('usr/lib64/cmake/Foo/FooConfig.cmake', 1),
    file('usr/share/cmake/Modules/x.cmake', 1),
    file('etc/init.d/nginx', 1),
    file('etc/rc2.d/S01nginx', 1),
    file('lib/systemd/system/nginx.service', 1),
    file('etc/cron.daily/logrotate', 1),
    file('usr/share/bug/nmap/control', 1),
    file('var/db/pkg/net-analyzer/nmap-7.60/CONTENTS', 1),
    file('usr/share/aclocal/libtool.m4', 1),
    file('usr/share/gir-1.0/GLib-2.0.gir', 1),
    file('etc/ld.so.cache', 30),
    file('usr/lib/python3/dist-packages/__pycache__/x.cpython-311.pyc', 3),
    file('usr/lib/python3/foo.pyc', 3),
    file('var/cache/apt/pkgcache.bin', 9),
    file('var/lib/dpkg/status', 9),
    file('var/log/dpkg.log', 9),
    dir('var/log'),
    file('usr/bin/nmap', 2000),
    file('usr/lib/libz.so.1', 80),
  ];
  const { kept, purged } = purge(entries, { keep: [], purge: [] });
  assert.equal(paths(kept), ['var/log', 'usr/bin/nmap', 'usr/lib/libz.so.1']);
  assert.equal(purged.categories, [
    { category: 'docs', count: 2, bytes: 100 },
    { category: 'man', count: 1, bytes: 50 },
    { category: 'info', count: 1, bytes: 5 },
    { category: 'headers', count: 2, bytes: 8 },
    { category: 'static-libs', count: 3, bytes: 1002 },
    { category: 'pkgconfig', count: 1, bytes: 1 },
    { category: 'cmake', count: 2, bytes: 2 },
    { category: 'caches', count: 3, bytes: 27 },
    { category: 'init', count: 5, bytes: 5 },
    { category: 'portage', count: 3, bytes: 3 },
    { category: 'ldcache', count: 1, bytes: 30 },
    { category: 'python-cache', count: 2, bytes: 6 },
  ]);
  assert.equal(purged.globbed, []);
});

test('purge keeps a category named in keep', () => {
  const entries = [file('usr/include/zlib.h'), file('usr/share/man/man3/zlib.3'), file('usr/lib/libz.a')];
  const { kept } = purge(entries, { keep: ['headers', 'static-libs'], purge: [] });
  assert.equal(paths(kept), ['usr/include/zlib.h', 'usr/lib/libz.a']);
});

test('purge refuses a keep that names no category', () => {
  assert.throws(
    () => purge([], { image: 'acme/web', keep: ['header'], purge: [] }),
    (err: unknown) => err instanceof RootfsError && /^acme\/web: .*header/.test((err as Error).message),
  );
});

test('purge keeps C, POSIX and the declared locales only', () => {
  const entries = [
    file('usr/share/locale/locale.alias'),
    file('usr/share/locale/de/LC_MESSAGES/nmap.mo'),
    file('usr/share/locale/fr/LC_MESSAGES/nmap.mo'),
    file('usr/share/locale/en_GB/LC_MESSAGES/nmap.mo'),
    file('usr/share/locale/sr@latin/LC_MESSAGES/nmap.mo'),
    file('usr/share/i18n/charmaps/UTF-8.gz'),
    file('usr/lib/locale/C.utf8/LC_CTYPE'),
    file('usr/lib/locale/de_DE.utf8/LC_CTYPE'),
    file('usr/lib/locale/fr_FR.utf8/LC_CTYPE'),
    file('usr/lib/locale/locale-archive'),
  ];
  const declared = purge(entries, { keep: [], purge: [], locales: ['de_DE.UTF-8'] });
  assert.equal(paths(declared.kept), [
    'usr/share/locale/locale.alias',
    'usr/share/locale/de/LC_MESSAGES/nmap.mo',
    'usr/lib/locale/C.utf8/LC_CTYPE',
    'usr/lib/locale/de_DE.utf8/LC_CTYPE',
    'usr/lib/locale/locale-archive',
  ]);
  const none = purge(entries, { keep: [], purge: [] });
  assert.equal(paths(none.kept), ['usr/share/locale/locale.alias', 'usr/lib/locale/C.utf8/LC_CTYPE']);
  assert.equal(paths(purge(entries, { keep: ['locales'], purge: [] }).kept), paths(entries));
});

test('purge removes what the user globs match, directories with their content', () => {
  const entries = [
    dir('usr/share/zoneinfo/right'),
    file('usr/share/zoneinfo/right/UTC', 4),
    file('usr/share/zoneinfo/UTC', 4),
    file('usr/bin/nmap-update', 6),
    file('usr/lib/foo.cpython.so', 1),
  ];
  const { kept, purged } = purge(entries, { keep: [], purge: ['/usr/share/zoneinfo/right', 'usr/bin/*-update'] });
  assert.equal(paths(kept), ['usr/share/zoneinfo/UTC', 'usr/lib/foo.cpython.so']);
  assert.equal(purged.globbed, ['usr/bin/nmap-update', 'usr/share/zoneinfo/right', 'usr/share/zoneinfo/right/UTC']);
  assert.is(purged.globbedBytes, 10);
});

test('purge removes symlinks left dangling into purged paths, and only those', () => {
  const entries = [
    file('usr/share/doc/nmap/copyright'),
    symlink('usr/share/nmap/COPYING', '../doc/nmap/copyright'),
    symlink('usr/share/nmap/LICENSE', 'COPYING'),
    symlink('usr/lib/libc.so.6', '/lib/x86_64-linux-gnu/libc.so.6'), // in a parent layer: never resolved here
    file('usr/share/nmap/nmap-services'),
    symlink('usr/share/nmap/services', 'nmap-services'),
  ];
  const { kept, purged } = purge(entries, { keep: [], purge: [] });
  assert.equal(paths(kept), ['usr/lib/libc.so.6', 'usr/share/nmap/nmap-services', 'usr/share/nmap/services']);
  assert.equal(purged.dangling, ['usr/share/nmap/COPYING', 'usr/share/nmap/LICENSE']);
});

test('globToRegExp supports *, **, ?, {a,b} and [a-z]', () => {
  const m = (g: string, p: string) => globToRegExp(g).test(p);
  assert.ok(m('usr/share/doc/**', 'usr/share/doc/a/b'));
  assert.not.ok(m('usr/share/doc/**', 'usr/share/doc'));
  assert.ok(m('usr/**/pkgconfig', 'usr/pkgconfig'));
  assert.ok(m('usr/**/pkgconfig', 'usr/lib/x/pkgconfig'));
  assert.ok(m('usr/lib/*.so', 'usr/lib/libz.so'));
  assert.not.ok(m('usr/lib/*.so', 'usr/lib/x/libz.so'));
  assert.ok(m('*.pyc', 'usr/lib/a/b.pyc'));
  assert.ok(m('usr/lib/lib?.so', 'usr/lib/libz.so'));
  assert.ok(m('usr/{bin,sbin}/x', 'usr/sbin/x'));
  assert.not.ok(m('usr/{bin,sbin}/x', 'usr/lib/x'));
  assert.ok(m('etc/rc[0-6].d', 'etc/rc3.d'));
  assert.not.ok(m('etc/rc[!0-6].d', 'etc/rc3.d'));
  assert.ok(m('a+b(c).txt', 'a+b(c).txt'));
});

test.run();
