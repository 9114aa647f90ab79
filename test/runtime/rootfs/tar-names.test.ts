/**
 * readRootfsTar on headers no tar writer of ours makes: unknown entry types and
 * names that are not UTF-8. The headers are written byte by byte here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RootfsError } from '../../../src/contract/errors';
import { BlobStore } from '../../../src/runtime/store/blobs';
import { readRootfsTar } from '../../../src/runtime/rootfs/tar';

/** One ustar header block plus body, the name given as bytes. */
function entry(name: Buffer, typeflag: string, body = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(512);
  name.copy(h, 0);
  const oct = (n: number, len: number) => n.toString(8).padStart(len - 1, '0') + '\0';
  h.write(oct(0o644, 8), 100, 'ascii');
  h.write(oct(0, 8), 108, 'ascii');
  h.write(oct(0, 8), 116, 'ascii');
  h.write(oct(body.length, 12), 124, 'ascii');
  h.write(oct(1_700_000_000, 12), 136, 'ascii');
  h.write(typeflag, 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([h, body, pad]);
}

const tar = (...entries: Buffer[]) => Readable.from([Buffer.concat([...entries, Buffer.alloc(1024)])]);

async function refusal(input: Readable): Promise<RootfsError> {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-tarnames-'));
  try {
    const err = await readRootfsTar(input, new BlobStore(join(dir, 'blobs'))).then(() => null, (e: unknown) => e);
    assert.instance(err, RootfsError, `expected a refusal, got ${String(err)}`);
    return err as RootfsError;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a plain ustar file written by hand reads back (the helper is sound)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-tarnames-'));
  try {
    const entries = await readRootfsTar(tar(entry(Buffer.from('etc/ok'), '0', Buffer.from('ok\n'))), new BlobStore(join(dir, 'blobs')));
    assert.equal(entries.map((e) => [e.path, e.type, e.size]), [['etc/ok', 'file', 3]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('entries of unknown types (GNU sparse S, volume label V, Z) are refused, not read as regular files', async () => {
  for (const flag of ['S', 'V', 'Z', 'D', 'M']) {
    const err = await refusal(tar(entry(Buffer.from(`odd-${flag}`), flag, Buffer.from('body'))));
    assert.match(err.message, `odd-${flag}: unknown entry type`, flag);
    assert.equal(err.entries, [`odd-${flag}`]);
  }
});

test('two names that differ only in bytes that are not UTF-8 are refused, not collapsed into one', async () => {
  const a = Buffer.concat([Buffer.from('bad'), Buffer.from([0xff])]);
  const b = Buffer.concat([Buffer.from('bad'), Buffer.from([0xfe])]);
  const err = await refusal(tar(entry(a, '0', Buffer.from('one')), entry(b, '0', Buffer.from('two'))));
  assert.is(err.entries.length, 2, err.message);
  assert.match(err.message, 'name is not valid UTF-8');
});

test('a symlink whose target is not UTF-8 is refused', async () => {
  const h = entry(Buffer.from('etc/link'), '2');
  Buffer.from([0x61, 0xff]).copy(h, 157);
  // The checksum covers the link name: recompute it.
  h.fill(' ', 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[i];
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  const err = await refusal(tar(h));
  assert.match(err.message, 'etc/link: link target is not valid UTF-8');
});

test.run();
