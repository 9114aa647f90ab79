/**
 * Hashing, in one place: the hex of a buffer or string, the `sha256:` digest form
 * of OCI, a file read as a stream, and a pass-through that hashes and counts what
 * flows by (for bodies that are written while they are hashed).
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export type HashAlgorithm = 'sha256' | 'sha512' | 'sha1' | 'md5';

/**
 * The hex hash of `data` (a string is hashed as UTF-8).
 * @example hashHex('md5', '') // 'd41d8cd98f00b204e9800998ecf8427e'
 */
export function hashHex(algorithm: HashAlgorithm, data: string | Uint8Array): string {
  return createHash(algorithm).update(data).digest('hex');
}

/**
 * sha256 (hex) of `data`.
 * @example sha256('') // 'e3b0c442…'
 */
export function sha256(data: string | Uint8Array): string {
  return hashHex('sha256', data);
}

/**
 * `sha256:<hex>`, the digest form of OCI and Docker.
 * @example sha256Digest('') // 'sha256:e3b0c442…'
 */
export function sha256Digest(data: string | Uint8Array): string {
  return `sha256:${sha256(data)}`;
}

/**
 * The hex hash of a file's content, read as a stream (sha256 unless told).
 * @example await hashFile('rootfs.tar') // 'e3b0c442…'
 */
export async function hashFile(path: string, algorithm: HashAlgorithm = 'sha256'): Promise<string> {
  const h = createHash(algorithm);
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

/**
 * A pass-through that hashes and counts the bytes flowing by; `hex()` once they
 * have all passed, or `atEnd` sees it (and fails the stream by rejecting).
 * @example const tap = new HashingStream(); await pipeline(src, tap, dest); tap.hex()
 */
export class HashingStream extends Transform {
  readonly hash: Hash;
  bytes = 0;
  constructor(
    algorithm: HashAlgorithm = 'sha256',
    private readonly atEnd?: (hex: string) => Promise<void> | void,
  ) {
    super();
    this.hash = createHash(algorithm);
  }
  override _flush(cb: TransformCallback): void {
    if (!this.atEnd) return cb();
    Promise.resolve()
      .then(() => this.atEnd!(this.hex()))
      .then(() => cb(), cb);
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
  /** The hex hash of everything that passed (call once, at the end). */
  hex(): string {
    return this.hash.digest('hex');
  }
}
