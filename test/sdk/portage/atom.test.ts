import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ImgsdkError } from '../../../src/contract/errors';
import { Atom, checkKeyword, checkMakeConfName, checkUseFlag } from '../../../src/sdk/portage/atom';

// Valid per PMS (EAPI 8) plus Portage's "::repo"; each must survive a round trip through toString().
const VALID = [
  'sys-libs/glibc',
  'virtual/libc',
  'dev-libs/openssl:0',
  'dev-libs/openssl:0/3',
  'dev-libs/openssl:=',
  'dev-libs/openssl:*',
  'dev-libs/openssl:0=',
  'dev-libs/openssl:0/3=',
  'dev-libs/openssl::gentoo',
  'dev-libs/openssl:0::gentoo[static-libs]',
  '=net-analyzer/nmap-7.60',
  '=net-analyzer/nmap-7.60*',
  '=net-analyzer/nmap-7*',
  '=net-analyzer/nmap-7.60-r1*',
  '>=sys-libs/glibc-2.38-r10',
  '<=sys-libs/glibc-2.38',
  '<sys-libs/glibc-2.38_p1',
  '>sys-libs/glibc-2.38a',
  '~dev-lang/python-3.12.1',
  '=app-misc/foo-1.2.3a_alpha4_pre5_rc6_p7-r8',
  '=app-misc/foo-1_beta',
  '=app-misc/foo-1.0_p',
  '=app-misc/foo-0001.2',
  'x11-libs/gtk+',
  'x11-libs/gtk+:3',
  'dev-cpp/libxml++',
  'app-misc/foo-bar',
  'app-misc/foo-bar2',
  'app-misc/foo-1x-y',
  'app-misc/foo-r1',
  'media-libs/libsdl2',
  'dev-libs/foo_bar',
  '_cat/pkg',
  'cat.x/pkg',
  'dev-libs/foo[a,-b,c?,!d?,e=,!f=,g(+),h(-)]',
  'dev-libs/foo[g(+)?,!h(-)=,-i(+)]',
  'dev-libs/foo[python_targets_python3_12,l10n@x]',
  '=dev-libs/foo-1:2/3=::my-repo[x]',
  'dev-libs/foo::repo_with_underscore',
];

// [atom, substring of the expected message]
const INVALID: Array<[string, string]> = [
  ['', 'empty'],
  ['dev-libs/openssl-', 'version missing after "-"'],
  ['>=dev-libs/openssl-', 'version missing after "-"'],
  ['>=dev-libs/openssl', 'operator ">=" needs a version'],
  ['=dev-libs/openssl', 'operator "=" needs a version'],
  ['~dev-libs/openssl', 'operator "~" needs a version'],
  ['dev-libs/openssl-1.0', 'version "1.0" needs an operator, as in "=dev-libs/openssl-1.0"'],
  ['dev-libs/openssl-1.0-r1', 'needs an operator'],
  ['dev-libs/foo-1', 'needs an operator'],
  ['>=dev-libs/openssl-1.0.x', '"1.0.x" is not a valid version'],
  ['=dev-libs/openssl-1.0.', 'not a valid version'],
  ['=dev-libs/openssl-.1', 'needs a version'],
  ['=app-misc/foo-1.0_gamma', 'not a valid version'],
  ['=app-misc/foo-1.0ab', 'not a valid version'],
  ['=app-misc/foo-1.0A', 'not a valid version'],
  ['=app-misc/foo-1.0-r', 'not a valid version'],
  ['=app-misc/foo-1.0-r1-r2', '"1.0-r1-r2" is not a valid version'],
  ['=app-misc/foo-1-1.0', 'package name "foo-1" ends in "-1"'],
  ['>=dev-libs/openssl-1.0*', '"*" only goes with the "=" operator'],
  ['~dev-libs/openssl-1.0*', '"*" only goes with the "=" operator'],
  ['dev-libs/openssl*', '"*" only goes with the "=" operator'],
  ['=dev-libs/openssl-1.*', 'not a valid version'],
  ['openssl', 'category missing'],
  ['=openssl-1.0', 'category missing'],
  ['dev-libs/foo/bar', 'more than one "/"'],
  ['/openssl', 'category is empty'],
  ['dev-libs/', 'package name is empty'],
  ['-dev/foo', 'category "-dev" starts with "-"'],
  ['.dev/foo', 'category ".dev" starts with "."'],
  ['+dev/foo', 'category "+dev" starts with "+"'],
  ['dev@libs/foo', 'category "dev@libs" contains "@"'],
  ['dev-libs/-foo', 'package name "-foo" starts with "-"'],
  ['dev-libs/+foo', 'package name "+foo" starts with "+"'],
  ['dev-libs/foo.bar', 'package name "foo.bar" contains "."'],
  ['dev-libs/open ssl', 'contains whitespace'],
  ['!dev-libs/openssl', 'blockers ("!") are not allowed here'],
  ['!!dev-libs/openssl', 'blockers ("!!") are not allowed here'],
  ['=<dev-libs/openssl-1', 'category "<dev-libs" contains "<"'],
  ['dev-libs/openssl:', 'slot missing after ":"'],
  ['dev-libs/openssl:0*', 'slot operator "*" cannot follow a slot name'],
  ['dev-libs/openssl:0/', 'has an empty part'],
  ['dev-libs/openssl:/3', 'has an empty part'],
  ['dev-libs/openssl:0/1/2', 'more than one "/"'],
  ['dev-libs/openssl:-0', 'slot name "-0" is not valid'],
  ['dev-libs/openssl:.0', 'slot name ".0" is not valid'],
  ['dev-libs/openssl::', 'repository missing after "::"'],
  ['dev-libs/openssl::-repo', 'repository name "-repo" is not valid'],
  ['dev-libs/openssl::re.po', 'repository name "re.po" is not valid'],
  ['dev-libs/openssl::repo-1', 'looks like a version'],
  ['dev-libs/openssl[]', 'empty USE dependency'],
  ['dev-libs/openssl[a', 'must come last'],
  ['dev-libs/openssl[a]:0', 'must come last'],
  ['dev-libs/openssl[a][b]', 'more than one "[...]"'],
  ['dev-libs/openssla]', '"]" without "["'],
  ['dev-libs/openssl[-a?]', 'cannot have both "-" and "?"'],
  ['dev-libs/openssl[-a=]', 'cannot have both "-" and "="'],
  ['dev-libs/openssl[!a]', 'needs "?" or "=" after "!"'],
  ['dev-libs/openssl[a,,b]', 'USE dependency "" is not valid'],
  ['dev-libs/openssl[_a]', 'USE dependency "_a" is not valid'],
  ['dev-libs/openssl[a(*)]', 'USE dependency "a(*)" is not valid'],
  ['dev-libs/openssl[a?(+)]', 'USE dependency "a?(+)" is not valid'],
  ['dev-libs/openssl[+a]', 'USE dependency "+a" is not valid'],
];

