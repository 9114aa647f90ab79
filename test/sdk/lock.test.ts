import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LockError } from '../../src/contract/errors';
import { debian, gentoo } from '../../src/sdk/builder';
import { debianSources, debianSuites } from '../../src/contract/apt';
import { image } from '../../src/sdk/image';
import {
  dependents,
  emptyLock,
  lockChanges,
  parseLock,
  renderLock,
  type GentooBuilderLock,
  type ImageLock,
  type Lock,
  type LockedPackage,
} from '../../src/sdk/lock';
import { assemble } from '../../src/sdk/synth';
import { sha256 } from '../../src/util/hash';

const deb = debian.builder('acme/bookworm', { suite: 'bookworm' });
const bob = gentoo.builder('kubler/bob', { stage3: 'amd64-hardened-nomultilib' });
const base = image('acme/base').builder(deb).packages('libgreet1').user('nobody');
const child = image('acme/greet').from(base).packages('greet');
const grandchild = image('acme/greet-conf').from(child).file('/etc/greet.conf', 'loud=1\n');
const copier = image('acme/copier')
  .builder(deb)
  .copy({ from: child, paths: ['/usr/bin/greet'] })
  .user('nobody');
const other = image('acme/other').builder(deb).packages('hello').user('nobody');
const portage = image('kubler/glibc').builder(bob).packages('sys-libs/glibc').user('nobody');
const APP = [grandchild, copier, other, portage];

const pkg = (name: string, version: string, suite = 'bookworm'): LockedPackage => ({
  name,
  version,
  arch: 'amd64',
  sha256: sha256(`${name}-${version}`),
  suite,
});

function lockWith(versions: { greet?: string; libgreet1?: string; hello?: string } = {}): Lock {
  const d = deb.def.debian!;
  const entry = (builder: string, parent: string | null, request: string[], packages: LockedPackage[]): ImageLock => ({
    builder,
    parent,
    request,
    packages,
  });
  return {
    lockfileVersion: 1,
    builders: {
      'acme/bookworm': {
        kind: 'debian',
        arch: 'amd64',
        suites: debianSuites(d),
        sources: debianSources(d),
        snapshot: null,
        releases: { bookworm: 'Sat, 11 Jul 2026 10:16:37 UTC' },
      },
    },
    images: {
      'acme/base': entry(
        'acme/bookworm',
        null,
        ['libgreet1'],
        [pkg('libc6', '2.36-9+deb12u14'), pkg('libgreet1', versions.libgreet1 ?? '1.0', 'local')],
      ),
      'acme/greet': entry('acme/bookworm', 'acme/base', ['greet'], [pkg('greet', versions.greet ?? '1.0', 'local')]),
      'acme/other': entry('acme/bookworm', null, ['hello'], [pkg('hello', versions.hello ?? '2.10-3'), pkg('libc6', '2.36-9+deb12u14')]),
    },
  };
}

const keysOf = (lock: Lock | null) =>
  Object.fromEntries(Object.entries(assemble(APP, { lock }).manifest.images).map(([id, m]) => [id, m.key]));
const changed = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a)
    .filter((id) => a[id] !== b[id])
    .sort();

test("a locked image has its own packages in its key and pins its ancestors' and its own in apt/lock.tsv", () => {
  const asm = assemble(APP, { lock: lockWith() });
  assert.equal([...asm.locks].map(([id, s]) => [id, s.status]).sort(), [
    ['acme/base', 'locked'],
    ['acme/copier', 'none'],
    ['acme/greet', 'locked'],
    ['acme/greet-conf', 'none'],
    ['acme/other', 'locked'],
    ['kubler/glibc', 'missing'],
  ]);
  const tsv = asm.files.get('acme/greet/apt/lock.tsv') as string;
  assert.equal(
    tsv
      .trimEnd()
      .split('\n')
      .map((l) => l.split('\t').slice(0, 2).join('=')),
    ['greet=1.0', 'libc6=2.36-9+deb12u14', 'libgreet1=1.0'],
  );
  assert.is(
    asm.files.get('acme/base/apt/lock.tsv'),
    `libc6\t2.36-9+deb12u14\t${pkg('libc6', '2.36-9+deb12u14').sha256}\tamd64\nlibgreet1\t1.0\t${pkg('libgreet1', '1.0').sha256}\tamd64\n`,
  );
  assert.ok(asm.manifest.images['acme/greet'].inputs!.lock);
  assert.not.ok(asm.files.has('acme/greet-conf/apt/lock.tsv'), 'an image without packages installs nothing');
});

