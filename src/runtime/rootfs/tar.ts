import type { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { RootfsError } from '../../errors';
import type { BlobStore } from './blobs';
import { parseElf } from './elf';
import type { Entry } from './entry';
import { comparePaths, dirname, normalizePath, parents, walk } from './resolve';

/**
 * Reading a builder's `rootfs.tar` into Entries (bodies into the BlobStore) and the
 * safety filter that runs on the way: a rootfs comes out of a container that ran
 * package scripts, so nothing in it is trusted to stay inside the root.
 */

/** Options of readRootfsTar. */
export interface ReadRootfsOptions {
  /**
   * Keep setuid/setgid regular files; otherwise each one is a violation.
   * @default false
   */
  readonly allowSetuid?: boolean;
  /**
   * Accept device nodes and fifos; otherwise each one is a violation. The Entry model
   * cannot represent them, so accepted ones are left out of the result (a container
   * gets its /dev from the runtime).
   * @default false
   */
  readonly allowDevices?: boolean;
  /** Package owning a normalized path, recorded as Entry.origin. */
  readonly origin?: (path: string) => string | undefined;
}

interface Violation {
  readonly path: string;
  readonly why: string;
}

/**
 * Reads a tar stream into Entries sorted by path, storing each regular file's body in
 * `blobs` (one body in memory at a time) and parsing ELF files.
 *
 * Every entry that escapes the root (absolute or climbing `..` paths, symlinks whose
 * target climbs above the root, hardlinks outside or to nothing), every device node or
 * fifo and every setuid/setgid file is collected; if there are any, one RootfsError
 * names them all. A later entry at the same path replaces an earlier one, as `tar -x` does.
 *
 * @example
 * const entries = await readRootfsTar(fs.createReadStream('rootfs.tar'), new BlobStore(dir));
 */
export async function readRootfsTar(input: Readable, blobs: BlobStore, opts: ReadRootfsOptions = {}): Promise<Entry[]> {
  const byPath = new Map<string, Entry>();
  const violations: Violation[] = [];
  const ex = extract();
  input.on('error', (err) => ex.destroy(err));
  input.pipe(ex);

  for await (const stream of ex) {
    const h = stream.header;
    const raw = h.name;
    const reject = (why: string) => violations.push({ path: raw, why });
    const path = raw.startsWith('/') ? null : normalizePath(raw);
    // tar-stream gives null for a type it does not know (GNU sparse S, volume label V, …).
    const type = h.type ?? 'unknown';
    const isFile = type === 'file' || type === 'contiguous-file';
    if (!isFile) stream.resume();

    // Names are decoded as UTF-8; invalid bytes become U+FFFD, so two names could become one.
    if (raw.includes('\uFFFD') || (h.linkname ?? '').includes('\uFFFD')) {
      reject(`${raw.includes('\uFFFD') ? 'name' : 'link target'} is not valid UTF-8`);
      if (isFile) stream.resume();
      continue;
    }
    if (raw.startsWith('/') && normalizePath(raw) !== '') reject('absolute path');
    else if (path === null) reject('path climbs out of the root with ..');
    if (path === null || path === '') {
      if (isFile) stream.resume();
      continue; // the root directory itself carries nothing an image keeps
    }

    const mode = (h.mode ?? 0) & 0o7777;
    const base = { path, mode, uid: h.uid ?? 0, gid: h.gid ?? 0, ...origin(opts, path) };
    if (isFile) {
      // ELF parsing needs the whole file (the dynamic section can be anywhere), so a
      // body is buffered, hashed, stored and dropped before the next header is read.
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      // Only regular files: a setgid directory (/var/mail) just passes its group on.
      if (mode & 0o6000 && !opts.allowSetuid) {
        reject(mode & 0o4000 ? 'setuid file' : 'setgid file');
        continue;
      }
      const sha256 = await blobs.put(body);
      byPath.set(path, { ...base, type: 'file', size: body.length, linkname: null, sha256, elf: parseElf(body) });
    } else if (type === 'directory') {
      byPath.set(path, { ...base, type: 'dir', size: 0, linkname: null, sha256: null, elf: null });
    } else if (type === 'symlink') {
      byPath.set(path, { ...base, type: 'symlink', size: 0, linkname: h.linkname ?? '', sha256: null, elf: null });
    } else if (type === 'link') {
      const target = (h.linkname ?? '').startsWith('/') ? null : normalizePath(h.linkname ?? '');
      if (target === null || target === '') reject(`hardlink to ${h.linkname} outside the root`);
      else if (byPath.get(target)?.type !== 'file') reject(`hardlink to ${target}, which is not a regular file earlier in the archive`);
      else byPath.set(path, { ...base, type: 'hardlink', size: 0, linkname: target, sha256: null, elf: null });
    } else if (type === 'character-device' || type === 'block-device' || type === 'fifo') {
      if (!opts.allowDevices) reject(type === 'fifo' ? 'fifo' : `${type} ${h.devmajor ?? 0}:${h.devminor ?? 0}`);
    } else {
      reject(type === 'unknown' ? 'unknown entry type (not a file, directory, link or device)' : `unsupported entry type ${type}`);
    }
  }

  violations.push(...checkLinks(byPath));
  if (violations.length > 0) {
    const n = violations.length;
    throw new RootfsError(
      `rootfs has ${n} unsafe entr${n === 1 ? 'y' : 'ies'}:\n` + violations.map((v) => `  ${v.path}: ${v.why}`).join('\n'),
      violations.map((v) => v.path),
    );
  }
  return [...byPath.values()].sort((a, b) => comparePaths(a.path, b.path));
}

function origin(opts: ReadRootfsOptions, path: string): { origin?: string } {
  const o = opts.origin?.(path);
  return o === undefined ? {} : { origin: o };
}

/**
 * Checks links against the final tree, because a symlink may point at, or through, an
 * entry that comes later in the archive, and a later entry may replace a hardlink's target.
 */
function checkLinks(byPath: ReadonlyMap<string, Entry>): Violation[] {
  const out: Violation[] = [];
  const linkOf = (p: string) => {
    const e = byPath.get(p);
    return e?.type === 'symlink' ? e.linkname : null;
  };
  for (const e of byPath.values()) {
    if (e.type === 'symlink') {
      // Walked through the tree's own symlinks, so `a -> .` plus `b -> a/../..` is caught
      // even though each looks harmless alone.
      const w = walk(dirname(e.path), e.linkname ?? '', linkOf, true);
      if (!w.ok && w.reason === 'escape') out.push({ path: e.path, why: `symlink to ${e.linkname} points outside the root` });
    } else if (e.type === 'hardlink' && byPath.get(e.linkname ?? '')?.type !== 'file') {
      out.push({ path: e.path, why: `hardlink to ${e.linkname}, which was replaced by a non-file` });
    }
  }
  return out.sort((a, b) => comparePaths(a.path, b.path));
}

/** Options of normalizeEntries. */
export interface NormalizeOptions {
  /**
   * Owner of the parent directories this adds.
   * @default 0
   */
  readonly uid?: number;
  /**
   * Group of the parent directories this adds.
   * @default 0
   */
  readonly gid?: number;
}

/**
 * The form a layer is written from: one entry per path (the last wins), sorted by
 * path in byte order, with every missing parent directory added (mode 0755) so the
 * layer unpacks the same everywhere.
 *
 * @example
 * normalizeEntries([fileAt('usr/bin/nmap')]).map((e) => e.path); // ['usr', 'usr/bin', 'usr/bin/nmap']
 */
export function normalizeEntries(entries: readonly Entry[], opts: NormalizeOptions = {}): Entry[] {
  const byPath = new Map<string, Entry>();
  for (const e of entries) byPath.set(e.path, e);
  for (const e of entries) {
    for (const dir of parents(e.path)) {
      if (byPath.has(dir)) continue;
      byPath.set(dir, {
        path: dir,
        type: 'dir',
        mode: 0o755,
        uid: opts.uid ?? 0,
        gid: opts.gid ?? 0,
        size: 0,
        linkname: null,
        sha256: null,
        elf: null,
      });
    }
  }
  return [...byPath.values()].sort((a, b) => comparePaths(a.path, b.path));
}
