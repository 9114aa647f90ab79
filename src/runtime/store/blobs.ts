import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RootfsError } from '../../contract/errors';
import { tempPath, writeAtomic } from '../../util/files';
import { createHash } from 'node:crypto';
import { HashingStream, sha256 as sha256Of, type HashAlgorithm } from '../../util/hash';
import { shortKey } from '../../contract/names';

/** The largest blob `read` returns whole: far above any configuration file, far below a Buffer's limit. */
const READ_WHOLE_MAX = 64 * 1024 * 1024;

/**
 * A blob whose bytes are not the ones its name (their sha256) promises, or that
 * is gone. The store has already dropped it, so whatever wrote it can write it
 * again (deploy rebuilds the layer once).
 */
export class DamagedBlobError extends RootfsError {
  constructor(
    readonly sha256: string,
    readonly why: string,
    /** The entry whose body it is, when known. */
    readonly path?: string,
  ) {
    super(`${path ? `${path}: ` : ''}blob ${shortKey(sha256)} in the state directory is ${why}; it was dropped`, path ? [path] : []);
  }

  /** The same error, naming the entry. */
  at(path: string): DamagedBlobError {
    return new DamagedBlobError(this.sha256, this.why, path);
  }
}

/**
 * Content-addressed store of file bodies: `<dir>/<sha256>`. Writes go to a temp
 * name first and are renamed into place, so a crash never leaves a half blob
 * under a valid name. Reads check the bytes against the name, so a blob damaged
 * on disk is never used: it is dropped and a DamagedBlobError says which.
 */
export class BlobStore {
  constructor(readonly dir: string) {}

  path(sha256: string): string {
    return join(this.dir, sha256);
  }

  async put(data: Buffer): Promise<string> {
    const sha = sha256Of(data);
    const dest = this.path(sha);
    if (await exists(dest)) return sha;
    await writeAtomic(dest, data);
    return sha;
  }

  /**
   * Stores a body read from a stream, never holding it whole (bodies of any size):
   * hashed on the way to a temp file, renamed into place, the temp file removed on failure.
   */
  async putStream(body: Readable): Promise<{ sha256: string; size: number }> {
    await mkdir(this.dir, { recursive: true });
    // The name is known only once the body is hashed: staged under a temp name first.
    const tmp = tempPath(join(this.dir, 'stream'));
    const tap = new HashingStream();
    try {
      await pipeline(body, tap, createWriteStream(tmp));
      const sha256 = tap.hex();
      const size = tap.bytes;
      if (await exists(this.path(sha256))) await rm(tmp, { force: true });
      else await rename(tmp, this.path(sha256));
      return { sha256, size };
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /**
   * A small blob's bytes, whole (configuration files, scripts' first lines). Bodies
   * of unbounded size go through {@link stream}, {@link digest} or {@link verify}:
   * a buffer holds at most 2 GiB, and a package file may be larger.
   */
  async read(sha256: string): Promise<Buffer> {
    const size = (await stat(this.path(sha256)).catch(() => null))?.size ?? 0;
    if (size > READ_WHOLE_MAX)
      throw new RootfsError(`blob ${shortKey(sha256)} is ${size} bytes, too large to read whole (at most ${READ_WHOLE_MAX})`);
    const data = await readFile(this.path(sha256)).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new DamagedBlobError(sha256, 'missing');
      throw err;
    });
    if (sha256Of(data) !== sha256) {
      await this.drop(sha256);
      throw new DamagedBlobError(sha256, 'damaged (its content does not match its hash)');
    }
    return data;
  }

  /** The blob's bytes, hashed on the way: a mismatch ends the stream in a DamagedBlobError. */
  stream(sha256: string): Readable {
    const check = new HashingStream('sha256', async (hex) => {
      if (hex === sha256) return;
      await this.drop(sha256);
      throw new DamagedBlobError(sha256, 'damaged (its content does not match its hash)');
    });
    const src = createReadStream(this.path(sha256));
    src.on('error', (err: NodeJS.ErrnoException) => check.destroy(err.code === 'ENOENT' ? new DamagedBlobError(sha256, 'missing') : err));
    return src.pipe(check);
  }

  /**
   * Another digest of a blob (sha1 for SPDX, md5 for Portage's CONTENTS), streamed,
   * the blob checked against its name on the way: bodies of any size.
   */
  async digest(sha256: string, algorithm: HashAlgorithm): Promise<string> {
    const h = createHash(algorithm);
    await pipeline(this.stream(sha256), h);
    return h.digest('hex');
  }

  /** Reads a blob to its end, streamed, checking it against its name (DamagedBlobError otherwise). */
  async verify(sha256: string): Promise<void> {
    await this.digest(sha256, 'sha256');
  }

  has(sha256: string): Promise<boolean> {
    return exists(this.path(sha256));
  }

  /** Removes a blob (a damaged one; a later put writes it again). */
  async drop(sha256: string): Promise<void> {
    await rm(this.path(sha256), { force: true });
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