test('a new version of a package changes exactly the keys of the image holding it and its descendants', () => {
  const before = keysOf(lockWith());
  assert.equal(changed(before, keysOf(lockWith({ greet: '1.1' }))), ['acme/copier', 'acme/greet', 'acme/greet-conf']);
  assert.equal(changed(before, keysOf(lockWith({ libgreet1: '1.1' }))), ['acme/base', 'acme/copier', 'acme/greet', 'acme/greet-conf']);
  assert.equal(changed(before, keysOf(lockWith({ hello: '2.10-4' }))), ['acme/other']);
  assert.equal(changed(before, keysOf(lockWith())), [], 'the same lock gives the same keys');
});

test('the suite a version comes from and the Release dates are not in any key', () => {
  const a = lockWith();
  const b: Lock = {
    ...a,
    builders: {
      'acme/bookworm': {
        ...a.builders['acme/bookworm'],
        releases: { bookworm: 'Sun, 12 Jul 2026 00:00:00 UTC' },
      } as Lock['builders'][string],
    },
    images: {
      ...a.images,
      'acme/other': {
        ...a.images['acme/other'],
        packages: a.images['acme/other'].packages.map((p) => ({ ...p, suite: 'bookworm-security' })),
      },
    },
  };
  assert.equal(changed(keysOf(a), keysOf(b)), []);
});

test("entries are stale when the packages, the parent or the builder's sources change, and a stale parent makes its children stale", () => {
  const lock = lockWith();
  const more = image('acme/base').builder(deb).packages('libgreet1', 'zlib1g').user('nobody');
  const asm = assemble([image('acme/greet').from(more).packages('greet'), other], { lock });
  assert.is(asm.locks.get('acme/base')!.status, 'stale');
  assert.match(asm.locks.get('acme/base')!.why, /packages changed \(locked for libgreet1\)/);
  assert.is(asm.locks.get('acme/greet')!.status, 'stale');
  assert.match(asm.locks.get('acme/greet')!.why, /parent acme\/base is not locked/);
  assert.is(asm.locks.get('acme/other')!.status, 'locked');
  assert.not.ok(asm.files.has('acme/greet/apt/lock.tsv'), 'a stale entry is not used');

  const moved = debian.builder('acme/bookworm', { suite: 'bookworm', sources: ['deb [trusted=yes] http://127.0.0.1:9/ ./'] });
  const asm2 = assemble([image('acme/other').builder(moved).packages('hello').user('nobody')], { lock });
  assert.match(asm2.locks.get('acme/other')!.why, /builder acme\/bookworm changed/);

  const asm3 = assemble([image('acme/new').builder(deb).packages('curl').user('nobody')], { lock });
  assert.equal([asm3.locks.get('acme/new')!.status, asm3.locks.get('acme/new')!.why], ['missing', 'acme/new is not in the lock']);
});

test('the order of requested packages does not make an entry stale', () => {
  const two = image('acme/two').builder(deb).packages('bb', 'aa').user('nobody');
  const lock: Lock = {
    ...lockWith(),
    images: { 'acme/two': { builder: 'acme/bookworm', parent: null, request: ['aa', 'bb'], packages: [pkg('aa', '1'), pkg('bb', '1')] } },
  };
  assert.is(assemble([two], { lock }).locks.get('acme/two')!.status, 'locked');
});

