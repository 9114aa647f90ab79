/**
 * Temp files and atomic writes, in one place: every write that a reader must never
 * see half of goes to `tempPath(dest)` in the same directory and is renamed into
 * place; the temp file is removed when the write fails. The `.tmp` suffix is what
 * runtime/deploy/leftovers.ts sweeps after a deploy that was killed.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HashingStream, type HashAlgorithm } from './hash';

/**
 * A temp name next to `dest`, unique to this process and call, ending in `.tmp`.
 * @example tempPath('/s/rootfs/k.tar') // '/s/rootfs/k.tar.4242.1a2b3c4d.tmp'
 */
export function tempPath(dest: string): string {
  return `${dest}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

/**
 * Runs `write(tmp)` on a temp name next to `dest`, then renames it into place;
 * the temp file is removed when anything fails (the rename included). `write`'s result.
 * @example await renamedIntoPlace('out/a.tar', (tmp) => writeTar(createWriteStream(tmp)));
 */
export async function renamedIntoPlace<T>(dest: string, write: (tmp: string) => Promise<T>): Promise<T> {
  const tmp = tempPath(dest);
  try {
    const out = await write(tmp);
    await rename(tmp, dest);
    return out;
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Writes `data` to `dest` through a temp name in the same directory (made when
 * missing), so a reader never sees half a file.
 * @example await writeAtomic('.imgsdk/images/acme/web/PACKAGES.md', text);
 */
export async function writeAtomic(dest: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  await renamedIntoPlace(dest, (tmp) => writeFile(tmp, data));
}

/**
 * `writeAtomic` without the event loop, for many small files written one after
 * the other (the assembly) or from a synchronous hook (the transpile cache).
 * The directory must exist.
 */
export function writeAtomicSync(dest: string, data: string | Uint8Array, mode?: number): void {
  const tmp = tempPath(dest);
  try {
    writeFileSync(tmp, data, mode === undefined ? undefined : { mode });
    renameSync(tmp, dest);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Streams `source` to `dest` through a temp name (the directory made when missing),
 * hashing (sha256 unless told) and counting on the way; `check` sees the hash (hex)
 * and size before the rename and throws to keep the file out. The hash and size written.
 * @example await streamAtomic(dest, body, { check: (hex) => { if (hex !== want) throw … } })
 */
export async function streamAtomic(
  dest: string,
  source: Readable,
  opts: { algorithm?: HashAlgorithm; check?: (hex: string, size: number) => void; signal?: AbortSignal } = {},
): Promise<{ hex: string; size: number }> {
  await mkdir(dirname(dest), { recursive: true });
  return renamedIntoPlace(dest, async (tmp) => {
    const tap = new HashingStream(opts.algorithm);
    await pipeline(source, tap, createWriteStream(tmp) as Writable, opts.signal ? { signal: opts.signal } : {});
    const written = { hex: tap.hex(), size: tap.bytes };
    opts.check?.(written.hex, written.size);
    return written;
  });
}
