import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { executeClean, planClean, type CleanScope } from '../../../src/runtime/deploy/clean';
import { stateIdentity } from '../../../src/runtime/deploy/leftovers';
import type { ContainerInfo, Engine, ImageInfo } from '../../../src/runtime/engine/engine';

// A registry of cache users of this test's own, not the user's.
process.env.IMGSDK_USERS_DIR = mkdtempSync(join(tmpdir(), 'imgsdk-clean-users-'));

/** A fake engine: labelled images and containers in memory; removals recorded. */
function fakeEngine(): { engine: Engine; removed: string[] } {
  const removed: string[] = [];
  const images: ImageInfo[] = [
    {
      id: 'sha256:b1',
      repoTags: ['imgsdk-builder/acme-bookworm:abc'],
      labels: { 'org.imgsdk': '1', 'org.imgsdk.builder': 'acme/bookworm' },
      size: 1,
    },
    {
      id: 'sha256:i1',
      repoTags: ['acme/web:latest', 'acme/web:0123456789ab'],
      labels: { 'org.imgsdk.id': 'acme/web', 'org.imgsdk.key': 'k' },
      size: 1,
    },
    {
      id: 'sha256:i0',
      repoTags: ['acme/web:aaaaaaaaaaaa', 'acme/web:imgsdk-candidate-bbbbbbbbbbbb', 'acme/web:1.0'],
      labels: { 'org.imgsdk.id': 'acme/web', 'org.imgsdk.key': 'old' },
      size: 1,
    },
    {
      id: 'sha256:o1',
      repoTags: ['other/app:latest', 'other/app:cccccccccccc'],
      labels: { 'org.imgsdk.id': 'other/app', 'org.imgsdk.key': 'o' },
      size: 1,
    },
    {
      id: 'sha256:ob',
      repoTags: ['imgsdk-builder/other-deb:abc'],
      labels: { 'org.imgsdk': '1', 'org.imgsdk.builder': 'other/deb' },
      size: 1,
    },
    { id: 'sha256:x1', repoTags: ['someone/else:1'], labels: {}, size: 1 },
  ];
  const containers: ContainerInfo[] = [
    {
      id: 'c1',
      names: ['imgsdk-1234'],
      image: 'imgsdk-builder/acme-bookworm:abc',
      labels: { 'org.imgsdk': '1', 'org.imgsdk.state': stateIdentity(join(dir, 'state')) },
      state: 'exited',
    },
    {
      id: 'c2',
      names: ['imgsdk-5678'],
      image: 'imgsdk-builder/other-deb:abc',
      labels: { 'org.imgsdk': '1', 'org.imgsdk.state': 'another-session' },
      state: 'running',
    },
  ];
  const has = (labels: Readonly<Record<string, string>>, label?: string) => {
    if (!label) return true;
    const [k, v] = label.split('=');
    return k in labels && (v === undefined || labels[k] === v);
  };
  const engine = {
    host: 'fake',
    listImages: async (o: { label?: string } = {}) => images.filter((i) => has(i.labels, o.label)),
    listContainers: async (o: { label?: string } = {}) => containers.filter((c) => has(c.labels, o.label)),
    listVolumes: async () => [],
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

const scope: CleanScope = { ids: ['acme/web'], builders: ['acme/bookworm'], keys: { 'acme/web': '0123456789ab' + 'f'.repeat(52) } };

test("clean by default removes this app's images and builders, this state directory's containers and the directory, nothing of other apps or sessions", async () => {
  const { engine, removed } = fakeEngine();
  const plan = await planClean(engine, { stateDir: join(dir, 'state'), scope });
  assert.equal(
    plan.images.map((i) => i.id),
    ['sha256:i0', 'sha256:i1', 'sha256:b1'],
  );
  assert.equal(
    plan.containers.map((c) => c.id),
    ['c1'],
  );
  assert.is(plan.stateDir, join(dir, 'state'));
  const r = await executeClean(engine, plan);
  assert.equal(removed, ['container c1', 'image sha256:i0', 'image sha256:i1', 'image sha256:b1']);
  assert.equal(r.removed, { containers: 1, images: 3, tags: 0, volumes: 0, stateDir: true });
  assert.not.ok(existsSync(join(dir, 'state')));
});

test("without the app, the ids the state directory has records of are this app's", async () => {
  const { engine } = fakeEngine();
  mkdirSync(join(dir, 'state', 'images', 'other', 'app'), { recursive: true });
  const plan = await planClean(engine, { stateDir: join(dir, 'state') });
  assert.equal(
    plan.images.map((i) => i.id),
    ['sha256:o1'],
  );
});

test('clean --all is the engine-wide sweep of everything imgsdk-labelled', async () => {
  const { engine } = fakeEngine();
  const plan = await planClean(engine, { stateDir: join(dir, 'state'), all: true });
  assert.equal(
    plan.images.map((i) => i.id),
    ['sha256:i0', 'sha256:i1', 'sha256:b1', 'sha256:ob', 'sha256:o1'],
  );
  assert.equal(
    plan.containers.map((c) => c.id),
    ['c1', 'c2'],
  );
});

test("clean --stale untags only this app's key and candidate tags of other keys, and keeps the state directory", async () => {
  const { engine, removed } = fakeEngine();
  const plan = await planClean(engine, { stateDir: join(dir, 'state'), scope, stale: true });
  assert.equal(plan.tags, ['acme/web:aaaaaaaaaaaa', 'acme/web:imgsdk-candidate-bbbbbbbbbbbb']);
  assert.equal([plan.images.length, plan.containers.length, plan.stateDir], [0, 0, null]);
  const r = await executeClean(engine, plan);
  assert.equal(removed, ['image acme/web:aaaaaaaaaaaa', 'image acme/web:imgsdk-candidate-bbbbbbbbbbbb']);
  assert.is(r.removed.tags, 2);
  assert.ok(existsSync(join(dir, 'state')));
});

test('clean keeps builders when asked, and leaves the engine alone with stateOnly', async () => {
  const { engine, removed } = fakeEngine();
  const plan = await planClean(engine, { stateDir: join(dir, 'state'), keepBuilders: true, scope });
  assert.equal(
    plan.images.map((i) => i.id),
    ['sha256:i0', 'sha256:i1'],
  );
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
