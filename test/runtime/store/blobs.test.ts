import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BlobStore, DamagedBlobError } from '../../../src/runtime/store/blobs';
import { hashHex } from '../../../src/util/hash';

function store(): BlobStore {
  return new BlobStore(join(mkdtempSync(join(tmpdir(), 'imgsdk-blobs-')), 'blobs'));
}

function flipByte(path: string): void {
  const b = readFileSync(path);
  b[0] ^= 0xff;
  writeFileSync(path, b);
}

async function drain(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('a blob reads back as written, whole or streamed', async () => {
  const s = store();
  const sha = await s.put(Buffer.from('hello\n'));
  assert.is((await s.read(sha)).toString(), 'hello\n');
  assert.is((await drain(s.stream(sha))).toString(), 'hello\n');
  rmSync(s.dir, { recursive: true });
});

test('a blob with one flipped byte is dropped when read, and a put writes it again', async () => {
  const s = store();
  const sha = await s.put(Buffer.from('hello\n'));
  flipByte(s.path(sha));
  const err = await s.read(sha).catch((e: unknown) => e);
  assert.instance(err, DamagedBlobError);
  assert.is((err as DamagedBlobError).sha256, sha);
  assert.not.ok(existsSync(s.path(sha)), 'the damaged blob is gone');
  await s.put(Buffer.from('hello\n'));
  assert.is((await s.read(sha)).toString(), 'hello\n');
  rmSync(s.dir, { recursive: true });
});

test('a streamed blob that does not match its hash ends in an error, and is dropped', async () => {
  const s = store();
  const sha = await s.put(Buffer.alloc(200_000, 'x'));
  flipByte(s.path(sha));
  const err = await drain(s.stream(sha)).catch((e: unknown) => e);
  assert.instance(err, DamagedBlobError);
  assert.match((err as Error).message, 'does not match its hash');
  assert.not.ok(existsSync(s.path(sha)));
  rmSync(s.dir, { recursive: true });
});

test('a missing blob is a DamagedBlobError too', async () => {
  const s = store();
  const sha = await s.put(Buffer.from('x'));
  rmSync(s.path(sha));
  assert.instance(await s.read(sha).catch((e: unknown) => e), DamagedBlobError);
  assert.instance(await drain(s.stream(sha)).catch((e: unknown) => e), DamagedBlobError);
  rmSync(s.dir, { recursive: true });
});

test('other digests of a blob are streamed and check the blob on the way; verify reads it to its end', async () => {
  const s = store();
  const body = Buffer.alloc(300_000, 'y');
  const sha = await s.put(body);
  assert.is(await s.digest(sha, 'sha1'), hashHex('sha1', body));
  assert.is(await s.digest(sha, 'md5'), hashHex('md5', body));
  await s.verify(sha);
  flipByte(s.path(sha));
  assert.instance(await s.digest(sha, 'md5').catch((e: unknown) => e), DamagedBlobError);
  assert.not.ok(existsSync(s.path(sha)), 'dropped');
  assert.instance(await s.verify(sha).catch((e: unknown) => e), DamagedBlobError);
  rmSync(s.dir, { recursive: true });
});

test.run();
