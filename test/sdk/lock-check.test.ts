import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LockError } from '../../src/contract/errors';
import { parseLock, renderLock, type Lock, type LockedPackage } from '../../src/sdk/lock';
import { sha256 } from '../../src/util/hash';

const deb = (name: string, version: string): LockedPackage => ({
  name,
  version,
  arch: 'amd64',
  sha256: sha256(`${name}=${version}`),
  suite: 'bookworm',
});
const ebuild = (name: string, version: string): LockedPackage => ({
  name,
  version,
  arch: 'amd64',
  sha256: '',
  suite: 'gentoo',
  use: ['-test'],
  slot: '0',
});

function lock(): Lock {
  return {
    lockfileVersion: 1,
    builders: {
      'acme/bookworm': {
        kind: 'debian',
        arch: 'amd64',
        suites: ['bookworm', 'bookworm-security'],
        sources: ['deb http://deb.debian.org/debian bookworm main'],
        snapshot: null,
        releases: { bookworm: 'Sat, 11 Jul 2026 10:16:37 UTC' },
      },
      'acme/bob': {
        kind: 'gentoo',
        arch: 'amd64',
        stage3: 'amd64-hardened-nomultilib',
        date: '20260101T000000Z',
        sha512: null,
        portage: 'latest',
      },
    },
    images: {
      'acme/web': {
        builder: 'acme/bookworm',
        parent: null,
        request: ['hello'],
        packages: [deb('hello', '2.10-3'), deb('libc6', '2.36-9+deb12u14')],
      },
      'acme/jq': { builder: 'acme/bob', parent: null, request: ['app-misc/jq'], packages: [ebuild('app-misc/jq', '1.7.1-r1')] },
    },
  };
}

/** The lock's text with one edit applied to its value; the error (or null). */
function refusal(edit: (l: any) => void): string | null {
  const v = JSON.parse(renderLock(lock()));
  edit(v);
  try {
    parseLock(JSON.stringify(v, null, 2), 'app/imgsdk.lock');
    return null;
  } catch (e) {
    assert.instance(e, LockError);
    return (e as Error).message;
  }
}

/** The line (1-based) of the first line of `text` that matches. */
const lineOf = (text: string, re: RegExp) => text.split('\n').findIndex((l) => re.test(l)) + 1;

test("a lock imgsdk writes is valid, Debian and Gentoo entries alike, a flat repository's URI as a suite too", () => {
  assert.equal(parseLock(renderLock(lock())), JSON.parse(renderLock(lock())));
  const flat = lock();
  (flat.images['acme/web'].packages[0] as { suite: string }).suite = 'http://127.0.0.1:33365';
  assert.equal(parseLock(renderLock(flat)).images['acme/web'].packages[0].suite, 'http://127.0.0.1:33365');
});

test('an empty, short, uppercase or missing sha256 of a .deb is an error naming the line, never a weaker check', () => {
  const cases: [(l: any) => void, RegExp][] = [
    [(l) => (l.images['acme/web'].packages[0].sha256 = ''), /packages\[0\]: sha256 "" is not a sha256/],
    [(l) => (l.images['acme/web'].packages[0].sha256 = 'abc'), /sha256 "abc" is not a sha256/],
    [(l) => (l.images['acme/web'].packages[1].sha256 = sha256('x').toUpperCase()), /packages\[1\]: sha256 "[0-9A-F]{64}" is not/],
    [(l) => delete l.images['acme/web'].packages[0].sha256, /packages\[0\]: has no "sha256"/],
    [(l) => (l.images['acme/web'].packages[0].sha256 = null), /sha256 must be a string/],
  ];
  for (const [edit, why] of cases) {
    const msg = refusal(edit);
    assert.ok(msg, String(why));
    assert.match(msg!, why);
    assert.match(msg!, /app\/imgsdk\.lock:\d+: images\["acme\/web"\]/);
  }
});