test('every valid atom from PMS parses and prints back as written', () => {
  for (const text of VALID) {
    assert.is(Atom.check(text), null, text);
    assert.is(String(Atom.parse(text)), text, text);
  }
});

test('every invalid atom is rejected with a message that names the problem', () => {
  for (const [text, why] of INVALID) {
    const problem = Atom.check(text);
    assert.ok(problem !== null, `accepted: ${text}`);
    assert.ok(problem!.startsWith(`"${text}" is not a valid atom: `), problem!);
    assert.ok(problem!.includes(why), `${text}: ${problem} (wanted: ${why})`);
  }
});

test('a trailing hyphen is reported as a missing version, word for word', () => {
  assert.is(Atom.check('dev-libs/openssl-'), '"dev-libs/openssl-" is not a valid atom: version missing after "-"');
});

test('parse throws an ImgsdkError with code ATOM', () => {
  try {
    Atom.parse('dev-libs/openssl-');
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, ImgsdkError);
    assert.is((e as ImgsdkError).code, 'ATOM');
    assert.is((e as Error).message, '"dev-libs/openssl-" is not a valid atom: version missing after "-"');
  }
});

test('an atom with a slot and a sub-slot parses', () => {
  const a = Atom.parse('dev-libs/openssl:0/3');
  assert.is(a.slot, '0');
  assert.is(a.subslot, '3');
  assert.is(a.slotOp, null);
});

test('slot operators parse with and without a slot name', () => {
  assert.equal([Atom.parse('a/b:=').slot, Atom.parse('a/b:=').slotOp], [null, '=']);
  assert.equal([Atom.parse('a/b:*').slot, Atom.parse('a/b:*').slotOp], [null, '*']);
  const built = Atom.parse('a/b:2/2.1=');
  assert.equal([built.slot, built.subslot, built.slotOp], ['2', '2.1', '=']);
});

test('a full atom exposes every part', () => {
  const a = Atom.parse('>=dev-libs/openssl-3.0.13_p1-r2:0/3::gentoo[static-libs(+),-bindist,!test?]');
  assert.equal(
    {
      blocker: a.blocker,
      op: a.op,
      wildcard: a.wildcard,
      category: a.category,
      name: a.name,
      version: a.version,
      revision: a.revision,
      slot: a.slot,
      subslot: a.subslot,
      slotOp: a.slotOp,
      repo: a.repo,
      useDeps: a.useDeps,
      cpn: a.cpn,
    },
    {
      blocker: null,
      op: '>=',
      wildcard: false,
      category: 'dev-libs',
      name: 'openssl',
      version: '3.0.13_p1',
      revision: 2,
      slot: '0',
      subslot: '3',
      slotOp: null,
      repo: 'gentoo',
      useDeps: ['static-libs(+)', '-bindist', '!test?'],
      cpn: 'dev-libs/openssl',
    },
  );
});

