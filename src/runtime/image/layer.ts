/**
 * Phase 2, first half: one rootfs (a list of Entries plus their bodies in a
 * BlobStore) becomes one layer tar, byte for byte the same for the same input.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type TransformCallback, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { extract, type Pack } from 'tar-stream';
import { BUILD_SCRIPT_VERSION } from '../../contract/assembly';
import { RootfsError } from '../../contract/errors';
import { renamedIntoPlace, tempPath, writeAtomic } from '../../util/files';
import { HashingStream, sha256 } from '../../util/hash';
import { packTo, writeEntry, type TarHeader } from '../../util/tar';
import { DamagedBlobError, type BlobStore } from '../store/blobs';
import type { Entry } from '../store/entry';
import { CAPABILITY } from '../rootfs/tar';
import type { StateDir } from '../store/state';

/** Options of {@link writeLayer}. */
export interface LayerOptions {
  /** Modification time of every entry, in epoch seconds (SOURCE_DATE_EPOCH). */
  readonly mtime: number;
  /**
   * Gzip the tar (zlib level 6, header normalized).
   * @default false
   */
  readonly gzip?: boolean;
}

/** What a written layer is known by. */
export interface LayerInfo {
  /** `sha256:<hex>` of the uncompressed tar: the image config's `rootfs.diff_ids` entry. */
  readonly diffId: string;
  /** `sha256:<hex>` of the blob as written (gzip or not): the manifest's layer digest. */
  readonly digest: string;
  /** Bytes of the blob as written. */
  readonly size: number;
  /** Bytes of the uncompressed tar. */
  readonly uncompressedSize: number;
}

/** OCI media type of an uncompressed layer. */
export const LAYER_MEDIA_TYPE = 'application/vnd.oci.image.layer.v1.tar';
/** OCI media type of a gzip layer (`opts.gzip`). */
export const LAYER_GZIP_MEDIA_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';

// File type bits, ORed into the mode we hand tar-stream: `pack.entry` replaces a
// falsy mode with 0644/0755, which would turn a mode-000 file (e.g. /etc/shadow) into
// 0644. With a type bit set the mode is never 0; the header keeps only `mode & 07777`.
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
// Largest id a 6-digit octal ustar field holds; larger ids go in a pax record.
const MAX_USTAR_ID = 0o777777;
// zlib writes the OS of the host into the gzip header (3 on Unix, 10 elsewhere);
// pin it to Unix so a layer built on any host has the same digest.
const GZIP_OS_UNIX = 3;

/**
 * Writes `entries` (already sorted) as one layer tar to `out`, ending it.
 * Every header field is taken from the entry or `opts`, never from the clock
 * or the host, so the same input always gives the same bytes and digests.
 * When `out` is a path, the layer is written to a temp file and renamed into place.
 *
 * @example
 * const info = await writeLayer(entries, blobs, '/tmp/layer.tar.gz', { mtime: 0, gzip: true });
 * info.diffId; // sha256:… of the uncompressed tar
 */
export function writeLayer(entries: readonly Entry[], blobs: BlobStore, out: Writable | string, opts: LayerOptions): Promise<LayerInfo> {
  if (typeof out === 'string') return writeLayerFile(entries, blobs, out, opts);
  return writeLayerStream(entries, blobs, out, opts);
}

/**
 * Writes the layer to `destPath` through a temp file in the same directory, then
 * renames it into place: a crash never leaves a half layer under the real name.
 *
 * @example
 * const info = await writeLayerFile(entries, blobs, 'out/layer.tar', { mtime: 1700000000 });
 */
export async function writeLayerFile(
  entries: readonly Entry[],
  blobs: BlobStore,
  destPath: string,
  opts: LayerOptions,
): Promise<LayerInfo> {
  await mkdir(dirname(destPath), { recursive: true });
  return renamedIntoPlace(destPath, (tmp) => writeLayerStream(entries, blobs, createWriteStream(tmp), opts));
}

async function writeLayerStream(entries: readonly Entry[], blobs: BlobStore, out: Writable, opts: LayerOptions): Promise<LayerInfo> {
  // 11 octal digits: a larger mtime would overflow the ustar header.
  if (!Number.isInteger(opts.mtime) || opts.mtime < 0 || opts.mtime > 0o77777777777) {
    throw new RootfsError(`layer mtime must be a whole number of seconds from 0 to ${0o77777777777}, got ${opts.mtime}`);
  }
  const raw = new HashingStream();
  const blob = new HashingStream();
  const stages: NodeJS.ReadWriteStream[] = [raw];
  if (opts.gzip) stages.push(createGzip({ level: 6 }), new GzipHeaderFix());
  stages.push(blob);

  const mtime = new Date(opts.mtime * 1000);
  await packTo(stages, out, async (tar) => {
    const links = new HardlinkGroups();
    for (const e of entries) await addEntry(tar, links.place(e), blobs, mtime);
  });

  const diffId = `sha256:${raw.hex()}`;
  return {
    diffId,
    digest: opts.gzip ? `sha256:${blob.hex()}` : diffId,
    size: blob.bytes,
    uncompressedSize: raw.bytes,
  };
}

