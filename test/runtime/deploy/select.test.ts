import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { debian, image } from '../../../src';
import type { LoadedAssembly } from '../../../src/contract/read';
import { select } from '../../../src/runtime/deploy/deploy';
import { imageTagsOf } from '../../../src/runtime/deploy/targets';
import { assemble } from '../../../src/sdk/synth';

const b = debian.builder('t/bookworm');
const base = image('t/base').builder(b);
const a = image('t/a').from(base).tag('1.0');
const c = image('t/c').from(a);
const other = image('u/other').builder(b);
const asm = assemble([c, other]);
const loaded: LoadedAssembly = { dir: '/nowhere', manifest: asm.manifest, images: asm.images };

test('no selection means every image, in build order', () => {
  assert.equal(select(loaded, [], false), ['t/base', 'u/other', 't/a', 't/c']);
});

test('a selected image brings its dependencies along', () => {
  assert.equal(select(loaded, ['t/c'], false), ['t/base', 't/a', 't/c']);
});

test('--exclusively builds only what is named', () => {
  assert.equal(select(loaded, ['t/c'], true), ['t/c']);
});

test('globs select by id', () => {
  assert.equal(select(loaded, ['u/*'], true), ['u/other']);
});

test('a pattern that matches nothing is a usage error naming the images', () => {
  assert.throws(() => select(loaded, ['t/nope'], false), /no image matches "t\/nope"/);
});

test('tags are latest, the key prefix and the image own tags', () => {
  const key = asm.manifest.images['t/a'].key.slice(0, 12);
  assert.equal(imageTagsOf(loaded, 't/a'), ['t/a:latest', `t/a:${key}`, 't/a:1.0']);
});

test.run();
