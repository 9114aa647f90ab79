/**
 * The plan of one image, from data only: the assembly now, what the last deploy
 * recorded, what the state directory holds and a fake view of the engine.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ImageDef, ManifestImage } from '../../../src/contract/assembly';
import { changedInputs, fileDigests, needsBuilder, planImage, type DeployedRecord, type PlanFacts } from '../../../src/runtime/deploy/plan';
import { debian } from '../../../src/sdk/builder';
import { image, type Image } from '../../../src/sdk/image';
import { assemble } from '../../../src/sdk/synth';

const deb = debian.builder('acme/bookworm', { from: 'debian:bookworm-slim' });
const other = debian.builder('acme/trixie', { from: 'debian:trixie-slim', suite: 'trixie' });
const base = image('acme/base').builder(deb).account({ user: 'web', uid: 10001 });
const web = image('acme/web')
  .from(base)
  .packages('nginx-light')
  .file('/etc/nginx/nginx.conf', 'events {}\n')
  .entrypoint('/usr/sbin/nginx')
  .user('web');

/** The manifest entry and definition of acme/web (or of `id`) in an app of `img`. */
function synthOf(img: Image, id = 'acme/web'): { m: ManifestImage; def: ImageDef } {
  const asm = assemble(img);
  return { m: asm.manifest.images[id], def: asm.images.get(id)! };
}

/** What a deploy of `img` would have recorded. */
function deployedOf(img: Image, id = 'acme/web'): DeployedRecord {
  const { m, def } = synthOf(img, id);
  return { id, key: m.key, phase1Key: m.phase1Key, parent: m.parent, builder: m.builder, inputs: m.inputs!, files: fileDigests(def.files) };
}

const now = synthOf(web);
const key12 = now.m.key.slice(0, 12);
const IMAGE_ID = 'sha256:' + 'e'.repeat(64);

/** Facts of acme/web as it is now, built and loaded, with `over` applied. */
function facts(over: Partial<PlanFacts> = {}): PlanFacts {
  return {
    id: 'acme/web',
    image: now.m,
    files: now.def.files,
    needsBuilder: true,
    built: IMAGE_ID,
    rootfs: true,
    deployed: deployedOf(web),
    engine: { id: IMAGE_ID, key: now.m.key },
    ...over,
  };
}

test('built and in the engine under its key: cached, without asking for the rootfs', () => {
  assert.equal(planImage(facts({ rootfs: false })), { action: 'cached', reason: 'an image with this key is in the engine' });
});

test('built and the engine not asked (load: false): the state directory alone decides', () => {
  assert.equal(planImage(facts({ engine: undefined })), { action: 'cached', reason: 'a build with this key is in the state directory' });
});

test('built but the image is gone from the engine: phase 2 again from the cached rootfs', () => {
  assert.equal(planImage(facts({ engine: null })), { action: 'phase2', reason: `no image acme/web:${key12} in the engine` });
});

test('built but the image is gone and so is the rootfs: phase 1 again', () => {
  assert.equal(planImage(facts({ engine: null, rootfs: false })), { action: 'phase1', reason: `no image acme/web:${key12} in the engine` });
});

test("the engine's image under the tag is another one than the build record's: rebuilt", () => {
  const expected = { action: 'phase2', reason: 'the image in the engine does not match the build record' };
  assert.equal(planImage(facts({ engine: { id: 'sha256:' + 'f'.repeat(64), key: now.m.key } })), expected);
  assert.equal(planImage(facts({ engine: { id: IMAGE_ID, key: 'another key' } })), expected);
  assert.equal(planImage(facts({ engine: { id: IMAGE_ID, key: null } })), expected);
});

test('a .file() edited since the last deploy: phase 2 only, naming the file', () => {
  const before = deployedOf(web.file('/etc/nginx/nginx.conf', 'events { worker_connections 64; }\n'));
  assert.equal(planImage(facts({ built: null, deployed: before })), { action: 'phase2', reason: 'files changed (/etc/nginx/nginx.conf)' });
});

test('an env var and the entrypoint changed: phase 2 only, naming the config', () => {
  const before = deployedOf(web.env('A', '1').entrypoint('/bin/true'));
  assert.equal(planImage(facts({ built: null, deployed: before })), {
    action: 'phase2',
    reason: 'config (entrypoint, env, user, labels, …)',
  });
});

