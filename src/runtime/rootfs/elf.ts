import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { ElfInfo } from '../store/entry';

/**
 * A reader of the few ELF facts the link check needs: class, byte order, machine,
 * type, PT_INTERP and the dynamic section's DT_NEEDED, DT_RPATH, DT_RUNPATH and
 * DT_SONAME. Nothing is executed and nothing throws: files come from packages we
 * did not build, so every offset is bounds-checked and a bad one simply yields less.
 */

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const SHT_DYNAMIC = 6;
const DT_NULL = 0;
const DT_NEEDED = 1;
const DT_STRTAB = 5;
const DT_STRSZ = 10;
const DT_SONAME = 14;
const DT_RPATH = 15;
const DT_RUNPATH = 29;

/** Caps that keep garbage headers from turning into long loops. */
const MAX_HEADERS = 4096;
const MAX_DYN = 65536;
const MAX_STRING = 4096;

/** True when `buf` starts with the ELF magic `\x7fELF`. */
export function isElfMagic(buf: Buffer): boolean {
  return buf.length >= 4 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
}

/**
 * Parses an ELF file's header and dynamic section.
 *
 * Returns null when `buf` is not ELF (wrong magic, unknown class or byte order, or too
 * short to hold e_type and e_machine). A truncated or corrupt file yields the facts that
 * could be read; the rest stay empty.
 *
 * @example
 * const info = parseElf(await readFile('/bin/ls'));
 * info?.interp; // '/lib64/ld-linux-x86-64.so.2'
 */
export function parseElf(buf: Buffer): ElfInfo | null {
  return parseSource(bufferSource(buf));
}

/**
 * parseElf for a file on disk, read in place: for bodies too large to hold in memory.
 * @example parseElfFile(blobs.path(sha256))
 */
export function parseElfFile(path: string): ElfInfo | null {
  const fd = openSync(path, 'r');
  try {
    return parseSource(fileSource(fd, fstatSync(fd).size));
  } finally {
    closeSync(fd);
  }
}

function parseSource(src: Source): ElfInfo | null {
  const head = src.bytes(0, 20);
  if (!isElfMagic(head) || head.length < 20) return null;
  const cls = head[4] === 1 ? 32 : head[4] === 2 ? 64 : 0;
  const endian = head[5] === 1 ? 'little' : head[5] === 2 ? 'big' : null;
  if (cls === 0 || endian === null) return null;
  const r = new Reader(src, cls, endian === 'little');
  const info = {
    class: cls as 32 | 64,
    endian: endian as 'little' | 'big',
    type: r.u16(16) ?? 0,
    machine: r.u16(18) ?? 0,
    interp: null as string | null,
    needed: [] as string[],
    rpath: [] as string[],
    runpath: [] as string[],
    soname: null as string | null,
  };
  try {
    readDynamic(r, info);
  } catch {
    // Reader never throws on bounds; this guards against anything unforeseen so a
    // hostile file cannot abort a build's rootfs scan.
  }
  return info;
}

const ICONV_OPEN = Buffer.from('\0iconv_open\0');
const POPEN = Buffer.from('\0popen\0');
const SYSTEM = Buffer.from('\0system\0');

interface Mutable {
  iconv?: boolean;
  shell?: boolean;
  interp: string | null;
  needed: string[];
  rpath: string[];
  runpath: string[];
  soname: string | null;
}

interface Segment {
  readonly offset: number;
  readonly vaddr: number;
  readonly filesz: number;
}

