import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ImgsdkError } from '../../../src/contract/errors';
import { checkDebianPackage, checkDebianVersion, DebianVersion } from '../../../src/sdk/debian/package';

test('package names from Policy 5.6.1 are accepted', () => {
  for (const name of ['curl', 'libc6', 'g++', 'libstdc++6', 'python3.11', 'ca-certificates', 'x11-common', '0ad', 'r-base', 'lib32z1']) {
    assert.is(checkDebianPackage(name), null, name);
  }
});

test('names that break Policy 5.6.1 are rejected with the reason', () => {
  const cases: Array<[string, string]> = [
    ['', 'empty'],
    ['a', 'shorter than two characters'],
    ['Curl', 'has uppercase letters'],
    ['-curl', 'must start with a letter or digit'],
    ['+x', 'must start with a letter or digit'],
    ['.x', 'must start with a letter or digit'],
    ['lib_foo', 'has characters other than a-z 0-9 + . -'],
    ['foo bar', 'contains whitespace'],
    ['foo@1', 'has characters other than'],
  ];
  for (const [spec, why] of cases) {
    const problem = checkDebianPackage(spec);
    assert.ok(problem?.startsWith(`Debian package "${spec}" is not valid: `), `${spec}: ${problem}`);
    assert.ok(problem!.includes(why), `${spec}: ${problem} (wanted: ${why})`);
  }
});

test('a name may carry an architecture, a version or a suite', () => {
  for (const spec of [
    'libc6:amd64',
    'libc6:i386=2.36-9+deb12u4',
    'curl=7.88.1-10+deb12u5',
    'curl/bookworm-backports',
    'curl:arm64/stable',
    'tzdata=2024a-0+deb12u1',
    'dash=0.5.12-2',
    'systemd=1:252.22-1~deb12u1',
  ]) {
    assert.is(checkDebianPackage(spec), null, spec);
  }
});

test('a bad architecture, version or suite is rejected', () => {
  const cases: Array<[string, string]> = [
    ['libc6:', 'architecture missing after ":"'],
    ['libc6:AMD64', 'architecture "AMD64" is not valid'],
    ['curl=', 'version missing after "="'],
    ['curl=abc', 'must start with a digit'],
    ['curl/', 'suite missing after "/"'],
    ['curl/book worm', 'contains whitespace'],
    ['curl/-x', 'suite "-x" is not valid'],
    ['curl=1.0_1', 'with characters other than'],
  ];
  for (const [spec, why] of cases) {
    const problem = checkDebianPackage(spec);
    assert.ok(problem?.includes(why), `${spec}: ${problem} (wanted: ${why})`);
  }
});

test('versions from Policy 5.6.12 are accepted', () => {
  for (const v of [
    '1.0',
    '1:2.36-9+deb12u4',
    '0.5.12-2',
    '2024a-0+deb12u1',
    '1.0~rc1',
    '1.0+dfsg-1~bpo12+1',
    '7.88.1-10',
    '1.2.3-4.5',
    '1.0-1-2',
    '10:1',
    '1.0-a',
    '1.0-~',
  ]) {
    assert.is(checkDebianVersion(v), null, v);
  }
});

test('versions that break Policy 5.6.12 are rejected with the reason', () => {
  const cases: Array<[string, string]> = [
    ['', 'version is empty'],
    ['a1.0', 'must start with a digit'],
    ['~1', 'must start with a digit'],
    ['x:1.0', 'epoch that is not an unsigned integer'],
    [':1.0', 'epoch that is not an unsigned integer'],
    ['-1:1.0', 'epoch that is not an unsigned integer'],
    ['1:2:3', 'more than one ":"'],
    ['1.0-', 'has an empty Debian revision after "-"'],
    ['-1', 'has an empty upstream version'],
    ['1:', 'has an empty upstream version'],
    ['1.0_1', 'upstream version "1.0_1"'],
    ['1.0-1_2', 'Debian revision "1_2"'],
    ['1.0-1-', 'empty Debian revision'],
  ];
  for (const [v, why] of cases) {
    const problem = checkDebianVersion(v);
    assert.ok(problem?.includes(why), `${v}: ${problem} (wanted: ${why})`);
  }
});

test('a version parses into epoch, upstream version and revision', () => {
  const v = DebianVersion.parse('1:2.36-9+deb12u4');
  assert.equal([v.epoch, v.upstream, v.revision], [1, '2.36', '9+deb12u4']);
  const native = DebianVersion.parse('0.5');
  assert.equal([native.epoch, native.upstream, native.revision], [0, '0.5', null]);
  const dashed = DebianVersion.parse('1.0-beta-3');
  assert.equal([dashed.upstream, dashed.revision], ['1.0-beta', '3']);
});

test('a version prints back in canonical form', () => {
  assert.is(String(DebianVersion.parse('1:2.36-9+deb12u4')), '1:2.36-9+deb12u4');
  assert.is(String(DebianVersion.parse('0:1.2-3')), '1.2-3');
});

test('parsing a bad version throws an ImgsdkError', () => {
  assert.throws(
    () => DebianVersion.parse('abc'),
    (e: unknown) => e instanceof ImgsdkError && e.code === 'DEBIAN',
  );
});

// [smaller, larger] as dpkg --compare-versions orders them.
const LESS: Array<[string, string]> = [
  ['1.0~rc1', '1.0'],
  ['2.0', '1:0.9'],
  ['1.0-1', '1.0-1+b1'],
  ['1.0~~', '1.0~'],
  ['1.0~', '1.0'],
  ['1.0~rc1', '1.0~rc2'],
  ['1.0', '1.0+dfsg'],
  ['1.0', '1.0a'],
  ['1.0a', '1.0b'],
  ['1.0a', '1.0.1'],
  ['1.0', '1.0.0'],
  ['1.9', '1.10'],
  ['2.0', '10.0'],
  ['1.0-1', '1.0-2'],
  ['1.0-9', '1.0-10'],
  ['1.0-1', '1.1-0'],
  ['1.0+b1', '1.0.1'],
  ['0:9', '1:0'],
  ['1.2.3-1~bpo12+1', '1.2.3-1'],
  ['1.0-1~deb12u1', '1.0-1'],
  ['1.0-a', '1.0-b'],
  ['1.0-Z', '1.0-a'],
];

test('dpkg ordering puts the first of each pair before the second', () => {
  for (const [a, b] of LESS) {
    assert.is(DebianVersion.compare(a, b), -1, `${a} < ${b}`);
    assert.is(DebianVersion.compare(b, a), 1, `${b} > ${a}`);
  }
});

test('versions that differ only in zeros or an explicit zero epoch compare equal', () => {
  for (const [a, b] of [
    ['1.01', '1.1'],
    ['0:1.0', '1.0'],
    ['1.0', '1.0-0'],
    ['1.000', '1.0'],
    ['1.0-1', '1.0-01'],
  ]) {
    assert.is(DebianVersion.compare(a, b), 0, `${a} = ${b}`);
  }
});

test('compare takes parsed versions as well as strings', () => {
  assert.is(DebianVersion.compare(DebianVersion.parse('1.0~rc1'), DebianVersion.parse('1.0')), -1);
});

test.run();
