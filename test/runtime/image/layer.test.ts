import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { extract, type Header } from 'tar-stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RootfsError } from '../../../src/contract/errors';
import { storeLayer, writeLayer, writeLayerFile } from '../../../src/runtime/image/layer';
import { layerSplit } from '../../../src/runtime/image/phase2';
import { StateDir } from '../../../src/runtime/store/state';
import { BlobStore, DamagedBlobError } from '../../../src/runtime/store/blobs';
import type { Entry } from '../../../src/runtime/store/entry';

const MTIME = 1_700_000_000;
let tmp: string;
let blobs: BlobStore;

test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'imgsdk-layer-'));
  blobs = new BlobStore(join(tmp, 'blobs'));
});
test.after(() => rm(tmp, { recursive: true, force: true }));

function entry(path: string, type: Entry['type'], extra: Partial<Entry> = {}): Entry {
  return { path, type, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, size: 0, linkname: null, sha256: null, elf: null, ...extra };
}

async function rootfs(): Promise<Entry[]> {
  const hello = Buffer.from('hello\n');
  const big = Buffer.alloc(70_000, 'x'); // several chunks, so backpressure is exercised
  return [
    entry('etc', 'dir'),
    entry('etc/hello', 'file', { size: hello.length, sha256: await blobs.put(hello) }),
    entry('etc/hello-again', 'hardlink', { linkname: 'etc/hello' }),
    entry('etc/shadow', 'file', { mode: 0, size: 0 }),
    entry('usr', 'dir'),
    entry('usr/bin', 'dir', { mode: 0o1777, uid: 1000, gid: 1001 }),
    entry('usr/bin/big', 'file', { mode: 0o4755, uid: 1000, gid: 1001, size: big.length, sha256: await blobs.put(big) }),
    entry('usr/bin/sh', 'symlink', { mode: 0o777, linkname: 'big' }),
  ];
}

async function toBuffer(entries: readonly Entry[], opts: { mtime: number; gzip?: boolean }) {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const info = await writeLayer(entries, blobs, out, opts);
  return { info, bytes: Buffer.concat(chunks) };
}