test('renderLock is deterministic: sorted keys, sorted packages and requests, and parseLock reads it back', () => {
  const lock = lockWith();
  const shuffled: Lock = {
    ...lock,
    images: Object.fromEntries(
      Object.entries(lock.images)
        .reverse()
        .map(([id, e]) => [id, { ...e, packages: [...e.packages].reverse() }]),
    ),
  };
  const text = renderLock(lock);
  assert.is(renderLock(shuffled), text);
  assert.match(text, /^\{\n {2}"lockfileVersion": 1,\n {2}"builders": /);
  assert.equal(parseLock(text), JSON.parse(text));
  assert.not.match(text, /\d{4}-\d\d-\d\dT/, 'no timestamps of ours');
});

test('parseLock refuses what is not a lock, naming the file', () => {
  for (const [text, why] of [
    ['{', /not JSON/],
    ['[]', /not a JSON object/],
    ['{"lockfileVersion":2,"builders":{},"images":{}}', /lockfileVersion 2 is not 1/],
    ['{"lockfileVersion":1,"builders":{},"images":{"a/b":{"builder":"x","request":[],"packages":[{"name":"x"}]}}}', /images\["a\/b"\]/],
  ] as const) {
    try {
      parseLock(text, 'app/imgsdk.lock');
      assert.unreachable(text);
    } catch (e) {
      assert.instance(e, LockError);
      assert.match((e as Error).message, /^app\/imgsdk\.lock\b/);
      assert.match((e as Error).message, why);
    }
  }
});

test('lockChanges names image, package and both versions; security when the new version is from the security suite', () => {
  const before = lockWith();
  const after = lockWith({ greet: '1.1', hello: '2.10-4' });
  const afterSec: Lock = {
    ...after,
    images: {
      ...after.images,
      'acme/other': {
        ...after.images['acme/other'],
        packages: [pkg('hello', '2.10-4', 'bookworm-security'), pkg('libc6', '2.36-9+deb12u14')],
      },
    },
  };
  assert.equal(lockChanges(before, afterSec, ['acme/greet', 'acme/other', 'acme/base']), [
    { image: 'acme/greet', package: 'greet', arch: 'amd64', locked: '1.0', available: '1.1', security: false },
    { image: 'acme/other', package: 'hello', arch: 'amd64', locked: '2.10-3', available: '2.10-4', security: true },
  ]);
  const gained = lockChanges(emptyLock(), before, ['acme/greet']);
  assert.equal(gained, [{ image: 'acme/greet', package: 'greet', arch: 'amd64', locked: null, available: '1.0', security: false }]);
});

// Gentoo: a base with glibc, an app on it, an unrelated tool; entries as `imgsdk lock` writes them from emerge --pretend.
const bob2 = gentoo.builder('kubler/bob', { stage3: 'amd64-hardened-nomultilib', date: '20260101T170000Z' });
const gBase = image('kubler/glibc').builder(bob2).packages('sys-libs/glibc').user('nobody');
const gApp = image('kubler/jq').from(gBase).packages('app-misc/jq');
const gConf = image('kubler/jq-conf').from(gApp).file('/etc/jq.conf', 'x\n');
const gOther = image('kubler/curl').builder(bob2).packages('net-misc/curl').user('nobody');
const G_APP = [gConf, gOther];
const ebuild = (name: string, version: string, use: string[] = [], repo = 'gentoo'): LockedPackage => ({
  name,
  version,
  arch: 'amd64',
  sha256: '',
  suite: repo,
  use,
});

function gentooLock(v: { jq?: string; onig?: string; jqUse?: string[]; curl?: string } = {}): Lock {
  const entry = (parent: string | null, request: string[], packages: LockedPackage[]): ImageLock => ({
    builder: 'kubler/bob',
    parent,
    request,
    packages,
  });
  return {
    lockfileVersion: 1,
    builders: {
      'kubler/bob': {
        kind: 'gentoo',
        arch: 'amd64',
        stage3: 'amd64-hardened-nomultilib',
        date: '20260101T170000Z',
        sha512: null,
        portage: 'latest',
        snapshot: '20260115',
      },
    },
    images: {
      'kubler/glibc': entry(
        null,
        ['sys-libs/glibc'],
        [ebuild('sys-libs/glibc', '2.40-r8', ['-audit', 'multiarch']), ebuild('sys-libs/timezone-data', '2025b')],
      ),
      'kubler/jq': entry(
        'kubler/glibc',
        ['app-misc/jq'],
        [
          ebuild('app-misc/jq', v.jq ?? '1.7.1', v.jqUse ?? ['oniguruma', '-test']),
          ebuild('dev-libs/oniguruma', v.onig ?? '6.9.9', ['-static-libs']),
        ],
      ),
      'kubler/curl': entry(
        null,
        ['net-misc/curl'],
        [ebuild('net-misc/curl', v.curl ?? '8.9.1-r2', ['ssl']), ebuild('sys-libs/zlib', '1.3.1-r1', [])],
      ),
    },
  };
}
const gKeys = (lock: Lock | null) =>
  Object.fromEntries(Object.entries(assemble(G_APP, { lock }).manifest.images).map(([id, m]) => [id, m.key]));

test('Gentoo: a locked image installs its own entries as =cat/pkg-version::repo atoms (portage/imgsdk/lock.list)', () => {
  const asm = assemble(G_APP, { lock: gentooLock() });
  assert.equal([...asm.locks].map(([id, s]) => [id, s.status]).sort(), [
    ['kubler/curl', 'locked'],
    ['kubler/glibc', 'locked'],
    ['kubler/jq', 'locked'],
    ['kubler/jq-conf', 'none'],
  ]);
  assert.is(
    asm.files.get('kubler/jq/portage/imgsdk/lock.list'),
    '# imgsdk.lock: kubler/jq\n=app-misc/jq-1.7.1::gentoo\n=dev-libs/oniguruma-6.9.9::gentoo\n',
  );
  assert.is(
    asm.files.get('kubler/glibc/portage/imgsdk/lock.list'),
    '# imgsdk.lock: kubler/glibc\n=sys-libs/glibc-2.40-r8::gentoo\n=sys-libs/timezone-data-2025b::gentoo\n',
  );
  assert.not.ok(asm.files.has('kubler/jq-conf/portage/imgsdk/lock.list'));
  assert.not.ok(assemble(G_APP).files.has('kubler/jq/portage/imgsdk/lock.list'), 'without a lock, the requested packages are emerged');
});

test('Gentoo: a new version, other USE flags or another repository change exactly the keys of the image holding the package and its descendants', () => {
  const before = gKeys(gentooLock());
  assert.equal(changed(before, gKeys(gentooLock({ onig: '6.9.10' }))), ['kubler/jq', 'kubler/jq-conf']);
  assert.equal(changed(before, gKeys(gentooLock({ jqUse: ['-oniguruma', '-test'] }))), ['kubler/jq', 'kubler/jq-conf']);
  assert.equal(changed(before, gKeys(gentooLock({ curl: '8.10.1' }))), ['kubler/curl']);
  const overlay = gentooLock();
  const moved: Lock = {
    ...overlay,
    images: {
      ...overlay.images,
      'kubler/curl': {
        ...overlay.images['kubler/curl'],
        packages: overlay.images['kubler/curl'].packages.map((p) => ({ ...p, suite: p.name === 'sys-libs/zlib' ? 'berne' : p.suite })),
      },
    },
  };
  assert.equal(changed(before, gKeys(moved)), ['kubler/curl']);
  assert.equal(changed(before, gKeys(gentooLock())), [], 'the same lock gives the same keys');
  assert.equal(
    changed(before, gKeys(null)).sort(),
    ['kubler/curl', 'kubler/glibc', 'kubler/jq', 'kubler/jq-conf'],
    'locking changes the keys of the images with packages',
  );
});

test('Gentoo: the snapshot date in the builder entry is not in any key; a changed pinned stage3 date or flavour makes the entries stale', () => {
  const a = gentooLock();
  const b: Lock = { ...a, builders: { 'kubler/bob': { ...(a.builders['kubler/bob'] as GentooBuilderLock), snapshot: '20260201' } } };
  assert.equal(changed(gKeys(a), gKeys(b)), []);
  const newer = gentoo.builder('kubler/bob', { stage3: 'amd64-hardened-nomultilib', date: '20260201T170000Z' });
  const asm = assemble([image('kubler/curl').builder(newer).packages('net-misc/curl').user('nobody')], { lock: a });
  assert.equal(
    [asm.locks.get('kubler/curl')!.status, asm.locks.get('kubler/curl')!.why],
    ['stale', 'builder kubler/bob changed (stage3, date or portage)'],
  );
  // `latest` takes the date the lock recorded.
  const latest = gentoo.builder('kubler/bob', { stage3: 'amd64-hardened-nomultilib' });
  assert.is(
    assemble([image('kubler/curl').builder(latest).packages('net-misc/curl').user('nobody')], { lock: a }).locks.get('kubler/curl')!.status,
    'locked',
  );
});

test('Gentoo: lockChanges reports a version change and a USE change, slot by slot; renderLock and parseLock keep USE', () => {
  const ch = lockChanges(gentooLock(), gentooLock({ jq: '1.8.0', jqUse: ['oniguruma'] }), ['kubler/jq']);
  assert.equal(ch, [{ image: 'kubler/jq', package: 'app-misc/jq', arch: 'amd64', locked: '1.7.1', available: '1.8.0', security: false }]);
  assert.equal(
    lockChanges(gentooLock(), gentooLock({ jqUse: ['oniguruma', 'test'] }), ['kubler/jq']).map((c) => [c.package, c.locked, c.available]),
    [['app-misc/jq', '1.7.1', '1.7.1']],
  );
  // Slots: python 3.11 and 3.12 side by side; a version bump with a new sub-slot is one change.
  const py = (v311: string, v312: string, sub = '3.12'): Lock => ({
    ...gentooLock(),
    images: {
      'kubler/jq': {
        ...gentooLock().images['kubler/jq'],
        packages: [
          { ...ebuild('dev-lang/python', v311), slot: '3.11' },
          { ...ebuild('dev-lang/python', v312), slot: sub },
        ],
      },
    },
  });
  assert.equal(
    lockChanges(py('3.11.9', '3.12.5'), py('3.11.9', '3.12.6', '3.12/1'), ['kubler/jq']).map((c) => [c.package, c.locked, c.available]),
    [['dev-lang/python', '3.12.5', '3.12.6']],
  );
  assert.equal(lockChanges(py('3.11.9', '3.12.5'), py('3.11.9', '3.12.5'), ['kubler/jq']), []);
  const text = renderLock(gentooLock());
  assert.equal(parseLock(text).images['kubler/jq'].packages[0].use, ['oniguruma', '-test']);
  assert.throws(() => parseLock(text.replace('"oniguruma"', '7')), /use\[0\] 7 is not a USE flag/);
});

test('dependents: an image, its children and the images copying from it', () => {
  const { manifest } = assemble(APP);
  assert.equal(dependents(manifest, ['acme/greet']), ['acme/copier', 'acme/greet', 'acme/greet-conf']);
  assert.equal(dependents(manifest, ['acme/other']), ['acme/other']);
});

test.run();
