import { Readable } from 'node:stream';
import { pack, type Header } from 'tar-stream';
import type { ElfInfo, Entry } from '../../../src/runtime/store/entry';

/** Fixed so the tars are byte-identical run to run. */
export const MTIME = new Date(Date.UTC(2024, 0, 1));

export interface TarItem {
  readonly name: string;
  readonly type?: Header['type'];
  readonly mode?: number;
  readonly linkname?: string;
  readonly body?: Buffer | string;
  readonly devmajor?: number;
  readonly devminor?: number;
}

/** A tar stream of `items`, every header with mtime, uid, gid and mode given. */
export function makeTar(items: readonly TarItem[]): Readable {
  const p = pack();
  (async () => {
    for (const it of items) {
      const type = it.type ?? 'file';
      const header: Partial<Header> & Pick<Header, 'name'> = {
        name: it.name,
        type,
        mode: it.mode ?? (type === 'directory' ? 0o755 : 0o644),
        uid: 0,
        gid: 0,
        mtime: MTIME,
        linkname: it.linkname,
        devmajor: it.devmajor,
        devminor: it.devminor,
      };
      await new Promise<void>((resolve, reject) => {
        if (type === 'file') p.entry(header, it.body ?? '', (err) => (err ? reject(err) : resolve()));
        else p.entry(header, (err) => (err ? reject(err) : resolve()));
      });
    }
    p.finalize();
  })().catch((err) => p.destroy(err));
  // tar-stream's streams are streamx ones; readRootfsTar takes a Node Readable, as from fs.
  return Readable.from(p);
}

/** Entry builders for tests that need no tar. */
export const dir = (path: string, mode = 0o755): Entry => ({
  path,
  type: 'dir',
  mode,
  uid: 0,
  gid: 0,
  size: 0,
  linkname: null,
  sha256: null,
  elf: null,
});
export const symlink = (path: string, target: string): Entry => ({
  path,
  type: 'symlink',
  mode: 0o777,
  uid: 0,
  gid: 0,
  size: 0,
  linkname: target,
  sha256: null,
  elf: null,
});
export const hardlink = (path: string, target: string): Entry => ({
  path,
  type: 'hardlink',
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: 0,
  linkname: target,
  sha256: null,
  elf: null,
});
export const file = (path: string, size = 10, elf: ElfInfo | null = null): Entry => ({
  path,
  type: 'file',
  mode: elf ? 0o755 : 0o644,
  uid: 0,
  gid: 0,
  size,
  linkname: null,
  sha256: 'f'.repeat(64),
  elf,
});

/** ELF facts of an x86-64 program or library, for layers built without bytes. */
export function elf(o: Partial<ElfInfo> = {}): ElfInfo {
  return { class: 64, endian: 'little', machine: 62, type: 3, interp: null, needed: [], rpath: [], runpath: [], soname: null, ...o };
}
