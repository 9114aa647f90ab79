import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StateDir } from '../../../src/runtime/store/state';
import { storeLayer } from '../../../src/runtime/image/layer';
import { sha256Digest } from '../../../src/util/hash';

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
  const first = s.withMutex(async () => {
    order.push('first start');
    await new Promise((r) => setTimeout(r, 300));
    order.push('first end');
  });
  await new Promise((r) => setTimeout(r, 50));
  const second = s.withMutex(async () => void order.push('second'), { onWait: () => (waited = true) });
  await Promise.all([first, second]);
  assert.equal(order, ['first start', 'first end', 'second']);
  assert.ok(waited);
  rmSync(s.root, { recursive: true });
});

test('a lock left by a dead process is taken over', async () => {
  const s = fresh();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  writeFileSync(join(s.root, 'lock'), dead);
  const r = await s.withMutex(async () => 'ran');
  assert.is(r, 'ran');
  rmSync(s.root, { recursive: true });
});

/** A config as phase 2 writes it, in the parts a build record is checked against, and its digest. */
function configOf(id: string, key: string, diffIds: string[], user?: string): { configJson: string; imageId: string } {
  const configJson = JSON.stringify({
    config: { Labels: { 'org.imgsdk.id': id, 'org.imgsdk.key': key }, ...(user ? { User: user } : {}) },
    rootfs: { type: 'layers', diff_ids: diffIds },
  });
  return { configJson, imageId: sha256Digest(configJson) };
}

async function recorded(s: StateDir): Promise<void> {
  const entries = [{ path: 'etc', type: 'dir' as const, mode: 0o755, uid: 0, gid: 0, size: 0, linkname: null, sha256: null, elf: null }];
  const layer = await storeLayer(s, entries, 0);
  await s.writeBuild(
    {
      id: 'a/b',
      key: 'k1',
      ...configOf('a/b', 'k1', [layer.diffId]),
      diffIds: [layer.diffId],
      layer: { diffId: layer.diffId, size: layer.size },
      size: 1,
      packages: [],
      inherited: [],
      purged: {},
      tags: [],
    },
    entries,
  );
}

test('a build record and its entries read back when both are intact', async () => {
  const s = fresh();
  await recorded(s);
  assert.ok(await s.readBuild('a/b', 'k1'));
  assert.equal(
    (await s.readEntries('a/b', 'k1'))!.map((e) => e.path),
    ['etc'],
  );
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

test("a build record without the hash of its entries (an older version's) is not trusted", async () => {
  const s = fresh();
  await recorded(s);
  const path = join(s.imageDir('a/b'), 'k1.json');
  const { entriesSha256: _, ...old } = JSON.parse(readFileSync(path, 'utf8'));
  writeFileSync(path, JSON.stringify(old));
  assert.is(await s.readBuild('a/b', 'k1'), null);
  rmSync(s.root, { recursive: true });
});

test('a build record that does not parse is dropped with one warning, not a SyntaxError, and the image is built again', async () => {
  const s = fresh();
  const warned: string[] = [];
  s.warn = (l) => warned.push(l);
  await recorded(s);
  const path = join(s.imageDir('a/b'), 'k1.json');
  writeFileSync(path, '{"id": "a/b", garbage');
  assert.is(await s.readBuild('a/b', 'k1'), null);
  assert.is(await s.readEntries('a/b', 'k1'), null);
  assert.is(warned.length, 1);
  assert.match(warned[0], /k1\.json does not parse as JSON; dropped/);
  assert.not.ok(existsSync(path), 'the damaged record is gone');
  rmSync(s.root, { recursive: true });
});

test("a build record is checked against what it claims: its config's digest, labels and diff ids, and its own layers", async () => {
  const path = (s: StateDir) => join(s.imageDir('a/b'), 'k1.json');
  const edits: [string, (r: Record<string, unknown>) => Record<string, unknown>, RegExp][] = [
    [
      'a config edited without its image id',
      (r) => ({ ...r, configJson: (r.configJson as string).replace('"config":{', '"config":{"User":"0",') }),
      /image id that is not the digest/,
    ],
    [
      'a consistent config of another key',
      (r) => ({ ...r, ...configOf('a/b', 'k2', r.diffIds as string[]) }),
      /config of another image or key/,
    ],
    [
      "diff ids that are not the config's",
      (r) => ({ ...r, diffIds: ['sha256:' + 'e'.repeat(64)] }),
      /diff ids that are not its config's|layers that are not the last/,
    ],
    ['a record of another key', (r) => ({ ...r, key: 'k9' }), /record of another image or key/],
    ['a layer that is not a digest', (r) => ({ ...r, layer: { diffId: '../../etc/passwd', size: 1 } }), /invalid layers/],
    ['an array', () => [] as unknown as Record<string, unknown>, /not a JSON object/],
  ];
  for (const [what, edit, why] of edits) {
    const s = fresh();
    const warned: string[] = [];
    s.warn = (l) => warned.push(l);
    await recorded(s);
    writeFileSync(path(s), JSON.stringify(edit(JSON.parse(readFileSync(path(s), 'utf8')))));
    assert.is(await s.readBuild('a/b', 'k1'), null, what);
    assert.match(warned.join('\n'), why, what);
    rmSync(s.root, { recursive: true });
  }
});

test('a layer file damaged in place (same size) is not reused: the record is not trusted and the layer dropped', async () => {
  const s = fresh();
  const warned: string[] = [];
  s.warn = (l) => warned.push(l);
  await recorded(s);
  const rec = (await s.readBuild('a/b', 'k1'))!;
  const file = s.layerPath(rec.layer.diffId);
  const bytes = readFileSync(file);
  bytes[0] ^= 0xff;
  writeFileSync(file, bytes);
  assert.is(await s.readBuild('a/b', 'k1'), null);
  assert.not.ok(existsSync(file));
  assert.match(warned.join('\n'), /does not match its diff id/);
  rmSync(s.root, { recursive: true });
});

test('a rootfs record that does not parse, or lists garbage, is dropped with a warning; its entries file too when damaged', async () => {
  const s = fresh();
  const warned: string[] = [];
  s.warn = (l) => warned.push(l);
  await s.writeEmptyRootfs('k1');
  writeFileSync(join(s.root, 'rootfs', 'k1.json'), 'garbage');
  assert.is(await s.readRootfs('k1'), null);
  const rec = await s.writeEmptyRootfs('k2');
  writeFileSync(join(s.root, 'rootfs', 'k2.json'), JSON.stringify({ ...rec, packages: 'bash' }));
  assert.is(await s.readRootfs('k2'), null);
  const k3 = await s.writeRootfsEntries(await s.writeEmptyRootfs('k3'), []);
  writeFileSync(join(s.root, 'rootfs', 'k3.entries.json'), '[{"nope": 1}]');
  assert.is(await s.readRootfsEntries(k3), null);
  assert.equal(
    warned.map((w) => w.replace(/^.*\/rootfs\//, '')),
    [
      'k1.json does not parse as JSON; dropped, building it again',
      'k2.json has no valid package list; dropped, building it again',
      'k3.entries.json does not match the hash its rootfs record holds; dropped, building it again',
    ],
  );
  rmSync(s.root, { recursive: true });
});

test.run();
