/**
 * Reading `emerge --pretend --verbose --color=n` (with and without --columns) into
 * Gentoo lock entries, from real emerge output kept in fixtures/.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lockedAtom, parsePretend, pretendToLocked } from '../../../src/sdk/portage/lock';

const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name), 'utf8');

test('the one-line example: cat/pkg, version, repository and USE with - for disabled flags', () => {
  assert.equal(parsePretend(fixture('emerge-pretend-plain.txt')), [
    { name: 'app-misc/jq', version: '1.7.1', slot: '', repository: 'gentoo', use: ['oniguruma', '-test'], type: 'ebuild' },
  ]);
  // Binary packages without a build id (no binpkg-multi-instance) keep their whole version.
  assert.equal(
    parsePretend('[binary  N     ] dev-libs/libyaml-0.2.5::gentoo  USE="-doc" 0 KiB\n[binary  N     ] x11-misc/foo-3::gentoo  0 KiB\n').map(
      (p) => `${p.name}-${p.version}`,
    ),
    ['dev-libs/libyaml-0.2.5', 'x11-misc/foo-3'],
  );
});

test("--verbose output: every [ebuild] and [binary] line in order, slots, revisions, _p versions, overlays, a binary package's build id left out; headers, blockers and news are not packages", () => {
  const got = parsePretend(fixture('emerge-pretend-verbose.txt'));
  assert.equal(
    got.map((p) => [p.type, p.name, p.version, p.slot, p.repository]),
    [
      ['ebuild', 'dev-libs/oniguruma', '6.9.9', '0/5', 'gentoo'],
      ['ebuild', 'app-misc/jq', '1.7.1', '0', 'gentoo'],
      ['binary', 'sys-libs/zlib', '1.3.1-r1', '0/1', 'gentoo'],
      ['ebuild', 'net-misc/curl', '8.9.1-r2', '0', 'gentoo'],
      ['ebuild', 'dev-lang/python', '3.12.5_p1', '3.12', 'gentoo'],
      ['ebuild', 'acct-user/nginx', '0-r2', '', 'berne'],
    ],
  );
});

test("USE_EXPAND variables become prefixed flags, sorted by name with USE; emerge's markers (* changed, % new, (forced or masked)) are dropped", () => {
  const [onig, , zlib, curl, python, nginx] = parsePretend(fixture('emerge-pretend-verbose.txt'));
  assert.equal(onig.use, [
    '-abi_x86_32',
    'abi_x86_64',
    '-abi_x86_x32',
    '-cpu_flags_x86_avx2',
    '-cpu_flags_x86_sse4_2',
    '-crnl-as-line-terminator',
    '-static-libs',
  ]);
  assert.equal(zlib.use, ['-abi_x86_32', 'abi_x86_64', '-abi_x86_x32', '-minizip', '-static-libs', '-verify-sig']);
  assert.equal(curl.use, [
    'adns',
    'alt-svc',
    '-curl_quic_ngtcp2',
    'curl_quic_openssl',
    '-curl_ssl_gnutls',
    '-curl_ssl_mbedtls',
    'curl_ssl_openssl',
    '-curl_ssl_rustls',
    'hsts',
    'http2',
    'http3',
    '-idn',
    'ipv6',
    'openssl',
    'quic',
    'ssl',
    '-test',
  ]);
  assert.equal(python.use, ['-bluetooth', '-build', 'ensurepip', 'python_targets_python3_12']);
  assert.equal(nginx.use, []);
});

test('--columns output gives the same packages; the installed version in brackets is not the one locked', () => {
  const cols = parsePretend(fixture('emerge-pretend-columns.txt'));
  assert.equal(
    cols.map((p) => `${p.name}-${p.version}:${p.slot}::${p.repository}`),
    ['dev-libs/oniguruma-6.9.9:0/5::gentoo', 'app-misc/jq-1.7.1:0::gentoo', 'sys-libs/ncurses-6.4_p20240414:0/6::gentoo'],
  );
  const verbose = parsePretend(fixture('emerge-pretend-verbose.txt'));
  assert.equal(cols[1], verbose[1]);
  assert.equal(cols[2].use, ['-ada', 'cxx', '-debug', 'tinfo']);
});

test("a package line emerge's format does not explain is an error quoting it, not a silent skip", () => {
  assert.throws(
    () => parsePretend('[ebuild  N     ] not-an-atom  USE="x"\n'),
    /cannot read the package of: \[ebuild {2}N {5}\] not-an-atom/,
  );
});

test('lock entries are sorted by name, keep the repository, USE and slot, and are installed as =cat/pkg-version::repo', () => {
  const locked = pretendToLocked(parsePretend(fixture('emerge-pretend-verbose.txt')), 'amd64');
  assert.equal(
    locked.map((p) => p.name),
    ['acct-user/nginx', 'app-misc/jq', 'dev-lang/python', 'dev-libs/oniguruma', 'net-misc/curl', 'sys-libs/zlib'],
  );
  assert.equal(locked[1], {
    name: 'app-misc/jq',
    version: '1.7.1',
    arch: 'amd64',
    sha256: '',
    suite: 'gentoo',
    use: ['oniguruma', '-static-libs', '-test'],
    slot: '0',
  });
  assert.not.ok('slot' in locked[0], 'no slot when emerge showed none');
  assert.equal(locked.map(lockedAtom), [
    '=acct-user/nginx-0-r2::berne',
    '=app-misc/jq-1.7.1::gentoo',
    '=dev-lang/python-3.12.5_p1::gentoo',
    '=dev-libs/oniguruma-6.9.9::gentoo',
    '=net-misc/curl-8.9.1-r2::gentoo',
    '=sys-libs/zlib-1.3.1-r1::gentoo',
  ]);
  // Two slots of one package are two entries.
  const two = pretendToLocked(
    parsePretend(
      '[ebuild  N     ] dev-lang/python-3.12.5_p1:3.12::gentoo  0 KiB\n[ebuild  N     ] dev-lang/python-3.11.9:3.11::gentoo  0 KiB\n',
    ),
    'amd64',
  );
  assert.equal(
    two.map((p) => [p.version, p.slot]),
    [
      ['3.11.9', '3.11'],
      ['3.12.5_p1', '3.12'],
    ],
  );
  // The same report in another order gives the same entries.
  const lines = fixture('emerge-pretend-verbose.txt').split('\n');
  assert.equal(pretendToLocked(parsePretend(lines.reverse().join('\n')), 'amd64'), locked);
});

test.run();