function readDynamic(r: Reader, info: Mutable): void {
  const is64 = r.cls === 64;
  const phoff = r.word(is64 ? 32 : 28);
  const phentsize = r.u16(is64 ? 54 : 42);
  const phnum = r.u16(is64 ? 56 : 44);
  const loads: Segment[] = [];
  let dynamic: { offset: number; size: number } | null = null;
  if (phoff !== undefined && phentsize !== undefined && phnum !== undefined && phentsize >= (is64 ? 56 : 32)) {
    for (let i = 0; i < Math.min(phnum, MAX_HEADERS); i++) {
      const at = phoff + i * phentsize;
      const type = r.u32(at);
      if (type === undefined) break;
      const offset = r.word(at + (is64 ? 8 : 4));
      const vaddr = r.word(at + (is64 ? 16 : 8));
      const filesz = r.word(at + (is64 ? 32 : 16));
      if (offset === undefined || vaddr === undefined || filesz === undefined) break;
      if (type === PT_LOAD) loads.push({ offset, vaddr, filesz });
      else if (type === PT_DYNAMIC) dynamic = { offset, size: filesz };
      else if (type === PT_INTERP) info.interp = r.cstring(offset, Math.min(filesz, MAX_STRING));
    }
  }

  let dyn = dynamic ? readDynEntries(r, dynamic.offset, dynamic.size) : null;
  // Dynamic string offsets are relative to DT_STRTAB, a virtual address; PT_LOAD
  // maps it back to the file. Objects without usable segments (or a DT_STRTAB the
  // segments do not cover) fall back to the section headers' .dynamic/.dynstr.
  let strtab = dyn?.strtab !== undefined ? vaddrToOffset(loads, dyn.strtab) : undefined;
  if (!dyn || strtab === undefined) {
    const sec = dynamicFromSections(r);
    if (sec) {
      dyn = readDynEntries(r, sec.offset, sec.size);
      strtab = sec.strtab;
    }
  }
  if (!dyn || strtab === undefined) return;
  const limit = dyn.strsz !== undefined ? Math.min(dyn.strsz, r.length - strtab) : r.length - strtab;
  const str = (off: number): string | null => (off < limit ? r.cstring(strtab! + off, Math.min(MAX_STRING, limit - off)) : null);
  // iconv_open loads gconv modules by name at run time: the slimming keeps them for such files.
  if (limit > 0) {
    const dynstr = r.src.bytes(strtab, limit);
    if (dynstr.indexOf(ICONV_OPEN) >= 0) info.iconv = true;
    // popen and system run /bin/sh -c.
    if (dynstr.indexOf(POPEN) >= 0 || dynstr.indexOf(SYSTEM) >= 0) info.shell = true;
  }
  for (const [tag, val] of dyn.entries) {
    const s = str(val);
    if (s === null || s === '') continue;
    if (tag === DT_NEEDED) info.needed.push(s);
    else if (tag === DT_SONAME) info.soname ??= s;
    else if (tag === DT_RPATH) info.rpath.push(...splitPath(s));
    else if (tag === DT_RUNPATH) info.runpath.push(...splitPath(s));
  }
}

/** An empty component means the current directory to ld.so, which is meaningless in an image: dropped. */
function splitPath(s: string): string[] {
  return s.split(':').filter((p) => p !== '');
}

function readDynEntries(r: Reader, offset: number, size: number) {
  const ent = r.cls === 64 ? 16 : 8;
  const entries: [number, number][] = [];
  let strtab: number | undefined;
  let strsz: number | undefined;
  const end = Math.min(offset + size, r.length);
  for (let at = offset, n = 0; at + ent <= end && n < MAX_DYN; at += ent, n++) {
    // In bounds (checked above), so undefined only means a value past 2^53: no tag we read.
    const tag = r.word(at) ?? -1;
    const val = r.word(at + ent / 2) ?? -1;
    if (tag === DT_NULL) break;
    if (tag === DT_STRTAB) strtab = val;
    else if (tag === DT_STRSZ) strsz = val;
    else if (tag === DT_NEEDED || tag === DT_SONAME || tag === DT_RPATH || tag === DT_RUNPATH) entries.push([tag, val]);
  }
  return { entries, strtab, strsz };
}

function vaddrToOffset(loads: readonly Segment[], addr: number): number | undefined {
  for (const s of loads) {
    if (addr >= s.vaddr && addr < s.vaddr + s.filesz) return s.offset + (addr - s.vaddr);
  }
  return undefined;
}

