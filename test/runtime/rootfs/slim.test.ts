import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Entry } from '../../../src/runtime/store/entry';
import { slim } from '../../../src/runtime/rootfs/slim';
import type { PackageInfo } from '../../../src/runtime/store/state';
import { dir, elf, file, symlink } from './_tar-fixture';
import type { References } from '../../../src/runtime/rootfs/references';

const LD = '/lib64/ld-linux-x86-64.so.2';
const LIB = 'usr/lib/x86_64-linux-gnu';
const of = (origin: string, e: Entry): Entry => ({ ...e, origin });
const pkg = (name: string, section: string, depends: string[] = [], more: Partial<PackageInfo> = {}): PackageInfo => ({
  name,
  version: '1',
  origin: 'debian',
  section,
  priority: 'optional',
  depends,
  ...more,
});
const program = (path: string, needed: string[]) => file(path, 100, elf({ type: 3, interp: LD, needed }));
const library = (path: string, soname: string, needed: string[] = ['libc.so.6'], more = {}) =>
  file(path, 100, elf({ soname, needed, ...more }));
const script = (path: string, interp: string): Entry => ({ ...file(path, 50), mode: 0o755, shebang: interp });

const libc6 = [
  of('libc6', symlink('lib64', 'usr/lib64')),
  of('libc6', file('usr/lib64/ld-linux-x86-64.so.2', 200, elf({ soname: 'ld-linux-x86-64.so.2' }))),
  of('libc6', library(`${LIB}/libc.so.6`, 'libc.so.6', ['ld-linux-x86-64.so.2'], { interp: LD })),
  of('libc6', library(`${LIB}/libm.so.6`, 'libm.so.6')),
  of('libc6', library(`${LIB}/gconv/IBM1390.so`, null as unknown as string)),
  of('libc6', file(`${LIB}/gconv/gconv-modules.cache`, 30)),
  of('libc6', file('etc/ld.so.conf.d/x86_64-linux-gnu.conf', 10)),
];
const base = { parents: [] as Entry[][], needs: [], libc: 'glibc' as const, ldSoConf: new Map<string, string>() };
const paths = (es: readonly Entry[]) => es.map((e) => e.path).sort();

test('slim drops the shared libraries and programs of library and base packages that nothing uses', () => {
  const entries = [
    ...libc6,
    of('app', program('usr/bin/app', ['libc.so.6'])),
    of('iproute2', program('usr/bin/ip', ['libc.so.6', 'libmnl.so.0'])),
    of('iproute2', file('etc/iproute2/rt_tables', 10)),
    of('libmnl0', library(`${LIB}/libmnl.so.0`, 'libmnl.so.0')),
  ];
  const packages = [
    pkg('app', 'utils', ['libc6', 'iproute2']),
    pkg('libc6', 'libs'),
    pkg('iproute2', 'net', ['libmnl0'], { priority: 'important' }),
    pkg('libmnl0', 'libs'),
  ];
  const r = slim({ ...base, entries, packages, requested: ['app'] });
  const kept = paths(r.entries);
  assert.ok(kept.includes('usr/bin/app'));
  assert.ok(kept.includes(`${LIB}/libc.so.6`));
  assert.not.ok(kept.includes(`${LIB}/libm.so.6`), 'libm: nothing links it');
  assert.not.ok(kept.includes('usr/bin/ip'), 'ip: a base package program nothing runs');
  assert.not.ok(kept.includes('etc/iproute2/rt_tables'), 'data of an unused package');
  assert.not.ok(kept.includes(`${LIB}/gconv/IBM1390.so`), 'gconv: nothing calls iconv_open');
  assert.equal(r.unused, ['iproute2', 'libmnl0']);
});

test('slim keeps the interpreter library tree and modules of a used library package (Ruby in libruby)', () => {
  const entries = [
    ...libc6,
    of('ruby3.1', program('usr/bin/ruby3.1', ['libruby-3.1.so.3.1', 'libc.so.6'])),
    of('libruby3.1', library(`${LIB}/libruby-3.1.so.3.1`, 'libruby-3.1.so.3.1')),
    of('libruby3.1', file('usr/lib/ruby/3.1.0/rubygems.rb', 300)),
    of('libruby3.1', library(`${LIB}/ruby/3.1.0/json/ext/parser.so`, 'parser.so')),
    of('libruby3.1', file('usr/share/rubygems-integration/all/specifications/x.gemspec', 20)),
  ];
  const packages = [pkg('ruby3.1', 'ruby', ['libruby3.1', 'libc6']), pkg('libruby3.1', 'libs', ['libc6']), pkg('libc6', 'libs')];
  const kept = paths(slim({ ...base, entries, packages, requested: ['ruby3.1'] }).entries);
  for (const p of [
    'usr/lib/ruby/3.1.0/rubygems.rb',
    `${LIB}/ruby/3.1.0/json/ext/parser.so`,
    'usr/share/rubygems-integration/all/specifications/x.gemspec',
  ])
    assert.ok(kept.includes(p), p);
});

