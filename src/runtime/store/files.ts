import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Writes `data` to `dest` through a temp name in the same directory, so a reader
 * never sees half a file; the temp file is removed when the write fails.
 * @example await writeAtomic('.imgsdk/images/acme/web/PACKAGES.md', text);
 */
export async function writeAtomic(dest: string, data: string | Buffer): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * sha256 (hex) of a file's content, read as a stream.
 * @example await hashFile('rootfs.tar') // 'e3b0c442…'
 */
export async function hashFile(path: string): Promise<string> {
  await stat(path);
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}
