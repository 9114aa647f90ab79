import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

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