async function headers(tar: Buffer): Promise<Header[]> {
  const ex = extract();
  const found: Header[] = [];
  const done = (async () => {
    for await (const e of ex) {
      found.push(e.header);
      e.resume();
    }
  })();
  ex.end(tar);
  await done;
  return found;
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

test('the same entries written twice give byte-identical tars and digests', async () => {
  const entries = await rootfs();
  const a = await toBuffer(entries, { mtime: MTIME });
  const b = await toBuffer(entries, { mtime: MTIME });
  assert.ok(a.bytes.equals(b.bytes));
  assert.equal(a.info, b.info);
  assert.is(a.info.diffId, sha(a.bytes));
  assert.is(a.info.digest, a.info.diffId);
  assert.is(a.info.size, a.bytes.length);
  assert.is(a.info.uncompressedSize, a.bytes.length);
});

test('gzip output is byte-identical too, and its diffId is the plain tar digest', async () => {
  const entries = await rootfs();
  const plain = await toBuffer(entries, { mtime: MTIME });
  const a = await toBuffer(entries, { mtime: MTIME, gzip: true });
  const b = await toBuffer(entries, { mtime: MTIME, gzip: true });
  assert.ok(a.bytes.equals(b.bytes));
  assert.is(a.info.digest, sha(a.bytes));
  assert.is(a.info.size, a.bytes.length);
  assert.is(a.info.diffId, plain.info.diffId);
  assert.is(a.info.uncompressedSize, plain.bytes.length);
  assert.ok(gunzipSync(a.bytes).equals(plain.bytes));
  // gzip header: magic, deflate, no flags, MTIME 0, XFL 0 (level 6), OS 3 (Unix).
  assert.equal([...a.bytes.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
});

test('a different mtime changes the digest', async () => {
  const entries = await rootfs();
  const a = await toBuffer(entries, { mtime: MTIME });
  const b = await toBuffer(entries, { mtime: MTIME + 1 });
  assert.is.not(a.info.diffId, b.info.diffId);
});

test('headers carry the given names, types, modes, owners and mtime, nothing from the host', async () => {
  const { bytes } = await toBuffer(await rootfs(), { mtime: MTIME });
  const hs = await headers(bytes);
  const brief = hs.map((h) => [h.name, h.type, h.mode, h.uid, h.gid, h.mtime.getTime() / 1000, h.linkname ?? null, h.uname, h.gname]);
  assert.equal(brief, [
    ['etc/', 'directory', 0o755, 0, 0, MTIME, null, '', ''],
    ['etc/hello', 'file', 0o644, 0, 0, MTIME, null, '', ''],
    ['etc/hello-again', 'link', 0o644, 0, 0, MTIME, 'etc/hello', '', ''],
    ['etc/shadow', 'file', 0, 0, 0, MTIME, null, '', ''],
    ['usr/', 'directory', 0o755, 0, 0, MTIME, null, '', ''],
    ['usr/bin/', 'directory', 0o1777, 1000, 1001, MTIME, null, '', ''],
    ['usr/bin/big', 'file', 0o4755, 1000, 1001, MTIME, null, '', ''],
    ['usr/bin/sh', 'symlink', 0o777, 0, 0, MTIME, 'big', '', ''],
  ]);
  assert.is(hs[6].size, 70_000);
});

test('the bytes match a pinned fixture digest (a change here must be deliberate)', async () => {
  const hello = Buffer.from('hello\n');
  const entries = [
    entry('etc', 'dir'),
    entry('etc/hello', 'file', { size: hello.length, sha256: await blobs.put(hello) }),
    entry('bin', 'symlink', { mode: 0o777, linkname: 'usr/bin' }),
  ];
  const { info } = await toBuffer(entries, { mtime: 0 });
  assert.is(info.diffId, PINNED_DIFF_ID);
  assert.is(info.uncompressedSize, 512 * 4 + 1024); // 3 headers, 1 data block, end marker
});

test('ids beyond the ustar range are carried in a pax record', async () => {
  const { bytes } = await toBuffer([entry('data', 'dir', { uid: 1_000_000, gid: 2_000_000 })], { mtime: MTIME });
  const [h] = await headers(bytes);
  assert.is(h.name, 'data/');
  // tar-stream's extract applies only path/linkpath/size from pax; GNU tar and Go's
  // archive/tar (the engine) apply uid and gid too.
  assert.equal(h.pax, { path: 'data/', uid: '1000000', gid: '2000000' });
});

test('long and non-ASCII paths survive (pax path records)', async () => {
  const long = 'a/'.repeat(90) + 'é-file';
  const { bytes } = await toBuffer([entry(long, 'file')], { mtime: MTIME });
  const [h] = await headers(bytes);
  assert.is(h.name, long);
});

test('writeLayerFile renames into place and leaves no temp file', async () => {
  const dir = join(tmp, 'out');
  const info = await writeLayerFile(await rootfs(), blobs, join(dir, 'layer.tar.gz'), { mtime: MTIME, gzip: true });
  assert.equal(await readdir(dir), ['layer.tar.gz']);
  assert.is(sha(await readFile(join(dir, 'layer.tar.gz'))), info.digest);
  const viaPath = await writeLayer(await rootfs(), blobs, join(dir, 'again.tar.gz'), { mtime: MTIME, gzip: true });
  assert.equal(viaPath, info);
});

test('a missing blob fails naming the path, and no file is left behind', async () => {
  const dir = join(tmp, 'fail');
  const bad = [entry('etc', 'dir'), entry('etc/gone', 'file', { size: 3, sha256: 'ab'.repeat(32) })];
  try {
    await writeLayerFile(bad, blobs, join(dir, 'layer.tar'), { mtime: MTIME });
    assert.unreachable('should have failed');
  } catch (err) {
    assert.instance(err, RootfsError);
    assert.match((err as Error).message, /^etc\/gone: /);
  }
  assert.equal(await readdir(dir), []);
});

test('a blob of the wrong size and a link without a target are refused', async () => {
  const sha256 = await blobs.put(Buffer.from('four'));
  for (const bad of [entry('f', 'file', { size: 3, sha256 }), entry('l', 'symlink')]) {
    try {
      await toBuffer([bad], { mtime: MTIME });
      assert.unreachable('should have failed');
    } catch (err) {
      assert.instance(err, RootfsError);
      assert.match((err as Error).message, new RegExp(`^${bad.path}: `));
    }
  }
});

test('a blob damaged on disk fails the layer naming the path, is dropped, and leaves no file', async () => {
  const dir = join(tmp, 'damaged');
  const body = Buffer.alloc(100_000, 'd');
  const sha256 = await blobs.put(body);
  const flipped = Buffer.from(body);
  flipped[50_000] = 0x65;
  await writeFile(blobs.path(sha256), flipped);
  const err = await writeLayerFile([entry('big', 'file', { size: body.length, sha256 })], blobs, join(dir, 'layer.tar'), {
    mtime: MTIME,
  }).catch((e: unknown) => e);
  assert.instance(err, DamagedBlobError);
  assert.match((err as Error).message, /^big: blob [0-9a-f]{12} in the state directory is damaged/);
  assert.not.ok(await blobs.has(sha256), 'the damaged blob is dropped');
  assert.equal(await readdir(dir), []);
});

// tar-stream 3.2.2 output for the fixture above; GNU tar lists it as written.
const PINNED_DIFF_ID = 'sha256:e37d4099db3abea08dbb23a929b468663a462f90f5d2f502d2178dd9a8dce925';

test('files of one inode group are linked to the first of them in layer order, whatever the builder linked to', async () => {
  const body = Buffer.from('bzip2 body');
  const sha256 = await blobs.put(body);
  // bunzip2 sorts before bzip2, the file the builder's hardlinks pointed at.
  const f = (path: string) => entry(path, 'file', { mode: 0o755, size: body.length, sha256, inode: 'usr/bin/bzip2' });
  const { bytes } = await toBuffer(
    [entry('usr', 'dir'), entry('usr/bin', 'dir'), f('usr/bin/bunzip2'), f('usr/bin/bzcat'), f('usr/bin/bzip2')],
    { mtime: MTIME },
  );
  const hs = await headers(bytes);
  const by = new Map(hs.map((h) => [h.name, h]));
  assert.is(by.get('usr/bin/bunzip2')?.type, 'file');
  assert.is(by.get('usr/bin/bunzip2')?.size, body.length);
  assert.is(by.get('usr/bin/bzcat')?.type, 'link');
  assert.is(by.get('usr/bin/bzcat')?.linkname, 'usr/bin/bunzip2');
  assert.is(by.get('usr/bin/bzip2')?.linkname, 'usr/bin/bunzip2');
});

test('a file whose group lost its other members (purged, slimmed, in another layer) is written whole', async () => {
  const body = Buffer.from('perl');
  const sha256 = await blobs.put(body);
  const { bytes } = await toBuffer(
    [
      entry('usr', 'dir'),
      entry('usr/bin', 'dir'),
      entry('usr/bin/perl5.36.0', 'file', { mode: 0o755, size: body.length, sha256, inode: 'usr/bin/perl' }),
    ],
    { mtime: MTIME },
  );
  const h = (await headers(bytes)).find((x) => x.name === 'usr/bin/perl5.36.0')!;
  assert.is(h.type, 'file');
  assert.is(h.size, body.length);
});

test('a kept file capability is written as its pax record, which a reader gets back unchanged', async () => {
  const body = Buffer.from('ping');
  const caps = '\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00';
  const { bytes } = await toBuffer(
    [
      entry('usr', 'dir'),
      entry('usr/bin', 'dir'),
      entry('usr/bin/ping', 'file', { mode: 0o755, size: body.length, sha256: await blobs.put(body), caps }),
    ],
    { mtime: MTIME },
  );
  const h = (await headers(bytes)).find((x) => x.name === 'usr/bin/ping')!;
  assert.is((h.pax as Record<string, string>)['SCHILY.xattr.security.capability'], caps);
});

test('a layer stored for the same entries again is reused without being written; a torn file is written again', async () => {
  const state = new StateDir(join(tmp, 'state'));
  const entries = [entry('etc', 'dir'), entry('etc/motd', 'file', { size: 3, sha256: await state.blobs.put(Buffer.from('hi\n')) })];
  const first = await storeLayer(state, entries, 0);
  const path = state.layerPath(first.diffId);
  const written = (await stat(path)).mtimeMs;
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(await storeLayer(state, entries, 0), first);
  assert.is((await stat(path)).mtimeMs, written, 'not written again');
  assert.is.not((await storeLayer(state, entries, 1)).diffId, first.diffId, 'another mtime is another layer');
  await truncate(path, 10);
  assert.equal(await storeLayer(state, entries, 0), first);
  assert.is((await stat(path)).size, first.uncompressedSize, 'the torn file is whole again');
});

test("an image's .file()s and links are a layer over the rest; directories and everything else stay below", () => {
  const file = (path: string, type: 'file' | 'dir' | 'symlink') => ({
    path,
    type,
    mode: 0o644,
    uid: 0,
    gid: 0,
    sha256: null,
    size: 0,
    target: null,
  });
  const entries = [
    entry('etc', 'dir'),
    entry('etc/nginx', 'dir'),
    entry('etc/nginx/nginx.conf', 'file'),
    entry('etc/passwd', 'file'),
    entry('srv', 'dir'),
    entry('srv/www', 'symlink', { linkname: '/var/www' }),
  ];
  const [rootfs, files] = layerSplit(entries, {
    files: [file('/etc/nginx/nginx.conf', 'file'), file('/srv', 'dir'), file('/srv/www', 'symlink')],
  });
  assert.equal(
    rootfs.map((e) => e.path),
    ['etc', 'etc/nginx', 'etc/passwd', 'srv'],
  );
  assert.equal(
    files.map((e) => e.path),
    ['etc/nginx/nginx.conf', 'srv/www'],
  );
  assert.equal(layerSplit(entries, { files: [] }), [entries], 'no .file(): one layer, as always');
  assert.equal(layerSplit(entries, { files: [file('/srv', 'dir')] }), [entries], 'only directories: one layer');
});

test.run();
