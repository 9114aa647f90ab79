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
import type { Entry } from '../../../src/runtime/store/entry';

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
    const err = await readRootfsTar(input, new BlobStore(join(dir, 'blobs'))).then(
      () => null,
      (e: unknown) => e,
    );
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
    assert.equal(
      entries.map((e) => [e.path, e.type, e.size]),
      [['etc/ok', 'file', 3]],
    );
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

/** A PAX extended header (typeflag x) whose records are `key=value` with the value as bytes. */
function pax(records: [string, Buffer][]): Buffer {
  const body = Buffer.concat(
    records.map(([k, v]) => {
      const rest = Buffer.concat([Buffer.from(` ${k}=`), v, Buffer.from('\n')]);
      let len = rest.length + 1;
      while (String(len).length + rest.length !== len) len++;
      return Buffer.concat([Buffer.from(String(len)), rest]);
    }),
  );
  return entry(Buffer.from('PaxHeaders/x'), 'x', body);
}

async function read(input: Readable): Promise<Entry[]> {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-tarnames-'));
  try {
    return await readRootfsTar(input, new BlobStore(join(dir, 'blobs')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const FFFD = Buffer.from('\uFFFD'); // EF BF BD: valid UTF-8 for the replacement character itself

test('a valid UTF-8 name holding U+FFFD reads back as that name, from a ustar header and from a PAX path', async () => {
  const ustar = await read(tar(entry(Buffer.concat([Buffer.from('etc/a'), FFFD]), '0', Buffer.from('x'))));
  assert.equal(
    ustar.map((e) => e.path),
    ['etc/a\uFFFD'],
  );
  const viaPax = await read(
    tar(pax([['path', Buffer.concat([Buffer.from('etc/\u00e9t\u00e9-'), FFFD])]]), entry(Buffer.from('ignored'), '0', Buffer.from('x'))),
  );
  assert.equal(
    viaPax.map((e) => e.path),
    ['etc/\u00e9t\u00e9-\uFFFD'],
  );
});

test('invalid names print escaped and distinguishable, also from PAX records (which tar-stream decodes lossily)', async () => {
  const err = await refusal(
    tar(
      pax([['path', Buffer.from([0x62, 0x61, 0x64, 0xff])]]),
      entry(Buffer.from('x1'), '0', Buffer.from('one')),
      pax([['path', Buffer.from([0x62, 0x61, 0x64, 0xfe])]]),
      entry(Buffer.from('x2'), '0', Buffer.from('two')),
      entry(Buffer.from([0x62, 0x61, 0x64, 0xc3]), '0', Buffer.from('three')),
    ),
  );
  assert.equal([...err.entries].sort(), ['bad\\xc3', 'bad\\xfe', 'bad\\xff']);
  assert.match(err.message, 'bad\\xff: name is not valid UTF-8');
  assert.not.match(err.message, '\uFFFD');
});

test('a symlink target from a PAX linkpath is judged on its bytes too', async () => {
  const err = await refusal(tar(pax([['linkpath', Buffer.from([0x61, 0xed, 0xa0, 0x80])]]), entry(Buffer.from('etc/link2'), '2')));
  assert.match(err.message, 'etc/link2: link target is not valid UTF-8: a\\xed\\xa0\\x80');
});

test.run();
