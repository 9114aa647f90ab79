/**
 * The two keys of an image: the phase-1 key covers only what the builder container
 * reads, the image key adds the rest. A change reruns phase 1 only when it changes
 * the phase-1 key.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { phase1View, type ImageDef } from '../../src/contract/assembly';
import { debian, gentoo } from '../../src/sdk/builder';
import { image, type Image } from '../../src/sdk/image';
import { phase1Inputs, phase1Key } from '../../src/contract/key';
import { assemble } from '../../src/sdk/synth';

const deb = debian.builder('acme/bookworm', { from: 'debian:bookworm-slim' });
const bob = gentoo.builder('kubler/bob', { stage3: 'amd64-hardened-nomultilib' });

interface Keys {
  readonly key: string;
  readonly phase1: string;
}

/** Keys of a Debian chain base → web and a Gentoo image, with `change` applied to one of them. */
function keysWith(
  change: { base?: (i: Image) => Image; web?: (i: Image) => Image; gentoo?: (i: Image) => Image; suite?: string; epoch?: number } = {},
): Record<string, Keys> {
  const builder = change.suite ? debian.builder('acme/bookworm', { from: 'debian:bookworm-slim', suite: change.suite }) : deb;
  const base = (change.base ?? ((i) => i))(image('acme/base').builder(builder).packages('libc6').account({ user: 'web', uid: 10001 }));
  const web = (change.web ?? ((i) => i))(
    image('acme/web')
      .from(base)
      .packages('nginx-light')
      .file('/etc/nginx/nginx.conf', 'events {}\n')
      .entrypoint('/usr/sbin/nginx')
      .env('A', '1')
      .user('web'),
  );
  const gen = (change.gentoo ?? ((i) => i))(image('kubler/tool').builder(bob).packages('app-misc/jq').account({ user: 'tool', uid: 2000 }));
  const m = assemble([web, gen], { epoch: change.epoch ?? 0 }).manifest;
  return Object.fromEntries(Object.entries(m.images).map(([id, i]) => [id, { key: i.key, phase1: i.phase1Key! }]));
}

/** Which keys differ from the unchanged app: `id key` and `id phase1`, sorted. */
function moved(change: Parameters<typeof keysWith>[0]): string[] {
  const a = keysWith();
  const b = keysWith(change);
  const out: string[] = [];
  for (const id of Object.keys(a)) {
    if (a[id].key !== b[id].key) out.push(`${id} key`);
    if (a[id].phase1 !== b[id].phase1) out.push(`${id} phase1`);
  }
  return out.sort();
}

test('phase-1 keys are sha256 hex, differ from the image keys and are the same on every run', () => {
  const k = keysWith();
  for (const v of Object.values(k)) {
    assert.match(v.phase1, /^[0-9a-f]{64}$/);
    assert.is.not(v.phase1, v.key);
  }
  assert.equal(keysWith(), k);
});

const imageOnly: [string, Parameters<typeof keysWith>[0]][] = [
  ['a .file() content', { web: (i) => i.file('/etc/nginx/nginx.conf', 'events {}\n# edited\n') }],
  ['a new .file()', { web: (i) => i.file('/etc/motd', 'hi\n') }],
  ['an env var', { web: (i) => i.env('A', '2') }],
  ['the entrypoint', { web: (i) => i.entrypoint('/usr/sbin/nginx', '-g', 'daemon off;') }],
  ['a label', { web: (i) => i.label('org.opencontainers.image.title', 'web') }],
  ['the exposed ports', { web: (i) => i.expose(8080) }],
  ['purge globs', { web: (i) => i.purge('/usr/share/nginx/**') }],
  ['kept categories', { web: (i) => i.keep('docs') }],
  ['a test', { web: (i) => i.test('nginx -v') }],
  ['.debug()', { web: (i) => i.debug() }],
  ['an account of a Debian image', { web: (i) => i.account({ user: 'extra', uid: 10002 }) }],
  ['needed sonames', { web: (i) => i.needs('libz.so.1') }],
];
for (const [what, change] of imageOnly) {
  test(`${what} changes the image key and leaves the phase-1 key as it was`, () => {
    assert.equal(moved(change), ['acme/web key']);
  });
}