test('the line named is the line of the bad value', () => {
  const v = JSON.parse(renderLock(lock()));
  v.images['acme/web'].packages[1].version = 'not a version';
  const text = JSON.stringify(v, null, 2);
  try {
    parseLock(text, 'imgsdk.lock');
    assert.unreachable();
  } catch (e) {
    assert.match(
      (e as Error).message,
      new RegExp(
        `imgsdk\\.lock:${lineOf(text, /"not a version"/)}: images\\["acme/web"\\]\\.packages\\[1\\]: version "not a version" is not a Debian version`,
      ),
    );
  }
  const broken = renderLock(lock()).replace('"snapshot": null,', '"snapshot": null');
  assert.throws(
    () => parseLock(broken, 'imgsdk.lock'),
    new RegExp(`^imgsdk\\.lock:${lineOf(broken, /"snapshot": null$/) + 1}:\\d+: not JSON`),
  );
});

test('every field of a package, an image entry and a builder entry is checked', () => {
  const cases: [(l: any) => void, RegExp][] = [
    [(l) => (l.images['acme/web'].packages[0].sha265 = l.images['acme/web'].packages[0].sha256), /"sha265" is not a field/],
    [(l) => (l.images['acme/web'].packages[0].arch = ''), /arch "" is not a Debian architecture/],
    [(l) => (l.images['acme/web'].packages[0].name = 'Hello World'), /is not a Debian package name/],
    [(l) => (l.images['acme/web'].packages[0].suite = 'bookworm\tx'), /is not a suite/],
    [(l) => (l.images['acme/web'].packages[0].suite = 'http://127.0.0.1:8080 x'), /is not a suite/],
    [(l) => l.images['acme/web'].packages.push(l.images['acme/web'].packages[0]), /hello \(amd64\) is listed twice/],
    [(l) => (l.images['acme/web'].request = ['hel lo']), /request\[0\] "hel lo" is not a package request/],
    [(l) => (l.images['acme/web'].parent = 7), /parent must be a string/],
    [(l) => delete l.images['acme/web'].builder, /has no "builder"/],
    [(l) => (l.images['acme/web'].packages = {}), /packages must be a list/],
    [(l) => (l.builders['acme/bookworm'].kind = 'alpine'), /kind "alpine" is not "debian" or "gentoo"/],
    [(l) => (l.builders['acme/bookworm'].snapshot = 'yesterday'), /snapshot "yesterday" is not null or a snapshot time/],
    [(l) => (l.builders['acme/bookworm'].sources = 'deb x'), /sources must be a list/],
    [(l) => (l.builders['acme/bob'].sha512 = 'ab'), /sha512 "ab" is not null or a sha512/],
    [(l) => (l.builders['acme/bob'].date = ''), /date "" is not `latest` or a stage3 date/],
    [(l) => (l.builders = []), /builders must be an object/],
    [(l) => (l.extra = 1), /"extra" is not a field/],
  ];
  for (const [edit, why] of cases) {
    const msg = refusal(edit);
    assert.ok(msg, String(why));
    assert.match(msg!, why);
  }
});

test('Gentoo packages: a sha256 is refused (they are built, not downloaded), USE flags and slots are checked', () => {
  assert.match(
    refusal((l) => (l.images['acme/jq'].packages[0].sha256 = sha256('x')))!,
    /sha256 must be "" for a Gentoo package/,
  );
  assert.match(
    refusal((l) => (l.images['acme/jq'].packages[0].use = ['ok', '+bad flag']))!,
    /use\[1\] "\+bad flag" is not a USE flag/,
  );
  assert.match(
    refusal((l) => (l.images['acme/jq'].packages[0].slot = ''))!,
    /slot "" is not a slot/,
  );
  assert.match(
    refusal((l) => (l.images['acme/jq'].packages[0].name = 'jq'))!,
    /is not a Gentoo category\/package/,
  );
});

test('a package of an entry whose builder left the lock is judged by its name: a .deb still needs its sha256', () => {
  assert.match(
    refusal((l) => {
      delete l.builders['acme/bookworm'];
      l.images['acme/web'].packages[0].sha256 = '';
    })!,
    /sha256 "" is not a sha256/,
  );
});

test('all problems are reported in one run', () => {
  const msg = refusal((l) => {
    l.images['acme/web'].packages[0].sha256 = '';
    l.images['acme/web'].packages[1].sha256 = '';
  })!;
  assert.match(msg, /\(2 problems\)/);
  assert.match(msg, /packages\[0\]/);
  assert.match(msg, /packages\[1\]/);
});

test.run();
