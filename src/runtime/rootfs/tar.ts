import type { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { RootfsError } from '../../contract/errors';
import type { BlobStore } from '../store/blobs';
import { parseElf, parseElfFile } from './elf';
import { open } from 'node:fs/promises';
import type { ElfInfo, Entry } from '../store/entry';
import { comparePaths, dirname, normalizePath, parents, walk } from './resolve';
import { decodeName, keepRawPaxNames, printableName, RAW_LINKPATH, RAW_PATH } from './names';

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
  /**
   * Bodies larger than this stream to the blob store instead of memory, so a file of
   * any size (over 4 GiB too) is read with constant memory.
   * @default 64 MiB
   */
  readonly bufferLimit?: number;
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
 * fifo and (unless allowed) every setuid/setgid file is collected; if there are any, one
 * RootfsError names them all. A later entry at the same path replaces an earlier one, as
 * `tar -x` does. A hardlink becomes a file with its target's facts and both share an
 * `inode` (see Entry.inode), so purging or slimming either one never strands the other.
 *
 * @example
 * const entries = await readRootfsTar(fs.createReadStream('rootfs.tar'), new BlobStore(dir));
 */
export async function readRootfsTar(input: Readable, blobs: BlobStore, opts: ReadRootfsOptions = {}): Promise<Entry[]> {
  const byPath = new Map<string, Entry>();
  const violations: Violation[] = [];
  // Names as bytes (latin1: one char per byte), judged and decoded below (names.ts).
  keepRawPaxNames();
  // filenameEncoding is in tar-stream 3, not in its typings.
  const ex = extract({ filenameEncoding: 'latin1' } as Parameters<typeof extract>[0]);
  input.on('error', (err) => ex.destroy(err));
  input.pipe(ex);

  for await (const stream of ex) {
    const h = stream.header;
    const pax = h.pax as Record<string, string> | undefined;
    const rawName = pax?.[RAW_PATH] ?? h.name;
    const rawLink = h.linkname == null ? null : (pax?.[RAW_LINKPATH] ?? h.linkname);
    const name = decodeName(rawName);
    const link = rawLink === null ? null : decodeName(rawLink);
    const raw = name ?? '';
    const reject = (why: string) => violations.push({ path: printableName(rawName), why });
    const path = raw.startsWith('/') ? null : normalizePath(raw);
    // tar-stream gives null for a type it does not know (GNU sparse S, volume label V, …).
    const type = h.type ?? 'unknown';
    const isFile = type === 'file' || type === 'contiguous-file';
    if (!isFile) stream.resume();

    // Decided on the bytes: a name holding U+FFFD itself is valid; invalid bytes are refused, escaped.
    if (name === null || (rawLink !== null && link === null)) {
      reject(name === null ? 'name is not valid UTF-8' : `link target is not valid UTF-8: ${printableName(rawLink!)}`);
      if (isFile) stream.resume();
      continue;
    }
    h.name = name;
    if (link !== null) h.linkname = link;
    if (raw.startsWith('/') && normalizePath(raw) !== '') reject('absolute path');
    else if (path === null) reject('path climbs out of the root with ..');
    if (path === null || path === '') {
      if (isFile) stream.resume();
      continue; // the root directory itself carries nothing an image keeps
    }

    const mode = (h.mode ?? 0) & 0o7777;
    const capability = (h.pax as Record<string, string> | undefined)?.[CAPABILITY];
    const caps = capability !== undefined ? { caps: capability } : {};
    const base = { path, mode, uid: h.uid ?? 0, gid: h.gid ?? 0, ...origin(opts, path), ...caps };
    if (isFile) {
      // Only regular files: a setgid directory (/var/mail) just passes its group on.
      if (mode & 0o6000 && !opts.allowSetuid) {
        stream.resume();
        reject(mode & 0o4000 ? 'setuid file' : 'setgid file');
        continue;
      }
      const facts = await bodyFacts(stream as unknown as Readable, h.size ?? 0, blobs, opts);
      const { shebang, ...rest } = facts;
      byPath.set(path, { ...base, type: 'file', linkname: null, ...rest, ...(shebang ? { shebang } : {}) });
    } else if (type === 'directory') {
      byPath.set(path, { ...base, type: 'dir', size: 0, linkname: null, sha256: null, elf: null });
    } else if (type === 'symlink') {
      byPath.set(path, { ...base, type: 'symlink', size: 0, linkname: h.linkname ?? '', sha256: null, elf: null });
    } else if (type === 'link') {
      addHardlink(byPath, path, h.linkname ?? '', reject, opts);
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

/**
 * A regular file's body stored in `blobs`, with what is read from it: its ELF facts
 * or, for a script, the interpreter its `#!` line names.
 */
async function bodyFacts(
  stream: Readable,
  size: number,
  blobs: BlobStore,
  opts: ReadRootfsOptions,
): Promise<{ sha256: string; size: number; elf: ElfInfo | null; shebang?: string }> {
  if (size <= (opts.bufferLimit ?? BUFFERED_BODY)) {
    // ELF parsing reads anywhere in the file, so a small body is buffered, hashed,
    // stored and dropped before the next header is read.
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const parsed = parseElf(body);
    const elf = parsed && (body.includes(C_UTF8) || body.includes(C_UTF8_NORMAL)) ? { ...parsed, utf8Locale: true } : parsed;
    return { sha256: await blobs.put(body), size: body.length, elf, shebang: elf ? undefined : parseShebang(body) };
  }
  // A large body streams to the store and is parsed there, in place.
  const stored = await blobs.putStream(stream);
  const elf = parseElfFile(blobs.path(stored.sha256));
  return { ...stored, elf, shebang: elf ? undefined : parseShebang(await readHead(blobs.path(stored.sha256))) };
}

/**
 * A hardlink at `path` to `linkname`: it must name a regular file earlier in the
 * archive. One inode, one set of facts: the link is the target's file (its mode,
 * owner and body), whatever mode the link's own header claims.
 */
function addHardlink(
  byPath: Map<string, Entry>,
  path: string,
  linkname: string,
  reject: (why: string) => void,
  opts: ReadRootfsOptions,
): void {
  const target = linkname.startsWith('/') ? null : normalizePath(linkname);
  const t = target ? byPath.get(target) : undefined;
  if (target === null || target === '') return void reject(`hardlink to ${linkname} outside the root`);
  if (t?.type !== 'file') return void reject(`hardlink to ${target}, which is not a regular file earlier in the archive`);
  const inode = t.inode ?? target;
  if (t.inode === undefined) byPath.set(target, { ...t, inode });
  const { origin: _targetOrigin, ...facts } = t;
  byPath.set(path, { ...facts, path, inode, ...origin(opts, path) });
}

/**
 * The interpreter a script names on its `#!` line, as the kernel reads it (the first
 * word); `/usr/bin/env NAME` gives NAME, which is looked up in PATH.
 * @example parseShebang(Buffer.from('#!/usr/bin/env python3\n')) // 'python3'
 */
export function parseShebang(body: Buffer): string | undefined {
  if (body.length < 3 || body[0] !== 0x23 || body[1] !== 0x21) return undefined;
  const end = body.indexOf(0x0a);
  const words = body
    .toString('latin1', 2, end < 0 ? Math.min(body.length, 256) : Math.min(end, 256))
    .trim()
    .split(/\s+/);
  if (!words[0]) return undefined;
  if (/(^|\/)env$/.test(words[0])) return words.slice(1).find((w) => !w.startsWith('-') && !w.includes('='));
  return words[0];
}

/** The pax record of a file capability (GNU tar's and Docker's name for the xattr). */
export const CAPABILITY = 'SCHILY.xattr.security.capability';
const C_UTF8 = Buffer.from('C.UTF-8\0');
const C_UTF8_NORMAL = Buffer.from('C.utf8\0');

/** Bodies up to this size are read into memory; larger ones stream to the blob store. */
const BUFFERED_BODY = 64 * 1024 * 1024;

/** The first 256 bytes of a file: enough for a `#!` line. */
export async function readHead(path: string): Promise<Buffer> {
  const f = await open(path, 'r');
  try {
    const b = Buffer.alloc(256);
    const { bytesRead } = await f.read(b, 0, b.length, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await f.close();
  }
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
