import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StateDir } from '../../../src/runtime/store/state';
import { storeLayer } from '../../../src/runtime/image/layer';

function fresh(): StateDir {
  return new StateDir(mkdtempSync(join(tmpdir(), 'imgsdk-state-')));
}

test('a cached rootfs is read back when its hash matches', async () => {
  const s = fresh();
  const rec = await s.writeEmptyRootfs('k1');
  assert.equal(await s.readRootfs('k1'), rec);
  rmSync(s.root, { recursive: true });
});

test('a corrupt cached rootfs is dropped, so it is rebuilt', async () => {
  const s = fresh();
  await s.writeEmptyRootfs('k1');
  writeFileSync(s.rootfsPath('k1'), 'not the tar that was recorded');
  assert.is(await s.readRootfs('k1'), null);
  assert.equal(readdirSync(join(s.root, 'rootfs')), [], 'both the tar and its record are gone');
  rmSync(s.root, { recursive: true });
});

test('a second holder of the lock waits until the first releases it', async () => {
  const s = fresh();
  const order: string[] = [];
  let waited = false;
  const first = s.withLock(async () => {
    order.push('first start');
    await new Promise((r) => setTimeout(r, 300));
    order.push('first end');
  });
  await new Promise((r) => setTimeout(r, 50));
  const second = s.withLock(async () => void order.push('second'), { onWait: () => (waited = true) });
  await Promise.all([first, second]);
  assert.equal(order, ['first start', 'first end', 'second']);
  assert.ok(waited);
  rmSync(s.root, { recursive: true });
});

test('a lock left by a dead process is taken over', async () => {
  const s = fresh();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  writeFileSync(join(s.root, 'lock'), dead);
  const r = await s.withLock(async () => 'ran');
  assert.is(r, 'ran');
  rmSync(s.root, { recursive: true });
});

async function recorded(s: StateDir): Promise<void> {
  const entries = [{ path: 'etc', type: 'dir' as const, mode: 0o755, uid: 0, gid: 0, size: 0, linkname: null, sha256: null, elf: null }];
  const layer = await storeLayer(s, entries, 0);
  await s.writeBuild(
    { id: 'a/b', key: 'k1', imageId: 'sha256:x', configJson: '{}', diffIds: [layer.diffId], layer: { diffId: layer.diffId, size: layer.size }, size: 1, packages: [], inherited: [], purged: {}, tags: [] },
    entries,
  );
}

test('a build record and its entries read back when both are intact', async () => {
  const s = fresh();
  await recorded(s);
  assert.ok(await s.readBuild('a/b', 'k1'));
  assert.equal((await s.readEntries('a/b', 'k1'))!.map((e) => e.path), ['etc']);
  rmSync(s.root, { recursive: true });
});

test('entries that do not match the hash in the build record are not used: the image is built again', async () => {
  const s = fresh();
  await recorded(s);
  // Valid JSON, wrong content: only the hash can tell.
  writeFileSync(join(s.imageDir('a/b'), 'k1.entries.json'), JSON.stringify([{ path: 'usr/lib/x86_64-linux-gnu', type: 'file' }]));
  assert.is(await s.readBuild('a/b', 'k1'), null);
  assert.is(await s.readEntries('a/b', 'k1'), null);
  writeFileSync(join(s.imageDir('a/b'), 'k1.entries.json'), 'garbage');
  assert.is(await s.readEntries('a/b', 'k1'), null);
  rmSync(s.root, { recursive: true });
});

test('a build record without the hash of its entries (an older version\'s) is not trusted', async () => {
  const s = fresh();
  await recorded(s);
  const path = join(s.imageDir('a/b'), 'k1.json');
  const { entriesSha256: _, ...old } = JSON.parse(readFileSync(path, 'utf8'));
  writeFileSync(path, JSON.stringify(old));
  assert.is(await s.readBuild('a/b', 'k1'), null);
  rmSync(s.root, { recursive: true });
});

test.run();
