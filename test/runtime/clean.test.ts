import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { executeClean, planClean } from '../../src/runtime/clean';
import type { ContainerInfo, Engine, ImageInfo } from '../../src/runtime/engine/engine';

/** A fake engine: labelled images and containers in memory; removals recorded. */
function fakeEngine(): { engine: Engine; removed: string[] } {
  const removed: string[] = [];
  const images: ImageInfo[] = [
    { id: 'sha256:b1', repoTags: ['imgsdk-builder/acme-bookworm:abc'], labels: { 'org.imgsdk': '1', 'org.imgsdk.builder': 'acme/bookworm' }, size: 1 },
    { id: 'sha256:i1', repoTags: ['acme/web:latest', 'acme/web:0123456789ab'], labels: { 'org.imgsdk.id': 'acme/web', 'org.imgsdk.key': 'k' }, size: 1 },
    { id: 'sha256:x1', repoTags: ['someone/else:1'], labels: {}, size: 1 },
  ];
  const containers: ContainerInfo[] = [{ id: 'c1', names: ['imgsdk-1234'], image: 'imgsdk-builder/acme-bookworm:abc', labels: { 'org.imgsdk': '1' }, state: 'exited' }];
  const has = (labels: Readonly<Record<string, string>>, label?: string) => !label || label in labels;
  const engine = {
    host: 'fake',
    listImages: async (o: { label?: string } = {}) => images.filter((i) => has(i.labels, o.label)),
    listContainers: async (o: { label?: string } = {}) => containers.filter((c) => has(c.labels, o.label)),
    removeContainer: async (id: string) => (removed.push(`container ${id}`), true),
    removeImage: async (id: string) => (removed.push(`image ${id}`), true),
  } as unknown as Engine;
  return { engine, removed };
}

let dir: string;
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'imgsdk-clean-'));
  mkdirSync(join(dir, 'state', 'rootfs'), { recursive: true });
  writeFileSync(join(dir, 'state', 'rootfs', 'k.tar'), 'x');
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

test('clean plans and removes imgsdk containers, labelled images (builders included) and the state directory, nothing else', async () => {
  const { engine, removed } = fakeEngine();
  const plan = await planClean(engine, { stateDir: join(dir, 'state') });
  assert.equal(plan.images.map((i) => i.id), ['sha256:i1', 'sha256:b1']);
  assert.equal(plan.containers.map((c) => c.id), ['c1']);
  assert.is(plan.stateDir, join(dir, 'state'));
  const r = await executeClean(engine, plan);
  assert.equal(removed, ['container c1', 'image sha256:i1', 'image sha256:b1']);
  assert.equal(r.removed, { containers: 1, images: 2, stateDir: true });
  assert.not.ok(existsSync(join(dir, 'state')));
});

test('clean keeps builders when asked, and leaves the engine alone with stateOnly', async () => {
  const { engine, removed } = fakeEngine();
  const plan = await planClean(engine, { stateDir: join(dir, 'state'), keepBuilders: true });
  assert.equal(plan.images.map((i) => i.id), ['sha256:i1']);
  const only = await planClean(engine, { stateDir: join(dir, 'state'), stateOnly: true });
  assert.equal([only.images.length, only.containers.length], [0, 0]);
  await executeClean(null, only);
  assert.equal(removed, []);
  assert.not.ok(existsSync(join(dir, 'state')));
});

test('a missing state directory is not planned', async () => {
  const plan = await planClean(null, { stateDir: join(dir, 'nope') });
  assert.is(plan.stateDir, null);
});

test.run();
