import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { storeLayer } from '../../../src/runtime/image/layer';
import type { Entry } from '../../../src/runtime/store/entry';
import { StateDir } from '../../../src/runtime/store/state';

let state: StateDir;
let warned: string[];
test.before.each(() => {
  state = new StateDir(mkdtempSync(join(tmpdir(), 'imgsdk-layer-index-')));
  warned = [];
  state.warn = (l) => warned.push(l);
});
test.after.each(() => rmSync(state.root, { recursive: true, force: true }));

async function fileEntry(path: string, body: string, mode = 0o755): Promise<Entry> {
  const sha256 = await state.blobs.put(Buffer.from(body));
  return { path, type: 'file', mode, uid: 0, gid: 0, size: body.length, linkname: null, sha256, elf: null };
}
const dirEntry = (path: string): Entry => ({
  path,
  type: 'dir',
  mode: 0o755,
  uid: 0,
  gid: 0,
  size: 0,
  linkname: null,
  sha256: null,
  elf: null,
});
const indexFiles = () => readdirSync(join(state.root, 'layers', 'by-entries')).map((n) => join(state.root, 'layers', 'by-entries', n));

test('a layer already written for the same entries is reused, read but not written again, without a warning', async () => {
  const entries = [dirEntry('usr'), dirEntry('usr/bin'), await fileEntry('usr/bin/hello', 'hello\n')];
  const first = await storeLayer(state, entries, 0);
  const before = statSync(state.layerPath(first.diffId)).mtimeMs;
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(await storeLayer(state, entries, 0), first);
  assert.is(statSync(state.layerPath(first.diffId)).mtimeMs, before);
  assert.equal(warned, []);
});

test('an index edited to name another layer, of the same size even, is dropped with a warning and the right layer written', async () => {
  const hello = [dirEntry('usr'), dirEntry('usr/bin'), await fileEntry('usr/bin/hello', 'hello\n')];
  const other = [dirEntry('usr'), dirEntry('usr/bin'), await fileEntry('usr/bin/hallo', 'hallo\n')];
  const right = await storeLayer(state, hello, 0);
  const wrong = await storeLayer(state, other, 0);
  assert.is(right.uncompressedSize, wrong.uncompressedSize, 'the same size: only the content tells');
  const helloIndex = indexFiles().find((f) => readFileSync(f, 'utf8').includes(right.diffId))!;
  writeFileSync(helloIndex, JSON.stringify(wrong));
  const again = await storeLayer(state, hello, 0);
  assert.is(again.diffId, right.diffId);
  assert.is(warned.length, 1);
  assert.match(
    warned[0],
    /names layer [0-9a-f]{12}, which holds usr\/bin\/hallo where these entries have usr\/bin\/hello; dropped, writing the layer again/,
  );
  assert.ok(readFileSync(helloIndex, 'utf8').includes(right.diffId), 'the index is right again');
});

test('an index that is garbage, or names a layer that is gone or damaged, never fails the build: the layer is written again', async () => {
  const entries = [dirEntry('etc'), await fileEntry('etc/motd', 'hi\n', 0o644)];
  const info = await storeLayer(state, entries, 0);
  const [index] = indexFiles();
  for (const [damage, why] of [
    [() => writeFileSync(index, '{"diffId": garbage'), /does not parse as a layer record/],
    [() => writeFileSync(index, JSON.stringify({ ...info, diffId: 'sha256:../../x' })), /does not parse as a layer record/],
    [() => rmSync(state.layerPath(info.diffId)), /which is missing/],
    [
      () => {
        const b = readFileSync(state.layerPath(info.diffId));
        b[b.indexOf('hi\n')] = 0x48; // same size, another body
        writeFileSync(state.layerPath(info.diffId), b);
      },
      /is not the body these entries have/,
    ],
  ] as const) {
    warned = [];
    damage();
    assert.equal(await storeLayer(state, entries, 0), info);
    assert.match(warned.join('\n'), why);
  }
});

test("an index naming a layer of other entries' mtime is refused: the times are part of what is checked", async () => {
  const entries = [dirEntry('etc')];
  const at0 = await storeLayer(state, entries, 0);
  const at1 = await storeLayer(state, entries, 1);
  const index1 = indexFiles().find((f) => readFileSync(f, 'utf8').includes(at1.diffId))!;
  writeFileSync(index1, JSON.stringify(at0));
  assert.equal(await storeLayer(state, entries, 1), at1);
  assert.is(warned.length, 1);
});

test.run();