test("a parent's .file() changes the child's image key but no phase-1 key", () => {
  assert.equal(moved({ base: (i) => i.file('/etc/motd', 'hi\n') }), ['acme/base key', 'acme/web key']);
});

test('SOURCE_DATE_EPOCH changes every image key and no phase-1 key (phase 1 output is normalized later)', () => {
  assert.equal(moved({ epoch: 1_700_000_000 }), ['acme/base key', 'acme/web key', 'kubler/tool key']);
});

test('tags change neither key', () => {
  assert.equal(moved({ web: (i) => i.tag('1.0') }), []);
});

const phase1: [string, Parameters<typeof keysWith>[0], string[]][] = [
  ['the packages', { web: (i) => i.packages('curl') }, ['acme/web key', 'acme/web phase1']],
  ['a configure-builder hook', { web: (i) => i.configureBuilder('echo hi') }, ['acme/web key', 'acme/web phase1']],
  ['a configure-rootfs hook', { web: (i) => i.configureRootfs('echo hi') }, ['acme/web key', 'acme/web phase1']],
  ['a finish-rootfs hook', { web: (i) => i.finishRootfs('echo hi') }, ['acme/web key', 'acme/web phase1']],
  ["a parent's packages", { base: (i) => i.packages('zlib1g') }, ['acme/base key', 'acme/base phase1', 'acme/web key', 'acme/web phase1']],
  ["the builder's suite (the apt sources)", { suite: 'trixie' }, ['acme/base key', 'acme/base phase1', 'acme/web key', 'acme/web phase1']],
  ['USE flags', { gentoo: (i) => i.use('app-misc/jq', '-oniguruma') }, ['kubler/tool key', 'kubler/tool phase1']],
  ['a download', { gentoo: (i) => i.download('https://example.org/x.tar.gz', 'a'.repeat(64)) }, ['kubler/tool key', 'kubler/tool phase1']],
  ['make.conf', { gentoo: (i) => i.makeConf({ MAKEOPTS: '-j4' }) }, ['kubler/tool key', 'kubler/tool phase1']],
  // portage.sh creates them in the builder before emerging: an ebuild's fowners resolves them there.
  ['an account of a Gentoo image', { gentoo: (i) => i.account({ user: 'extra', uid: 2001 }) }, ['kubler/tool key', 'kubler/tool phase1']],
];
for (const [what, change, expected] of phase1) {
  test(`${what} changes the phase-1 key (and the image key), and the descendants' too`, () => {
    assert.equal(moved(change), expected);
  });
}

function def(): ImageDef {
  return assemble(image('acme/web').builder(deb).packages('nginx-light')).images.get('acme/web')!;
}

test('the locked versions phase 1 installs are in the phase-1 key', () => {
  const parts = { builder: 'b'.repeat(64), kind: 'debian' as const, parent: null };
  const pin = { name: 'nginx-light', version: '1.22.1-9', arch: 'amd64', sha256: 'c'.repeat(64) };
  const unpinned = phase1Key(def(), parts);
  const pinned = phase1Key(def(), { ...parts, pins: [pin] });
  assert.is.not(pinned, unpinned);
  assert.is.not(phase1Key(def(), { ...parts, pins: [{ ...pin, version: '1.22.1-9+deb12u1' }] }), pinned);
  assert.is(phase1Key(def(), { ...parts, pins: [] }), unpinned);
});

test('everything the builder container is given of the definition is an input of the phase-1 key', () => {
  for (const kind of ['debian', 'gentoo'] as const) {
    const view = phase1View(def(), kind);
    const inputs = phase1Inputs(def(), { builder: 'b'.repeat(64), kind, parent: null });
    for (const k of Object.keys(view)) if (k !== 'id') assert.ok(k in inputs, `${kind}: ${k} goes into the container but not into the key`);
    assert.not.ok('files' in view || 'config' in view, 'files and config are not given to the container');
  }
  assert.ok('accounts' in phase1View(def(), 'gentoo'));
  assert.not.ok('accounts' in phase1View(def(), 'debian'));
});

test.run();