/** The SHT_DYNAMIC section and the file offset of the string table its sh_link names. */
function dynamicFromSections(r: Reader): { offset: number; size: number; strtab: number } | null {
  const is64 = r.cls === 64;
  const shoff = r.word(is64 ? 40 : 32);
  const shentsize = r.u16(is64 ? 58 : 46);
  const shnum = r.u16(is64 ? 60 : 48);
  if (!shoff || shentsize === undefined || shnum === undefined || shentsize < (is64 ? 64 : 40)) return null;
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return {
      type: r.u32(at + 4),
      offset: r.word(at + (is64 ? 24 : 16)),
      size: r.word(at + (is64 ? 32 : 20)),
      link: r.u32(at + (is64 ? 40 : 24)),
    };
  };
  for (let i = 0; i < Math.min(shnum, MAX_HEADERS); i++) {
    const s = section(i);
    if (s.type !== SHT_DYNAMIC || s.offset === undefined || s.size === undefined || s.link === undefined) continue;
    if (s.link >= shnum) return null;
    const str = section(s.link);
    if (str.offset === undefined || str.offset >= r.length) return null;
    return { offset: s.offset, size: s.size, strtab: str.offset };
  }
  return null;
}

/**
 * Where the bytes come from: a Buffer, or a file read in place (files too large to
 * hold in memory). `bytes` returns at most `n` bytes from `at`, fewer at the end.
 */
interface Source {
  readonly length: number;
  bytes(at: number, n: number): Buffer;
}

const bufferSource = (buf: Buffer): Source => ({ length: buf.length, bytes: (at, n) => buf.subarray(at, at + n) });

/** Positional reads of an open file, a page cached at a time (headers are read field by field). */
function fileSource(fd: number, length: number): Source {
  const PAGE = 64 * 1024;
  const pages = new Map<number, Buffer>();
  const page = (i: number): Buffer => {
    let p = pages.get(i);
    if (!p) {
      p = Buffer.alloc(Math.min(PAGE, length - i * PAGE));
      readSync(fd, p, 0, p.length, i * PAGE);
      if (pages.size > 64) pages.clear();
      pages.set(i, p);
    }
    return p;
  };
  return {
    length,
    bytes(at, n) {
      const end = Math.min(at + n, length);
      if (at >= end) return Buffer.alloc(0);
      const first = Math.floor(at / PAGE);
      const last = Math.floor((end - 1) / PAGE);
      if (first === last) return page(first).subarray(at - first * PAGE, end - first * PAGE);
      const parts: Buffer[] = [];
      for (let i = first; i <= last; i++) parts.push(page(i).subarray(i === first ? at - i * PAGE : 0, i === last ? end - i * PAGE : PAGE));
      return Buffer.concat(parts);
    },
  };
}

/** Bounds-checked reads; `undefined` past the end instead of a RangeError. */
class Reader {
  constructor(
    readonly src: Source,
    readonly cls: 32 | 64,
    private readonly le: boolean,
  ) {}

  get length(): number {
    return this.src.length;
  }

  private at(at: number, n: number): Buffer | undefined {
    if (!Number.isSafeInteger(at) || at < 0 || at + n > this.src.length) return undefined;
    return this.src.bytes(at, n);
  }

  u16(at: number): number | undefined {
    const b = this.at(at, 2);
    return b && (this.le ? b.readUInt16LE(0) : b.readUInt16BE(0));
  }

  u32(at: number): number | undefined {
    const b = this.at(at, 4);
    return b && (this.le ? b.readUInt32LE(0) : b.readUInt32BE(0));
  }

  /** A native word (Elf32_Addr/Off or Elf64_Addr/Off); 64-bit values beyond 2^53 are treated as unreadable. */
  word(at: number): number | undefined {
    if (this.cls === 32) return this.u32(at);
    const b = this.at(at, 8);
    if (!b) return undefined;
    const v = this.le ? b.readBigUInt64LE(0) : b.readBigUInt64BE(0);
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
  }

  /** NUL-terminated string of at most `max` bytes; null when `at` is outside the file. */
  cstring(at: number, max: number): string | null {
    if (!Number.isSafeInteger(at) || at < 0 || at >= this.src.length) return null;
    const b = this.src.bytes(at, Math.max(0, max));
    const nul = b.indexOf(0);
    return b.toString('utf8', 0, nul < 0 ? b.length : nul);
  }
}
