import { existsSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { storeLayer } from '../../../src/runtime/image/layer';
import type { Entry } from '../../../src/runtime/store/entry';
import { liveKeysOf, planGc, runGc } from '../../../src/runtime/store/gc';
import { StateDir } from '../../../src/runtime/store/state';
import { sha256, sha256Digest } from '../../../src/util/hash';

const key = (n: string) => sha256(`key ${n}`);
let state: StateDir;
test.before.each(() => {
  state = new StateDir(mkdtempSync(join(tmpdir(), 'imgsdk-gc-')));
});
test.after.each(() => rmSync(state.root, { recursive: true, force: true }));

/** A build of `id` at key `k` whose layer holds one file of `body`, on the layers `parents`; written `age` seconds ago. */
async function build(id: string, k: string, body: string, age: number, parents: string[] = []): Promise<{ diffId: string; blob: string }> {
  const blob = await state.blobs.put(Buffer.from(body));
  const entries: Entry[] = [
    { path: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, size: body.length, linkname: null, sha256: blob, elf: null },
  ];
  const layer = await storeLayer(state, entries, 0);
  const diffIds = [...parents, layer.diffId];
  const configJson = JSON.stringify({
    config: { Labels: { 'org.imgsdk.id': id, 'org.imgsdk.key': k } },
    rootfs: { type: 'layers', diff_ids: diffIds },
  });
  await state.writeBuild(
    {
      id,
      key: k,
      imageId: sha256Digest(configJson),
      configJson,
      diffIds,
      layer: { diffId: layer.diffId, size: layer.uncompressedSize },
      size: 1,
      packages: [],
      inherited: [],
      purged: {},
      tags: [],
    },
    entries,
  );
  const t = Date.now() / 1000 - age;
  utimesSync(join(state.imageDir(id), `${k}.json`), t, t);
  return { diffId: layer.diffId, blob };
}

test('GC keeps the current keys and the last N builds of each image, with their layers, entries and blobs, and removes the rest', async () => {
  const base = await build('a/base', key('b1'), 'base', 100);
  const builds = [];
  for (let i = 1; i <= 5; i++) builds.push(await build('a/web', key(`w${i}`), `web ${i}`, 100 - i, [base.diffId]));
  for (const p of ['p-old', 'p-now']) await state.writeEmptyRootfs(p);
  const live = { images: { 'a/base': [key('b1')], 'a/web': [key('w5')] }, phase1: ['p-now'] };
  const plan = await planGc(state.root, live, { keep: 2 });
  const removed = plan.remove.map((f) => f.path).sort();
  // w1 and w2 are the oldest of the older builds: records, entries, layers, blobs and index go.
  for (const b of builds.slice(0, 2)) {
    assert.ok(removed.includes(`layers/${b.diffId.slice(7)}.tar`));
    assert.ok(removed.includes(`blobs/${b.blob}`));
  }
  assert.ok(removed.includes(`images/a/web/${key('w1')}.json`) && removed.includes(`images/a/web/${key('w1')}.entries.json`));
  assert.ok(removed.includes('rootfs/p-old.json') && removed.includes('rootfs/p-old.tar'));
  assert.is(removed.filter((p) => p.startsWith('layers/by-entries/')).length, 2);
  assert.is(removed.length, 2 * 5 + 2, removed.join('\n'));
  assert.ok(plan.after < plan.before);

  assert.is(await runGc(plan), plan.before - plan.after);
  // What stays is whole: the current build and the kept ones read back, the parent's layer too.
  for (const b of ['w3', 'w4', 'w5']) assert.ok(await state.readBuild('a/web', key(b)), b);
  assert.ok(await state.readBuild('a/base', key('b1')));
  assert.ok(await state.readRootfs('p-now'));
  assert.is(await state.readBuild('a/web', key('w1')), null);
  assert.equal((await planGc(state.root, live, { keep: 2 })).remove, [], 'a second GC finds nothing');
});

test("over the budget, the older builds go too: only the current keys' files stay", async () => {
  for (let i = 1; i <= 4; i++) await build('a/web', key(`w${i}`), `web ${i}`.repeat(1000), 100 - i);
  const live = { images: { 'a/web': [key('w4')] }, phase1: [] };
  const roomy = await planGc(state.root, live, { keep: 3 });
  assert.equal([roomy.remove.length, roomy.kept], [0, 3]);
  const tight = await planGc(state.root, live, { keep: 3, budget: 1 });
  assert.is(tight.kept, 0);
  await runGc(tight);
  assert.ok(await state.readBuild('a/web', key('w4')));
  for (const b of ['w1', 'w2', 'w3']) assert.not.ok(existsSync(join(state.imageDir('a/web'), `${key(b)}.json`)));
});

test('damaged records, stray layers and unnamed blobs are garbage; temp files are left to the leftover sweep', async () => {
  const { writeFileSync, mkdirSync } = await import('node:fs');
  await build('a/web', key('w1'), 'web', 10);
  mkdirSync(join(state.imageDir('a/web')), { recursive: true });
  writeFileSync(join(state.imageDir('a/web'), `${key('w2')}.json`), 'garbage');
  writeFileSync(state.layerPath('sha256:' + 'c'.repeat(64)), 'stray');
  await state.blobs.put(Buffer.from('nobody names me'));
  writeFileSync(join(state.root, 'blobs', 'x.tmp'), "a live deploy's");
  const plan = await planGc(state.root, { images: { 'a/web': [key('w1')] }, phase1: [] }, { keep: 3 });
  assert.equal(
    plan.remove.map((f) => f.path).sort(),
    [`blobs/${sha256('nobody names me')}`, `images/a/web/${key('w2')}.json`, `layers/${'c'.repeat(64)}.tar`].sort(),
  );
});

test("the live keys of a manifest are every platform's key and phase-1 key", () => {
  const live = liveKeysOf({
    'a/x': { key: 'k', phase1Key: 'p', platforms: { 'linux/arm64': { key: 'k2', phase1Key: 'p2' } } },
    'a/y': { key: 'old' },
  });
  assert.equal(live, { images: { 'a/x': ['k', 'k2'], 'a/y': ['old'] }, phase1: ['old', 'p', 'p2'] });
});

test.run();