test('slim keeps a data package a kept program depends on (tzdata for PostgreSQL) and drops tools that cannot run (debconf without perl)', () => {
  const entries = [
    ...libc6,
    of('postgresql-15', program('usr/lib/postgresql/15/bin/postgres', ['libc.so.6'])),
    of('tzdata', dir('usr/share/zoneinfo')),
    of('tzdata', file('usr/share/zoneinfo/Europe/Amsterdam', 2000)),
    of('debconf', script('usr/bin/debconf', '/usr/bin/perl')),
    of('debconf', file('usr/share/perl5/Debconf/Db.pm', 400)),
    of('debconf', file('etc/debconf.conf', 40)),
  ];
  const packages = [
    pkg('postgresql-15', 'database', ['libc6', 'tzdata', 'debconf']),
    pkg('libc6', 'libs'),
    pkg('tzdata', 'localization', [], { priority: 'required' }),
    pkg('debconf', 'admin', [], { priority: 'important' }),
  ];
  const kept = paths(slim({ ...base, entries, packages, requested: ['postgresql-15'] }).entries);
  assert.ok(kept.includes('usr/share/zoneinfo/Europe/Amsterdam'));
  assert.not.ok(kept.includes('usr/bin/debconf'));
  assert.not.ok(kept.includes('usr/share/perl5/Debconf/Db.pm'), 'a perl tree without perl');
  assert.not.ok(kept.includes('etc/debconf.conf'));
});

test("slim keeps the interpreter a kept script names, and that interpreter package's library tree (git needs perl)", () => {
  const entries = [
    ...libc6,
    of('git', script('usr/lib/git-core/git-add--interactive', '/usr/bin/perl')),
    of('perl-base', program('usr/bin/perl', ['libc.so.6'])),
    of('perl-base', file(`${LIB}/perl-base/strict.pm`, 50)),
    of('perl-modules-5.36', symlink('usr/share/perl/5.36', '5.36.0')),
    of('perl-modules-5.36', dir('usr/share/perl/5.36.0')),
    of('perl-modules-5.36', file('usr/share/perl/5.36.0/JSON/PP.pm', 50)),
  ];
  const packages = [
    pkg('git', 'vcs', ['perl-base', 'libc6', 'perl-modules-5.36']),
    pkg('perl-base', 'perl', [], { essential: true, priority: 'required' }),
    pkg('perl-modules-5.36', 'libs'),
    pkg('libc6', 'libs'),
  ];
  const kept = paths(slim({ ...base, entries, packages, requested: ['git'] }).entries);
  assert.ok(kept.includes('usr/bin/perl'));
  assert.ok(kept.includes(`${LIB}/perl-base/strict.pm`));
  // @INC names share/perl/5.36, a symlink to the directory that holds the modules.
  assert.ok(kept.includes('usr/share/perl/5.36') && kept.includes('usr/share/perl/5.36.0/JSON/PP.pm'));
});

test("slim keeps gconv modules for a program that calls iconv_open, and OpenSSL's modules with the library that loads them", () => {
  const ssl = [
    of('libssl3', library(`${LIB}/libcrypto.so.3`, 'libcrypto.so.3')),
    of('libssl3', library(`${LIB}/ossl-modules/legacy.so`, 'legacy.so', ['libcrypto.so.3', 'libc.so.6'])),
  ];
  const packages = [pkg('app', 'utils', ['libc6', 'libssl3']), pkg('libc6', 'libs'), pkg('libssl3', 'libs', ['libc6'])];
  const app = of('app', file('usr/bin/app', 100, elf({ type: 3, interp: LD, needed: ['libc.so.6', 'libcrypto.so.3'], iconv: true })));
  let kept = paths(slim({ ...base, entries: [...libc6, ...ssl, app], packages, requested: ['app'] }).entries);
  assert.ok(kept.includes(`${LIB}/gconv/IBM1390.so`));
  // python3-cryptography loads the legacy provider at import, though no openssl.cnf names it.
  assert.ok(kept.includes(`${LIB}/ossl-modules/legacy.so`));
  const plain = of('app', program('usr/bin/app', ['libc.so.6']));
  kept = paths(slim({ ...base, entries: [...libc6, ...ssl, plain], packages, requested: ['app'] }).entries);
  assert.not.ok(kept.includes(`${LIB}/ossl-modules/legacy.so`));
});