test('an unversioned atom has no operator, version or revision', () => {
  const a = Atom.parse('sys-apps/busybox');
  assert.equal([a.op, a.version, a.revision, a.wildcard], [null, null, null, false]);
});

test('the "=…*" wildcard is the "=" operator with wildcard set', () => {
  const a = Atom.parse('=net-analyzer/nmap-7.60*');
  assert.equal([a.op, a.wildcard, a.version], ['=', true, '7.60']);
});

test('a package name may contain a hyphen and digits as long as the tail is not a version', () => {
  assert.is(Atom.parse('=dev-libs/foo-bar2-1.0').name, 'foo-bar2');
  assert.is(Atom.parse('=media-fonts/font-bh-100dpi-1.0.4').name, 'font-bh-100dpi');
  assert.is(Atom.parse('=dev-lang/perl-5.38.2-r3').version, '5.38.2');
});

test('"~" with a revision is accepted, because PMS only says the revision is ignored', () => {
  const a = Atom.parse('~app-misc/foo-1.0-r1');
  assert.equal([a.op, a.version, a.revision], ['~', '1.0', 1]);
});

test('a revision is printed without leading zeros', () => {
  assert.is(String(Atom.parse('=app-misc/foo-1.0-r007')), '=app-misc/foo-1.0-r7');
});

test('blockers are accepted when allowed', () => {
  const weak = Atom.parse('!app-misc/foo', { allowBlocker: true });
  const strong = Atom.parse('!!<app-misc/foo-2', { allowBlocker: true });
  assert.equal([weak.blocker, strong.blocker, strong.op], ['!', '!!', '<']);
  assert.is(String(strong), '!!<app-misc/foo-2');
  assert.ok(Atom.check('!!!app-misc/foo', { allowBlocker: true }));
});

test('requireVersion rejects an unversioned atom and accepts a versioned one', () => {
  assert.match(Atom.check('app-misc/foo', { requireVersion: true }) ?? '', 'a version is required here');
  assert.is(Atom.check('=app-misc/foo-1', { requireVersion: true }), null);
});

test('an atom is immutable', () => {
  const a = Atom.parse('app-misc/foo[a]');
  assert.ok(Object.isFrozen(a));
  assert.ok(Object.isFrozen(a.useDeps));
});

test('USE flags follow the PMS character rules', () => {
  for (const f of ['ipv6', 'static-libs', 'python_targets_python3_12', 'gtk+', 'l10n@x', '3dnow', 'X']) {
    assert.is(checkUseFlag(f), null, f);
  }
  for (const f of ['', '_x', '@x', 'ip v6', 'a.b', 'a:b', 'ä']) {
    assert.is(checkUseFlag(f), `USE flag "${f}" is not a flag`, f);
  }
});

test('a signed USE flag is accepted only when signs are allowed', () => {
  assert.is(checkUseFlag('+ipv6', { allowSign: true }), null);
  assert.is(checkUseFlag('-nls', { allowSign: true }), null);
  assert.is(checkUseFlag('+ip v6', { allowSign: true }), 'USE flag "+ip v6" is not a flag');
  assert.is(checkUseFlag('+', { allowSign: true }), 'USE flag "+" is not a flag');
  assert.is(checkUseFlag('--x', { allowSign: true }), 'USE flag "--x" is not a flag');
  assert.is(checkUseFlag('-nls'), 'USE flag "-nls" cannot start with "-" here');
});

test('keywords accept arches, their ~ and - forms and the special tokens', () => {
  for (const k of ['amd64', '~amd64', '-amd64', '-~x86', '~arm64-macos', 'x64-solaris', '*', '~*', '**', '-*']) {
    assert.is(checkKeyword(k), null, k);
  }
  for (const k of ['', '~', '-', '~-amd64', '--amd64', '~~amd64', 'amd 64', 'amd64.1', '***', '+amd64', '-**']) {
    assert.is(checkKeyword(k), `keyword "${k}" is not a keyword`, k);
  }
});

test('make.conf names are shell variable names', () => {
  for (const n of ['MAKEOPTS', 'CFLAGS', '_X', 'BOB_FEATURES1']) assert.is(checkMakeConfName(n), null, n);
  for (const n of ['', '1X', 'CFLAGS-x', 'A B', 'X=']) {
    assert.is(checkMakeConfName(n), `make.conf name "${n}" is not a variable name`, n);
  }
});

test('the lists hold at least 25 valid and 25 invalid atoms', () => {
  assert.ok(VALID.length >= 25 && INVALID.length >= 25);
});

test.run();
