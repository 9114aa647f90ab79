import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Content-addressed store of file bodies: `<dir>/<sha256>`. Writes go to a temp
 * name first and are renamed into place, so a crash never leaves a half blob
 * under a valid name.
 */
export class BlobStore {
  constructor(readonly dir: string) {}

  path(sha256: string): string {
    return join(this.dir, sha256);
  }

  async put(data: Buffer): Promise<string> {
    const sha = createHash('sha256').update(data).digest('hex');
    const dest = this.path(sha);
    if (await exists(dest)) return sha;
    await mkdir(this.dir, { recursive: true });
    const tmp = `${dest}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, data);
    await rename(tmp, dest);
    return sha;
  }

  /**
   * Stores a body read from a stream, never holding it whole (bodies of any size):
   * hashed on the way to a temp file, renamed into place, the temp file removed on failure.
   */
  async putStream(body: Readable): Promise<{ sha256: string; size: number }> {
    await mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `stream.${randomBytes(6).toString('hex')}.tmp`);
    const hash = createHash('sha256');
    let size = 0;
    try {
      await pipeline(
        body,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const c of chunks) {
            hash.update(c);
            size += c.length;
            yield c;
          }
        },
        createWriteStream(tmp),
      );
      const sha256 = hash.digest('hex');
      if (await exists(this.path(sha256))) await rm(tmp, { force: true });
      else await rename(tmp, this.path(sha256));
      return { sha256, size };
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  read(sha256: string): Promise<Buffer> {
    return readFile(this.path(sha256));
  }

  stream(sha256: string): Readable {
    return createReadStream(this.path(sha256));
  }

  has(sha256: string): Promise<boolean> {
    return exists(this.path(sha256));
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