test('slim gives a child what its parent slimmed away and the child loads, and nothing the parent has', () => {
  const parent = [libc6[0], libc6[1], libc6[2], libc6[6]].map(({ origin: _o, ...e }) => e as Entry);
  // Phase 1 of the child brings the parent's package (libc6) again: it is not among the child's packages.
  const entries = [...libc6, of('jq', program('usr/bin/jq', ['libm.so.6', 'libc.so.6']))];
  const r = slim({ ...base, parents: [parent], entries, packages: [pkg('jq', 'utils', ['libc6'])], requested: ['jq'] });
  assert.equal(
    paths(r.entries).filter((p) => p !== 'usr' && p !== 'usr/bin'),
    ['usr/bin/jq', `${LIB}/libm.so.6`],
  );
});

test('a program that calls popen gets /bin/sh from dash, unless a policy forbids shells; one naming C.UTF-8 gets the locale', () => {
  const dash = [of('dash', symlink('usr/bin/sh', 'dash')), of('dash', program('usr/bin/dash', ['libc.so.6']))];
  const locale = [of('libc-bin', file('usr/lib/locale/C.utf8/LC_CTYPE', 300)), of('libc-bin', program('usr/bin/locale', ['libc.so.6']))];
  const app = of('app', file('usr/bin/app', 100, elf({ type: 3, interp: LD, needed: ['libc.so.6'], shell: true, utf8Locale: true })));
  const packages = [pkg('app', 'utils', ['libc6']), pkg('libc6', 'libs')];
  const entries = [...libc6, ...dash, ...locale, app];
  let kept = paths(slim({ ...base, entries, packages, requested: ['app'] }).entries);
  assert.ok(kept.includes('usr/bin/sh') && kept.includes('usr/bin/dash'));
  assert.ok(kept.includes('usr/lib/locale/C.utf8/LC_CTYPE'));
  assert.not.ok(kept.includes('usr/bin/locale'));
  kept = paths(
    slim({ ...base, entries, packages, requested: ['app'], forbid: ['/bin/sh', '/usr/bin/sh', '/bin/dash', '/usr/bin/dash'] }).entries,
  );
  assert.not.ok(kept.includes('usr/bin/dash'));
  const quiet = of('app', program('usr/bin/app', ['libc.so.6']));
  kept = paths(slim({ ...base, entries: [...libc6, ...dash, ...locale, quiet], packages, requested: ['app'] }).entries);
  assert.not.ok(kept.includes('usr/bin/dash') || kept.includes('usr/lib/locale/C.utf8/LC_CTYPE'));
});

test("a base package's helper script does not bring its interpreter in (usrmerge's Perl scripts)", () => {
  const entries = [
    ...libc6,
    of('app', program('usr/bin/app', ['libc.so.6'])),
    of('usrmerge', script('usr/lib/usrmerge/convert-usrmerge', '/usr/bin/perl')),
    of('perl-base', program('usr/bin/perl', ['libc.so.6'])),
    of('perl-base', file('usr/lib/x86_64-linux-gnu/perl-base/strict.pm', 50)),
  ];
  const packages = [
    pkg('app', 'utils', ['libc6', 'usrmerge']),
    pkg('usrmerge', 'admin', ['perl-base'], { priority: 'important' }),
    pkg('perl-base', 'perl', [], { essential: true, priority: 'required' }),
    pkg('libc6', 'libs'),
  ];
  const kept = paths(slim({ ...base, entries, packages, requested: ['app'] }).entries);
  assert.not.ok(kept.includes('usr/bin/perl'));
  assert.not.ok(kept.includes('usr/lib/usrmerge/convert-usrmerge'));
});

