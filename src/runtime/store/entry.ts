/**
 * The in-memory index of a root filesystem: one Entry per path, file bodies kept
 * out of memory in a content-addressed BlobStore. Shared by the rootfs pipeline
 * (tar.ts, purge.ts, closure.ts, linkcheck.ts) and the layer writer (image/layer.ts).
 */

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink';

/** What elf.ts reads from an ELF file (nothing is executed). */
export interface ElfInfo {
  readonly class: 32 | 64;
  readonly endian: 'little' | 'big';
  /** e_machine, e.g. 62 for x86-64, 183 for aarch64. */
  readonly machine: number;
  /** ET_EXEC = 2, ET_DYN = 3, ... */
  readonly type: number;
  /** PT_INTERP, e.g. `/lib64/ld-linux-x86-64.so.2`. */
  readonly interp: string | null;
  readonly needed: readonly string[];
  readonly rpath: readonly string[];
  readonly runpath: readonly string[];
  readonly soname: string | null;
  /** The file names `iconv_open` in its dynamic strings (defines or calls it): gconv modules may be loaded. */
  readonly iconv?: boolean;
  /** The file names `popen` or `system` in its dynamic strings: it may run /bin/sh. */
  readonly shell?: boolean;
  /** The file's body names the C.UTF-8 locale (tmux, Python ask for it): set by the tar reader. */
  readonly utf8Locale?: boolean;
}

export interface Entry {
  /** Normalized: relative to the root, no leading `./` or `/`, no trailing `/` (e.g. `usr/bin/nginx`). */
  readonly path: string;
  readonly type: EntryType;
  /** Permission bits including setuid, setgid and sticky (mask 0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Size in bytes of a file's body; 0 otherwise. */
  readonly size: number;
  /** Symlink target as written, or the normalized path a hardlink points to. */
  readonly linkname: string | null;
  /** sha256 (hex) of a file's body, stored in the BlobStore; null otherwise. */
  readonly sha256: string | null;
  /** ELF facts of a file, or null when it is not an ELF file. */
  readonly elf: ElfInfo | null;
  /** Package that owns the path, when known. */
  readonly origin?: string;
  /**
   * Hardlink group: files that were hardlinks of one another in the builder share
   * this id (the path of the group's first file there). They are files here, each
   * with its own copy of the facts; the layer writer links them again, the first
   * in layer order carrying the data, so no layer ever holds a link whose target is
   * missing, later in the archive or in another layer.
   */
  readonly inode?: string;
  /** A script's `#!` interpreter (`/usr/bin/perl`; for `#!/usr/bin/env python3`, `python3`). */
  readonly shebang?: string;
  /**
   * The file's `security.capability` attribute in the builder, as the tar's pax record
   * carried it (`setcap cap_net_raw+ep`); removed and reported unless the image keeps
   * privileges (`.keep('setuid')`), then written to the layer as the same record.
   */
  readonly caps?: string;
  /**
   * sha1 (hex) of a file's body, when the pipeline had the body in hand (the user's
   * `.file()`s and `.dir()`s): the SBOM's SHA1 checksum without reading the blob again.
   */
  readonly sha1?: string;
}