/**
 * Files that were one inode in the builder (Entry.inode) are linked again inside a
 * layer: the first of a group in layer order carries the data, the later ones become
 * hardlinks to it. Only files with the same body, mode and owner are linked, so a
 * link never changes what a path holds.
 */
class HardlinkGroups {
  private readonly first = new Map<string, string>();

  place(e: Entry): Entry {
    if (e.type !== 'file' || e.inode === undefined || e.size === 0) return e;
    const group = [e.inode, e.sha256, e.mode, e.uid, e.gid].join('\0');
    const target = this.first.get(group);
    if (target === undefined) {
      this.first.set(group, e.path);
      return e;
    }
    return { ...e, type: 'hardlink', size: 0, linkname: target, sha256: null, elf: null };
  }
}

function layerHeader(e: Entry, mtime: Date): TarHeader {
  const h: TarHeader = {
    name: e.path,
    mode: e.mode & 0o7777,
    uid: e.uid,
    gid: e.gid,
    mtime,
    uname: '',
    gname: '',
    size: 0,
  };
  switch (e.type) {
    case 'file':
      h.type = 'file';
      h.mode! |= S_IFREG;
      h.size = e.size;
      break;
    case 'dir':
      h.type = 'directory';
      h.mode! |= S_IFDIR;
      h.name = `${e.path}/`;
      break;
    case 'symlink':
      h.type = 'symlink';
      h.mode! |= S_IFLNK;
      h.linkname = e.linkname!;
      break;
    case 'hardlink':
      h.type = 'link';
      h.mode! |= S_IFREG;
      h.linkname = e.linkname!;
      break;
  }
  // ustar saturates larger ids silently; a pax record carries the real value.
  if (e.uid > MAX_USTAR_ID || e.gid > MAX_USTAR_ID) {
    h.pax = { uid: String(e.uid), gid: String(e.gid) };
  }
  // A kept file capability travels as the pax record the engine turns into the xattr.
  if (e.type === 'file' && e.caps !== undefined) h.pax = { ...(h.pax as Record<string, string> | undefined), [CAPABILITY]: e.caps };
  return h;
}

async function addEntry(tar: Pack, e: Entry, blobs: BlobStore, mtime: Date): Promise<void> {
  // The root directory's metadata belongs to the engine, not to a layer.
  if (e.path === '' || e.path === '.') return;
  if (e.path.startsWith('/') || e.path.startsWith('./') || e.path.endsWith('/')) {
    throw new RootfsError(`${e.path}: entry path is not normalized`, [e.path]);
  }
  if ((e.type === 'symlink' || e.type === 'hardlink') && !e.linkname) {
    throw new RootfsError(`${e.path}: ${e.type} without a target`, [e.path]);
  }
  if (e.type === 'file' && e.size > 0 && !e.sha256) {
    throw new RootfsError(`${e.path}: file of ${e.size} bytes without a blob`, [e.path]);
  }
  const header = layerHeader(e, mtime);
  try {
    await writeEntry(tar, header, e.type !== 'file' || e.size === 0 ? null : blobs.stream(e.sha256!));
  } catch (err) {
    if (err instanceof DamagedBlobError) throw err.at(e.path);
    const why = err instanceof Error ? err.message : String(err);
    // A longer blob overruns the entry before its hash is checked.
    if (why === 'Size mismatch') await blobs.verify(e.sha256!);
    const hint = why === 'Size mismatch' ? ` (blob ${e.sha256} is not ${e.size} bytes)` : '';
    const wrapped = new RootfsError(`${e.path}: cannot write to the layer: ${why}${hint}`, [e.path]);
    (wrapped as { cause?: unknown }).cause = err;
    throw wrapped;
  }
}

/**
 * Pins the variable bytes of the 10-byte gzip header: MTIME (4..7) to 0 and OS (9)
 * to Unix. Node's zlib already writes MTIME 0; the OS byte depends on the host.
 * Works whatever size the first chunks are.
 */
class GzipHeaderFix extends Transform {
  private offset = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.offset < 10) {
      chunk = Buffer.from(chunk);
      for (let i = 0; i < chunk.length && this.offset + i < 10; i++) {
        const at = this.offset + i;
        if (at >= 4 && at <= 7) chunk[i] = 0;
        if (at === 9) chunk[i] = GZIP_OS_UNIX;
      }
    }
    this.offset += chunk.length;
    cb(null, chunk);
  }
}

/** Version of the layer index below: a change in how a layer's bytes follow from its entries bumps it. */
const LAYER_INDEX_VERSION = '1';

/**
 * Writes a layer (deterministic tar of `entries`) into the state directory's
 * `layers/` under its diff id. The name is known only once the tar is written, so
 * it is staged first. The same entries (and mtime) give the same bytes: a layer
 * already written for them is reused without writing it again
 * (`layers/by-entries/`), as after a change to only an image's `.file()`s, whose
 * packages layer stays as it was. The index only says where to look: the layer it
 * names is read and must be, header by header and body by body, the tar of these
 * entries with its diff id; an index that does not parse, names another layer or a
 * damaged one is dropped (said through `state.warn`) and the layer written again.
 * @example const info = await storeLayer(state, entries, 0); state.layerPath(info.diffId)
 */
