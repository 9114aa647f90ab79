/**
 * The pipeline's input per phase-1 key: phase 1's tar read once into entries and
 * kept, so a files or config rebuild reads neither the tar nor its hash, and
 * anything damaged on the way is caught by a hash, never used.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { test } from 'uvu';
import { sha256Digest } from '../../../src/util/hash';
import * as assert from 'uvu/assert';
import { BuildError } from '../../../src/contract/errors';
import { rootfsInput } from '../../../src/runtime/rootfs/input';
import { StateDir, type RootfsRecord } from '../../../src/runtime/store/state';
import { storeLayer } from '../../../src/runtime/image/layer';
import { makeTar } from './_tar-fixture';

const KEY = 'p1'.repeat(32);

/** A state directory with a phase-1 rootfs (two files and a directory) at KEY. */
async function withRootfs(): Promise<{ state: StateDir; rec: RootfsRecord; remove: () => void }> {
  const state = new StateDir(mkdtempSync(join(tmpdir(), 'imgsdk-rootfs-input-')));
  const tar = await buffer(
    makeTar([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/os-release', body: 'ID=debian\n' },
      { name: 'usr/bin/hello', body: 'not really a program\n', mode: 0o755 },
    ]),
  );
  await mkdir(join(state.root, 'rootfs'), { recursive: true });
  await writeFile(state.rootfsPath(KEY), tar);
  const rec: RootfsRecord = {
    key: KEY,
    sha256: createHash('sha256').update(tar).digest('hex'),
    size: tar.length,
    packages: [],
    origins: { 'usr/bin/hello': 'hello' },
  };
  await state.writeRootfsRecord(rec);
  return { state, rec, remove: () => rmSync(state.root, { recursive: true, force: true }) };
}

test('the first read parses the tar and keeps the entries; the next one uses them without the tar', async () => {
  const { state, rec, remove } = await withRootfs();
  try {
    const first = await rootfsInput(state, rec, 'acme/web');
    assert.equal(
      first.entries.map((e) => [e.path, e.type, e.origin ?? null]),
      [
        ['etc', 'dir', null],
        ['etc/os-release', 'file', null],
        ['usr/bin/hello', 'file', 'hello'],
      ],
    );
    assert.match(first.rootfs.entriesSha256!, /^[0-9a-f]{64}$/);
    assert.equal(await state.readRootfs(KEY), first.rootfs, 'the record carries the entries hash');

    rmSync(state.rootfsPath(KEY));
    const again = await rootfsInput(state, first.rootfs, 'acme/web');
    assert.equal(again.entries, first.entries);
  } finally {
    remove();
  }
});

test('a record with kept entries has its tar checked by size only; one without, by hash', async () => {
  const { state, rec, remove } = await withRootfs();
  try {
    const { rootfs } = await rootfsInput(state, rec, 'acme/web');
    const tar = readFileSync(state.rootfsPath(KEY));
    tar[tar.length - 2000] ^= 1;
    writeFileSync(state.rootfsPath(KEY), tar);
    assert.equal(await state.readRootfs(KEY), rootfs, 'same size: not hashed');
    writeFileSync(state.rootfsPath(KEY), tar.subarray(0, 512));
    assert.is(await state.readRootfs(KEY), null, 'another size: gone');
  } finally {
    remove();
  }
});

test('damaged kept entries are not used: the tar is read again after its hash is checked', async () => {
  const { state, rec, remove } = await withRootfs();
  try {
    const { rootfs, entries } = await rootfsInput(state, rec, 'acme/web');
    writeFileSync(join(state.root, 'rootfs', `${KEY}.entries.json`), JSON.stringify([]));
    assert.is(await state.readRootfsEntries(rootfs), null);
    const again = await rootfsInput(state, rootfs, 'acme/web');
    assert.equal(again.entries, entries);

    const tar = readFileSync(state.rootfsPath(KEY));
    tar[600] ^= 1;
    writeFileSync(state.rootfsPath(KEY), tar);
    const err = await rootfsInput(state, again.rootfs, 'acme/web', { fresh: true }).catch((e: unknown) => e);
    assert.instance(err, BuildError);
    assert.match(
      (err as Error).message,
      /^acme\/web: the cached rootfs .* is damaged \(its content does not match its hash\): deploy -F builds it again$/,
    );
  } finally {
    remove();
  }
});

test('a build record on a cache hit: its layer file checked by size without verifyLayer, by hash with it', async () => {
  const state = new StateDir(mkdtempSync(join(tmpdir(), 'imgsdk-rootfs-input-')));
  try {
    const layer = await storeLayer(
      state,
      [{ path: 'etc', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, linkname: null, sha256: null, elf: null }],
      0,
    );
    const configJson = JSON.stringify({
      config: { Labels: { 'org.imgsdk.id': 'acme/web', 'org.imgsdk.key': KEY } },
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    });
    await state.writeBuild(
      {
        id: 'acme/web',
        key: KEY,
        imageId: sha256Digest(configJson),
        configJson,
        diffIds: [layer.diffId],
        layer: { diffId: layer.diffId, size: layer.uncompressedSize },
        size: 1,
        packages: [],
        inherited: [],
        purged: null,
        tags: [],
      },
      [],
    );
    assert.ok(await state.readBuild('acme/web', KEY));
    const bytes = readFileSync(state.layerPath(layer.diffId));
    bytes[10] ^= 1;
    writeFileSync(state.layerPath(layer.diffId), bytes);
    assert.ok(await state.readBuild('acme/web', KEY, { verifyLayer: false }), 'same size: taken');
    assert.is(await state.readBuild('acme/web', KEY), null, 'hashed: refused');
    writeFileSync(state.layerPath(layer.diffId), bytes.subarray(0, 100));
    assert.is(await state.readBuild('acme/web', KEY, { verifyLayer: false }), null, 'another size: refused');
  } finally {
    rmSync(state.root, { recursive: true, force: true });
  }
});

test.run();