test("a static program's image gets no /bin/sh for its scripts: dash would need a glibc the image does not have", () => {
  const dash = [of('dash', symlink('usr/bin/sh', 'dash')), of('dash', program('usr/bin/dash', ['libc.so.6']))];
  const entries = [
    ...dash,
    of('busybox-static', file('usr/bin/busybox', 100, elf({ type: 2 }))),
    of('busybox-static', script('usr/share/busybox/hook', '/bin/sh')),
  ];
  const kept = paths(slim({ ...base, entries, packages: [pkg('busybox-static', 'shells')], requested: ['busybox-static'] }).entries);
  assert.ok(kept.includes('usr/bin/busybox'));
  assert.not.ok(kept.includes('usr/bin/dash'));
});

test('the usrmerge links stay whoever owns them (an entrypoint /bin/bash needs /bin -> usr/bin)', () => {
  const entries = [
    ...libc6,
    of('debianutils', symlink('bin', 'usr/bin')),
    dir('usr/bin'),
    of('debianutils', program('usr/bin/run-parts', ['libc.so.6'])),
    of('bash', program('usr/bin/bash', ['libc.so.6'])),
  ];
  const packages = [
    pkg('bash', 'shells', ['libc6', 'debianutils']),
    pkg('debianutils', 'utils', [], { essential: true, priority: 'required' }),
    pkg('libc6', 'libs'),
  ];
  const kept = paths(slim({ ...base, entries, packages, requested: ['bash'] }).entries);
  assert.ok(kept.includes('bin'));
  // Kept as a link, not as a root: usr/bin's unused programs stay out.
  assert.not.ok(kept.includes('usr/bin/run-parts'));
});

const refs =
  (table: Record<string, Partial<References>>) =>
  (e: Entry): References => ({ paths: [], commands: [], locales: [], accounts: [], ...table[e.path] });
const localeFiles = [of('libc-bin', file('usr/lib/locale/C.utf8/LC_CTYPE', 300)), of('libc-bin', program('usr/bin/locale', ['libc.so.6']))];

test("a locale a kept configuration file names is kept (PostgreSQL's lc_messages = 'C.UTF-8'), and one .locale() declares", () => {
  const entries = [
    ...libc6,
    ...localeFiles,
    of('pg', program('usr/bin/postgres', ['libc.so.6'])),
    of('pg', file('etc/postgresql/postgresql.conf', 40)),
  ];
  const packages = [pkg('pg', 'database', ['libc6']), pkg('libc6', 'libs')];
  let kept = paths(
    slim({ ...base, entries, packages, requested: ['pg'], references: refs({ 'etc/postgresql/postgresql.conf': { locales: ['C.utf8'] } }) })
      .entries,
  );
  assert.ok(kept.includes('usr/lib/locale/C.utf8/LC_CTYPE'));
  assert.not.ok(kept.includes('usr/bin/locale'));
  kept = paths(slim({ ...base, entries, packages, requested: ['pg'] }).entries);
  assert.not.ok(kept.includes('usr/lib/locale/C.utf8/LC_CTYPE'));
  kept = paths(slim({ ...base, entries, packages, requested: ['pg'], locales: ['C.UTF-8'] }).entries);
  assert.ok(kept.includes('usr/lib/locale/C.utf8/LC_CTYPE'));
});

test('the commands a kept shell script runs come from the Essential packages, bash for #!/bin/bash, env for #!/usr/bin/env', () => {
  const coreutils = [
    of('coreutils', program('usr/bin/mktemp', ['libc.so.6'])),
    of('coreutils', program('usr/bin/chmod', ['libc.so.6'])),
    of('coreutils', program('usr/bin/env', ['libc.so.6'])),
    of('coreutils', program('usr/bin/sort', ['libc.so.6'])),
  ];
  const bash = [of('bash', program('usr/bin/bash', ['libc.so.6']))];
  const baseFiles = [
    of('base-files', symlink('bin', 'usr/bin')),
    of('base-files', file('etc/os-release', 20)),
    of('base-files', file('usr/share/base-files/motd', 20)),
  ];
  const entries = [
    ...libc6,
    ...coreutils,
    ...bash,
    ...baseFiles,
    of('apache2', script('usr/sbin/apache2ctl', '/bin/bash')),
    of('apache2', program('usr/sbin/apache2', ['libc.so.6'])),
    of('tsc', script('usr/bin/tsc', 'node')),
    of('tsc', program('usr/bin/node', ['libc.so.6'])),
  ];
  const packages = [pkg('apache2', 'httpd', ['libc6']), pkg('tsc', 'javascript', ['libc6']), pkg('libc6', 'libs')];
  const kept = paths(
    slim({
      ...base,
      entries,
      packages,
      requested: ['apache2', 'tsc'],
      references: refs({ 'usr/sbin/apache2ctl': { commands: ['mktemp', 'chmod', 'if'] } }),
    }).entries,
  );
  assert.ok(
    ['usr/bin/bash', 'usr/bin/mktemp', 'usr/bin/chmod', 'usr/bin/env'].every((p) => kept.includes(p)),
    kept.join(' '),
  );
  assert.not.ok(kept.includes('usr/bin/sort'), 'a tool nothing names stays out');
  // Offered, not depended on: a package without ELF files is not kept for being data.
  assert.not.ok(kept.includes('etc/os-release'));
});

