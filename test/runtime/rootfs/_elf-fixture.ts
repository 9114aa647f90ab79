/**
 * Builds small, valid ELF files for tests: an ELF header, PT_LOAD/PT_INTERP/PT_DYNAMIC
 * program headers, a dynamic section and string table, and section headers
 * (.dynstr, .dynamic, .shstrtab), in either class and byte order. Nothing runs them;
 * `readelf -d` reads them like any linker output.
 */

export interface ElfFixture {
  readonly class: 32 | 64;
  readonly endian: 'little' | 'big';
  /** @default 62 (x86-64) */
  readonly machine?: number;
  /** @default 3 (ET_DYN) */
  readonly type?: number;
  readonly interp?: string;
  readonly needed?: readonly string[];
  readonly rpath?: string;
  readonly runpath?: string;
  readonly soname?: string;
  /** Leave out the program headers, so only the section headers describe the dynamic section. */
  readonly sectionsOnly?: boolean;
}

const BASE = 0x400000;

export function buildElf(f: ElfFixture): Buffer {
  const is64 = f.class === 64;
  const le = f.endian === 'little';
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const shentsize = is64 ? 64 : 40;
  const dynent = is64 ? 16 : 8;

  // String table: offsets of each string.
  const strings = ['', ...(f.needed ?? []), f.soname, f.rpath, f.runpath].filter((s): s is string => s !== undefined);
  const strOff = new Map<string, number>();
  let dynstr = Buffer.alloc(0);
  for (const s of strings) {
    if (strOff.has(s)) continue;
    strOff.set(s, dynstr.length);
    dynstr = Buffer.concat([dynstr, Buffer.from(s + '\0')]);
  }
  const shstr = Buffer.from('\0.dynstr\0.dynamic\0.shstrtab\0');

  const dyn: [number, number][] = [];
  for (const n of f.needed ?? []) dyn.push([1, strOff.get(n)!]);
  if (f.soname !== undefined) dyn.push([14, strOff.get(f.soname)!]);
  if (f.rpath !== undefined) dyn.push([15, strOff.get(f.rpath)!]);
  if (f.runpath !== undefined) dyn.push([29, strOff.get(f.runpath)!]);
  const interp = f.interp !== undefined ? Buffer.from(f.interp + '\0') : null;

  const phnum = f.sectionsOnly ? 0 : interp ? 3 : 2;
  const phoff = ehsize;
  const interpOff = phoff + phnum * phentsize;
  const strtabOff = align(interpOff + (interp?.length ?? 0), 8);
  const dynOff = align(strtabOff + dynstr.length, 8);
  dyn.push([5, BASE + strtabOff], [10, dynstr.length], [0, 0]);
  const dynSize = dyn.length * dynent;
  const shstrOff = dynOff + dynSize;
  const shoff = align(shstrOff + shstr.length, 8);
  const shnum = 4;
  const size = shoff + shnum * shentsize;

  const b = Buffer.alloc(size);
  const u16 = (at: number, v: number) => (le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
  const u32 = (at: number, v: number) => (le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  const word = (at: number, v: number) =>
    is64 ? (le ? b.writeBigUInt64LE(BigInt(v), at) : b.writeBigUInt64BE(BigInt(v), at)) : u32(at, v);

  b.write('\x7fELF', 0, 'latin1');
  b[4] = is64 ? 2 : 1;
  b[5] = le ? 1 : 2;
  b[6] = 1; // EV_CURRENT
  u16(16, f.type ?? 3);
  u16(18, f.machine ?? 62);
  u32(20, 1);
  word(24, 0); // e_entry
  word(is64 ? 32 : 28, phnum ? phoff : 0);
  word(is64 ? 40 : 32, shoff);
  u16(is64 ? 52 : 40, ehsize);
  u16(is64 ? 54 : 42, phentsize);
  u16(is64 ? 56 : 44, phnum);
  u16(is64 ? 58 : 46, shentsize);
  u16(is64 ? 60 : 48, shnum);
  u16(is64 ? 62 : 50, 3); // e_shstrndx

  const phdr = (i: number, type: number, offset: number, filesz: number, flags: number, alignTo: number) => {
    const at = phoff + i * phentsize;
    u32(at, type);
    if (is64) {
      u32(at + 4, flags);
      word(at + 8, offset);
      word(at + 16, BASE + offset);
      word(at + 24, BASE + offset);
      word(at + 32, filesz);
      word(at + 40, filesz);
      word(at + 48, alignTo);
    } else {
      word(at + 4, offset);
      word(at + 8, BASE + offset);
      word(at + 12, BASE + offset);
      word(at + 16, filesz);
      word(at + 20, filesz);
      u32(at + 24, flags);
      word(at + 28, alignTo);
    }
  };
  if (phnum) {
    let i = 0;
    if (interp) phdr(i++, 3, interpOff, interp.length, 4, 1);
    phdr(i++, 1, 0, size, 6, 0x1000);
    phdr(i++, 2, dynOff, dynSize, 6, 8);
  }
  if (interp) interp.copy(b, interpOff);
  dynstr.copy(b, strtabOff);
  dyn.forEach(([tag, val], i) => {
    word(dynOff + i * dynent, tag);
    word(dynOff + i * dynent + dynent / 2, val);
  });
  shstr.copy(b, shstrOff);

  const shdr = (i: number, name: number, type: number, offset: number, sz: number, link: number, entsize: number) => {
    const at = shoff + i * shentsize;
    u32(at, name);
    u32(at + 4, type);
    if (is64) {
      word(at + 16, BASE + offset);
      word(at + 24, offset);
      word(at + 32, sz);
      u32(at + 40, link);
      word(at + 56, entsize);
    } else {
      word(at + 12, BASE + offset);
      word(at + 16, offset);
      word(at + 20, sz);
      u32(at + 24, link);
      word(at + 36, entsize);
    }
  };
  shdr(1, 1, 3, strtabOff, dynstr.length, 0, 0); // .dynstr, SHT_STRTAB
  shdr(2, 9, 6, dynOff, dynSize, 1, dynent); // .dynamic, SHT_DYNAMIC, linked to .dynstr
  shdr(3, 18, 3, shstrOff, shstr.length, 0, 0); // .shstrtab
  return b;
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
