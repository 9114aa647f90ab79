import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BUILD_SCRIPT_VERSION, BUILDER_VERSION, GENTOO_SETUP_VERSION } from '../../src/contract/assembly';
import { canonicalJson } from '../../src/contract/json';
import { debian, gentoo, type GentooBuilderProps } from '../../src/sdk/builder';
import { image, type Image } from '../../src/sdk/image';
import { builderKey, imageKey, keyInputs } from '../../src/contract/key';
import { sha256 } from '../../src/util/hash';
import { assemble } from '../../src/sdk/synth';

interface Knobs {
  readonly epoch?: number;
  readonly basePackages?: string[];
  readonly bob?: Partial<GentooBuilderProps>;
  readonly conf?: string;
  readonly tags?: string[];
}

/**
 * A small app: a chain base → mid → leaf, an image that copies from mid, a
 * sibling of base on the same builder, and an image on another builder.
 */
function keys(k: Knobs = {}): Record<string, string> {
  const bob = gentoo.builder('kubler/bob', { stage3: 'amd64-hardened-nomultilib', ...k.bob });
  const deb = debian.builder('acme/bookworm', { from: 'debian:bookworm-slim' });
  const base = image('acme/base')
    .builder(bob)
    .packages(...(k.basePackages ?? ['sys-libs/glibc']));
  const mid = image('acme/mid').from(base).packages('dev-libs/openssl');
  const leaf = image('acme/leaf')
    .from(mid)
    .packages('net-misc/curl')
    .tag(...(k.tags ?? ['1.0']));
  const copier = image('acme/copier')
    .builder(bob)
    .copy({ from: mid, paths: ['/usr/lib/libssl.so.3'] });
  const sibling = image('acme/sibling').builder(bob).packages('sys-apps/busybox');
  const web = image('acme/web')
    .builder(deb)
    .packages('nginx-light')
    .file('/etc/app.conf', k.conf ?? 'a=1\n');
  const m = assemble([leaf, copier, sibling, web], { epoch: k.epoch ?? 0 }).manifest;
  return Object.fromEntries(Object.entries(m.images).map(([id, i]) => [id, i.key]));
}

function changed(a: Record<string, string>, b: Record<string, string>): string[] {
  return Object.keys(a)
    .filter((id) => a[id] !== b[id])
    .sort();
}

test('keys are sha256 hex, differ per image and are the same on every run', () => {
  const k = keys();
  for (const v of Object.values(k)) assert.match(v, /^[0-9a-f]{64}$/);
  assert.is(new Set(Object.values(k)).size, Object.keys(k).length);
  assert.equal(keys(), k);
});

test("changing a base image's packages changes its key and every descendant's, and no other", () => {
  const before = keys();
  const after = keys({ basePackages: ['sys-libs/glibc', 'sys-libs/zlib'] });
  assert.equal(changed(before, after), ['acme/base', 'acme/copier', 'acme/leaf', 'acme/mid']);
});

test('the order of packages is part of the key (it is the install order)', () => {
  assert.equal(changed(keys({ basePackages: ['a-b/c', 'd-e/f'] }), keys({ basePackages: ['d-e/f', 'a-b/c'] })), [
    'acme/base',
    'acme/copier',
    'acme/leaf',
    'acme/mid',
  ]);
});

test("a change in a .file(path, { src }) file's content changes the key", () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-key-'));
  const src = join(dir, 'app.conf');
  const keyOf = (): string => {
    const deb = debian.builder('acme/bookworm', { from: 'debian:bookworm-slim' });
    const img = image('acme/web').builder(deb).file('/etc/app.conf', { src });
    const child = image('acme/child').from(img);
    const m = assemble(child).manifest;
    return m.images['acme/web'].key + ' ' + m.images['acme/child'].key;
  };
  writeFileSync(src, 'a=1\n');
  const one = keyOf();
  assert.is(keyOf(), one);
  writeFileSync(src, 'a=2\n');
  const two = keyOf();
  assert.is.not(two.split(' ')[0], one.split(' ')[0]);
  assert.is.not(two.split(' ')[1], one.split(' ')[1]);
});