test('a path a kept configuration file names is kept with its package (a module), unless a policy forbids it', () => {
  const entries = [
    ...libc6,
    of('web', program('usr/sbin/web', ['libc.so.6'])),
    of('web', file('etc/web.conf', 30)),
    of('libweb-mod', library(`${LIB}/web/mod_x.so`, 'mod_x.so')),
    of('libweb-mod', library(`${LIB}/web/mod_y.so`, 'mod_y.so')),
  ];
  const packages = [pkg('web', 'httpd', ['libc6', 'libweb-mod']), pkg('libweb-mod', 'libs', ['libc6']), pkg('libc6', 'libs')];
  const references = refs({ 'etc/web.conf': { paths: [`${LIB}/web/mod_x.so`, 'etc/nowhere.conf'] } });
  const kept = paths(slim({ ...base, entries, packages, requested: ['web'], references }).entries);
  assert.ok(kept.includes(`${LIB}/web/mod_x.so`));
  const forbidden = paths(slim({ ...base, entries, packages, requested: ['web'], references, forbid: [`/${LIB}/web/mod_x.so`] }).entries);
  assert.not.ok(forbidden.includes(`${LIB}/web/mod_x.so`));
});

test("an alternative that leads to an offered package's file stays only with that file (which -> which.debianutils)", () => {
  const entries = [
    ...libc6,
    of('app', program('usr/bin/app', ['libc.so.6'])),
    of('debianutils', script('usr/bin/which.debianutils', '/bin/sh')),
    symlink('etc/alternatives/which', '/usr/bin/which.debianutils'),
    symlink('usr/bin/which', '/etc/alternatives/which'),
  ];
  const packages = [pkg('app', 'utils', ['libc6']), pkg('libc6', 'libs')];
  const kept = paths(slim({ ...base, entries, packages, requested: ['app'] }).entries);
  assert.not.ok(
    kept.includes('usr/bin/which.debianutils') || kept.includes('etc/alternatives/which') || kept.includes('usr/bin/which'),
    kept.join(' '),
  );
});

test("a configuration that names a script to run keeps the script, its interpreter and /bin/sh, which runs it (lighttpd's include_shell)", () => {
  const dash = [of('dash', symlink('usr/bin/sh', 'dash')), of('dash', program('usr/bin/dash', ['libc.so.6']))];
  const perl = [of('perl-base', program('usr/bin/perl', ['libc.so.6']))];
  const lighttpd = [
    of('lighttpd', program('usr/sbin/lighttpd', ['libc.so.6'])),
    of('lighttpd', file('etc/lighttpd/lighttpd.conf', 40)),
    of('lighttpd', script('usr/share/lighttpd/use-ipv6.pl', '/usr/bin/perl')),
  ];
  const packages = [pkg('lighttpd', 'httpd', ['libc6']), pkg('libc6', 'libs')];
  const entries = [...libc6, ...dash, ...perl, ...lighttpd];
  const names = refs({ 'etc/lighttpd/lighttpd.conf': { paths: ['usr/share/lighttpd/use-ipv6.pl'] } });
  const kept = paths(slim({ ...base, entries, packages, requested: ['lighttpd'], references: names }).entries);
  assert.ok(
    ['usr/bin/sh', 'usr/bin/dash', 'usr/bin/perl'].every((p) => kept.includes(p)),
    kept.join(' '),
  );
  // A configuration naming a data file runs nothing: no shell.
  const data = refs({ 'etc/lighttpd/lighttpd.conf': { paths: ['usr/bin/perl'] } });
  const quiet = paths(
    slim({
      ...base,
      entries: [...libc6, ...dash, ...lighttpd.slice(0, 2), { ...perl[0], mode: 0o644 }],
      packages,
      requested: ['lighttpd'],
      references: data,
    }).entries,
  );
  assert.not.ok(quiet.includes('usr/bin/dash'), quiet.join(' '));
});

test.run();