test('the packages changed (no rootfs at the new phase-1 key): phase 1, naming the packages', () => {
  const before = deployedOf(
    image('acme/web')
      .from(base)
      .packages('nginx-light', 'curl')
      .file('/etc/nginx/nginx.conf', 'events {}\n')
      .entrypoint('/usr/sbin/nginx')
      .user('web'),
  );
  assert.equal(planImage(facts({ built: null, rootfs: false, deployed: before })), { action: 'phase1', reason: 'packages' });
});

test('never deployed: phase 1, no build record', () => {
  assert.equal(planImage(facts({ built: null, rootfs: false, deployed: null, engine: null })), {
    action: 'phase1',
    reason: 'no build record in the state directory',
  });
});

test('deployed at this very key but the build record is gone (state directory cleaned): no build record', () => {
  assert.equal(planImage(facts({ built: null })), { action: 'phase2', reason: 'no build record in the state directory' });
});

test('an image that installs nothing and runs no hook needs no rootfs from a container: phase 2', () => {
  assert.equal(planImage(facts({ built: null, rootfs: false, deployed: null, needsBuilder: false })), {
    action: 'phase2',
    reason: 'no build record in the state directory',
  });
});

test('-f redoes phase 2 of a cached image; -F redoes phase 1 too, though the rootfs is cached', () => {
  assert.equal(planImage(facts({ force: 'phase2' })), { action: 'phase2', reason: 'forced (phase 2)' });
  assert.equal(planImage(facts({ force: 'phase2', rootfs: false })), { action: 'phase1', reason: 'forced (phase 2)' });
  assert.equal(planImage(facts({ force: 'phase1' })), { action: 'phase1', reason: 'forced (phase 1 and 2)' });
});

test('changed inputs name a file added and a file removed', () => {
  const before = deployedOf(web.file('/etc/motd', 'hi\n'));
  const after = synthOf(web.file('/etc/issue', 'hello\n'));
  assert.equal(changedInputs(after.m, before, after.def.files), ['files changed (/etc/issue added, /etc/motd removed)']);
  assert.equal(changedInputs(after.m, before), ['files'], 'without the definitions: the input only');
});

test('changed inputs name a new parent, a new builder and a changed parent', () => {
  const alone = image('acme/web')
    .builder(deb)
    .packages('nginx-light')
    .file('/etc/nginx/nginx.conf', 'events {}\n')
    .entrypoint('/usr/sbin/nginx')
    .user('nobody');
  assert.equal(changedInputs(now.m, deployedOf(alone), now.def.files), [
    'config (entrypoint, env, user, labels, …)',
    'parent changed from scratch to acme/base',
  ]);
  const moved = synthOf(
    image('acme/web')
      .builder(other)
      .packages('nginx-light')
      .file('/etc/nginx/nginx.conf', 'events {}\n')
      .entrypoint('/usr/sbin/nginx')
      .user('nobody'),
  );
  assert.equal(changedInputs(moved.m, deployedOf(alone)), ['builder changed from acme/bookworm to acme/trixie']);
  const baseChanged = image('acme/base').builder(deb).account({ user: 'web', uid: 10002 });
  const before = deployedOf(
    image('acme/web')
      .from(baseChanged)
      .packages('nginx-light')
      .file('/etc/nginx/nginx.conf', 'events {}\n')
      .entrypoint('/usr/sbin/nginx')
      .user('web'),
  );
  assert.equal(changedInputs(now.m, before), ['parent acme/base changed']);
});

test('changed inputs of a record written before inputs were recorded say so', () => {
  assert.equal(changedInputs(now.m, { ...deployedOf(web), key: 'old', inputs: null }), [
    'key changed (inputs not recorded by the older version that wrote the baseline)',
  ]);
});

test('needsBuilder: packages, hooks or downloads need a container; files and accounts alone do not', () => {
  assert.ok(needsBuilder(now.def));
  assert.not.ok(needsBuilder(synthOf(base, 'acme/base').def));
  assert.ok(needsBuilder(synthOf(image('acme/hooked').builder(deb).finishRootfs('mkdir -p "$ROOT/x"'), 'acme/hooked').def));
});

test.run();