test('a change in inline file content changes only that image', () => {
  assert.equal(changed(keys(), keys({ conf: 'a=2\n' })), ['acme/web']);
});

test('tags are not part of the key', () => {
  assert.equal(changed(keys(), keys({ tags: ['2.0', 'stable'] })), []);
});

test('a builder option change changes every image on that builder, and no other', () => {
  const before = keys();
  const all = ['acme/base', 'acme/copier', 'acme/leaf', 'acme/mid', 'acme/sibling'];
  assert.equal(changed(before, keys({ bob: { makeConf: { MAKEOPTS: '-j8' } } })), all);
  assert.equal(changed(before, keys({ bob: { date: '20241020T170324Z' } })), all);
  assert.equal(changed(before, keys({ bob: { stage3: 'amd64-nomultilib-openrc' } })), all);
});

test("a Gentoo builder's key carries the version of the Gentoo set-up; a Debian builder's does not", () => {
  const { builders } = assemble([
    image('acme/g').builder(gentoo.builder('acme/bob', { stage3: 'amd64-openrc' })),
    image('acme/d').builder(debian.builder('acme/d', { from: 'debian:bookworm-slim' })),
  ]);
  const g = builders.get('acme/bob')!;
  const d = builders.get('acme/d')!;
  const { id: _g, ...gWhat } = g;
  const { id: _d, ...dWhat } = d;
  assert.is(builderKey(g), sha256(canonicalJson({ def: gWhat, version: BUILDER_VERSION, setup: GENTOO_SETUP_VERSION })));
  assert.is(builderKey(d), sha256(canonicalJson({ def: dWhat, version: BUILDER_VERSION })));
});

test("a builder's id is a name, not an input of its key: identical definitions under two ids build images with equal keys", () => {
  const props = { suite: 'bookworm' } as const;
  const { builders, manifest } = assemble([
    image('acme/a').builder(debian.builder('acme/bookworm', props)).packages('jq'),
    image('lib/a').builder(debian.builder('lib/bookworm', props)).packages('jq'),
    image('acme/other')
      .builder(debian.builder('acme/trixie', { suite: 'trixie' }))
      .packages('jq'),
  ]);
  assert.is(builderKey(builders.get('acme/bookworm')!), builderKey(builders.get('lib/bookworm')!));
  assert.is(manifest.images['acme/a'].key, manifest.images['lib/a'].key);
  assert.is.not(builderKey(builders.get('acme/trixie')!), builderKey(builders.get('acme/bookworm')!));
});

test('key inputs name the parts, so a diff can say which one changed', () => {
  const { images, builders, manifest } = assemble(
    image('acme/a')
      .builder(debian.builder('acme/d', { from: 'debian:bookworm-slim' }))
      .env('A', '1'),
  );
  const def = images.get('acme/a')!;
  const bk = builderKey(builders.get('acme/d')!);
  assert.is(bk, manifest.builders['acme/d'].key);
  const inputs = keyInputs(def, { builder: bk, parent: null, copies: {} });
  assert.equal(
    Object.keys(inputs).sort(),
    ['builder', 'checks', 'config', 'copies', 'files', 'hooks', 'lock', 'packages', 'parent', 'portage', 'rootfs', 'script'].sort(),
  );
  assert.is(inputs.parent, 'scratch');
  assert.is(inputs.script, BUILD_SCRIPT_VERSION);
  assert.is(imageKey(def, { builder: bk, parent: null, copies: {} }), manifest.images['acme/a'].key);
  const envChanged = keyInputs({ ...def, config: { ...def.config, env: { A: '2' } } }, { builder: bk, parent: null, copies: {} });
  assert.equal(
    Object.keys(inputs).filter((k) => inputs[k] !== envChanged[k]),
    ['config'],
  );
});