export async function storeLayer(state: StateDir, entries: readonly Entry[], mtime: number): Promise<LayerInfo> {
  const index = join(
    dirname(state.layerPath('index')),
    'by-entries',
    `${sha256([LAYER_INDEX_VERSION, BUILD_SCRIPT_VERSION, mtime, JSON.stringify(entries)].join('\0'))}.json`,
  );
  const text = await readFile(index, 'utf8').catch(() => null);
  if (text !== null) {
    const known = parseLayerInfo(text);
    const why = !known ? 'does not parse as a layer record' : await layerMismatch(state.layerPath(known.diffId), entries, mtime, known);
    if (!why) return known!;
    state.warn(`state directory: ${index} ${why}; dropped, writing the layer again`);
    await rm(index, { force: true });
  }
  const staging = tempPath(state.layerPath('staging'));
  const info = await writeLayerFile(entries, state.blobs, staging, { mtime });
  await rename(staging, state.layerPath(info.diffId)).catch(async (e) => {
    await rm(staging, { force: true });
    throw e;
  });
  await writeAtomic(index, JSON.stringify(info));
  return info;
}

/** A LayerInfo read back, or null when it is not one (garbage, a field missing or of the wrong kind). */
function parseLayerInfo(text: string): LayerInfo | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  const o = v as Record<string, unknown>;
  const digest = (x: unknown) => typeof x === 'string' && /^sha256:[0-9a-f]{64}$/.test(x);
  const count = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  if (!o || typeof o !== 'object' || !digest(o.diffId) || !digest(o.digest) || !count(o.size) || !count(o.uncompressedSize)) return null;
  // A stored layer is the uncompressed tar: its digest is its diff id.
  if (o.digest !== o.diffId || o.size !== o.uncompressedSize) return null;
  return { diffId: o.diffId as string, digest: o.digest as string, size: o.size as number, uncompressedSize: o.uncompressedSize as number };
}

/**
 * Why the layer file at `path` is not the tar `entries` make (with `mtime`), as
 * `known` says, or null when it is: its bytes hash to the diff id, and its headers
 * and bodies are, in order, the ones the writer makes of the entries. One read.
 */
async function layerMismatch(path: string, entries: readonly Entry[], mtime: number, known: LayerInfo): Promise<string | null> {
  const st = await stat(path).catch(() => null);
  if (!st?.isFile()) return `names layer ${known.diffId.slice(7, 19)}, which is missing`;
  if (st.size !== known.uncompressedSize) return `names layer ${known.diffId.slice(7, 19)}, whose size is not the one recorded`;
  const date = new Date(mtime * 1000);
  const links = new HardlinkGroups();
  const expected = entries.filter((e) => e.path !== '' && e.path !== '.').map((e) => links.place(e));
  const whole = new HashingStream();
  const ex = extract();
  const src = createReadStream(path);
  src.on('error', (err) => ex.destroy(err));
  src.pipe(whole).pipe(ex);
  let i = 0;
  let wrong: string | null = null;
  try {
    for await (const stream of ex) {
      const h = stream.header;
      const e = expected[i++];
      const want = e ? layerHeader(e, date) : null;
      const pax = (h.pax ?? {}) as Record<string, string>;
      const wantPax = (want?.pax ?? {}) as Record<string, string>;
      const same =
        want &&
        h.name === want.name &&
        h.type === want.type &&
        ((h.mode ?? 0) & 0o7777) === ((want.mode ?? 0) & 0o7777) &&
        Number(pax.uid ?? h.uid) === e!.uid &&
        Number(pax.gid ?? h.gid) === e!.gid &&
        (h.size ?? 0) === (want.size ?? 0) &&
        (h.linkname ?? null) === (want.linkname ?? null) &&
        pax[CAPABILITY] === wantPax[CAPABILITY] &&
        h.mtime?.getTime() === date.getTime();
      if (!same) {
        wrong ??= `names layer ${known.diffId.slice(7, 19)}, which holds ${h.name} where these entries have ${want?.name ?? 'nothing'}`;
        stream.resume();
        continue;
      }
      if (e!.type === 'file' && e!.size > 0) {
        const body = new HashingStream();
        await pipeline(stream, body, new Writable({ write: (_c, _e, cb) => cb() }));
        if (body.hex() !== e!.sha256)
          wrong ??= `names layer ${known.diffId.slice(7, 19)}, whose ${h.name} is not the body these entries have`;
      } else stream.resume();
    }
  } catch (err) {
    return `names layer ${known.diffId.slice(7, 19)}, which is not a readable tar (${(err as Error).message})`;
  }
  if (wrong) return wrong;
  if (i !== expected.length) return `names layer ${known.diffId.slice(7, 19)}, which has ${i} entries where these have ${expected.length}`;
  if (`sha256:${whole.hex()}` !== known.diffId) return `names layer ${known.diffId.slice(7, 19)}, whose bytes do not hash to its name`;
  return null;
}