test("the parent's key and the copy sources' keys enter the key", () => {
  const { images } = assemble(image('acme/a').builder(debian.builder('acme/d', { from: 'debian:bookworm-slim' })));
  const def = images.get('acme/a')!;
  const k = (parent: string | null, copies: Record<string, string>) => imageKey(def, { builder: 'b', parent, copies });
  assert.is.not(k('p1', {}), k('p2', {}));
  assert.is.not(k(null, { 'acme/x': '1' }), k(null, { 'acme/x': '2' }));
  assert.is(k(null, {}), k(null, {}));
});

test('the same image written with calls in another order where order does not matter keeps its key', () => {
  const d = debian.builder('acme/d', { from: 'debian:bookworm-slim' });
  const one: Image = image('acme/a').builder(d).env('A', '1').env('B', '2').expose(80, 443).label('x', 'y').user('nobody');
  const two: Image = image('acme/a').user('nobody').label('x', 'y').expose(443).expose(80).env('B', '2').env('A', '1').builder(d);
  assert.is(assemble(one).manifest.images['acme/a'].key, assemble(two).manifest.images['acme/a'].key);
});

test('SOURCE_DATE_EPOCH is an input of every key; 0 leaves the keys as they were before it counted', () => {
  const zero = keys({ epoch: 0 });
  const later = keys({ epoch: 1_700_000_000 });
  assert.equal(changed(zero, later), Object.keys(zero).sort());
  assert.equal(keys({ epoch: 1_700_000_000 }), later);
  const def = assemble(
    image('acme/e')
      .builder(debian.builder('acme/deb', { suite: 'bookworm' }))
      .user('nobody'),
    { epoch: 0 },
  ).images.get('acme/e')!;
  const parts = { builder: 'b', parent: null, copies: {} };
  assert.is(imageKey(def, { ...parts, epoch: 0 }), imageKey(def, parts));
  assert.is(keyInputs(def, { ...parts, epoch: 5 }).epoch, '5');
});

test('synth takes SOURCE_DATE_EPOCH from the environment and records it in the manifest', () => {
  const saved = process.env.SOURCE_DATE_EPOCH;
  try {
    process.env.SOURCE_DATE_EPOCH = '1700000000';
    const img = image('acme/e')
      .builder(debian.builder('acme/deb', { suite: 'bookworm' }))
      .user('nobody');
    const m = assemble(img).manifest;
    assert.is(m.epoch, 1_700_000_000);
    assert.is(m.images['acme/e'].inputs!.epoch, '1700000000');
    delete process.env.SOURCE_DATE_EPOCH;
    assert.is(assemble(img).manifest.epoch, undefined);
  } finally {
    if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
    else process.env.SOURCE_DATE_EPOCH = saved;
  }
});

test('a SOURCE_DATE_EPOCH a tar header cannot hold, or that is not a number, is a usage error', () => {
  const img = image('acme/e')
    .builder(debian.builder('acme/deb', { suite: 'bookworm' }))
    .user('nobody');
  for (const bad of [8_589_934_592, -1, 1.5]) {
    assert.throws(
      () => assemble(img, { epoch: bad }),
      (e: Error) => e.name === 'UsageError',
      String(bad),
    );
  }
  assert.is(assemble(img, { epoch: 8_589_934_591 }).manifest.epoch, 8_589_934_591);
  const saved = process.env.SOURCE_DATE_EPOCH;
  try {
    for (const bad of ['99999999999999', 'yesterday', '1e9']) {
      process.env.SOURCE_DATE_EPOCH = bad;
      assert.throws(
        () => assemble(img),
        (e: Error) => e.name === 'UsageError' && e.message.includes('SOURCE_DATE_EPOCH'),
        bad,
      );
    }
  } finally {
    if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
    else process.env.SOURCE_DATE_EPOCH = saved;
  }
});

test.run();
