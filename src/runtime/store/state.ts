import { readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stateDirOf } from '../../contract/defaults';
import { writeAtomic } from '../../util/files';
import { hashFile, sha256 } from '../../util/hash';
import { ensureWritableDir } from './dirs';
import { withLock, type LockOptions } from './lock';
import { BlobStore } from './blobs';
import type { Entry } from './entry';

/** What phase 1 left for a phase-1 key (`ManifestImage.phase1Key`): the rootfs tar and what was installed. */
export interface RootfsRecord {
  readonly key: string;
  readonly sha256: string;
  readonly size: number;
  readonly packages: readonly PackageInfo[];
  /** path → package, for files that came from a package. */
  readonly origins: Readonly<Record<string, string>>;
  /** Accounts the install created (maintainer scripts, hooks). */
  readonly createdAccounts?: readonly CreatedAccount[];
  /** Debian: each installed package's stanza of the builder's /var/lib/dpkg/status (for status.d). */
  readonly control?: Readonly<Record<string, string>>;
  /** The builder image phase 1 ran in (for the provenance). */
  readonly builderImage?: { readonly ref: string; readonly id: string | null };
  /**
   * sha256 of `<key>.entries.json`: the tar as the pipeline reads it (entries, their
   * bodies in the blob store), written by the first pipeline run, so later runs
   * (a `.file()` or config edit) neither read nor hash the tar again.
   */
  readonly entriesSha256?: string;
}

/**
 * An account a maintainer script created in the builder: a user (with its primary
 * group, named when the install created that group too) or a group alone.
 */
export interface CreatedAccount {
  readonly user?: string;
  readonly uid?: number;
  readonly group?: string;
  readonly gid: number;
  readonly home?: string;
  readonly shell?: string;
}

/** One installed package, as packages.json lists it. */
export interface PackageInfo {
  readonly name: string;
  readonly version: string;
  readonly arch?: string;
  readonly source?: string;
  readonly origin: string;
  readonly use?: readonly string[];
  readonly slot?: string;
  readonly repository?: string;
  /** Debian: Section, Priority, Essential, and the closure packages it depends on. */
  readonly section?: string;
  readonly priority?: string;
  readonly essential?: boolean;
  readonly depends?: readonly string[];
  /** Debian: virtual packages it provides (`awk` for mawk). */
  readonly provides?: readonly string[];
}

/** What a finished build of an image key left: enough for children and for a cache hit. */
export interface BuildRecord {
  readonly id: string;
  readonly key: string;
  /** Docker image id = config digest. */
  readonly imageId: string;
  readonly configJson: string;
  /** diff ids of all layers, parents first, this image's last. */
  readonly diffIds: readonly string[];
  /** This image's last layer: uncompressed tar in `layers/`. */
  readonly layer: { readonly diffId: string; readonly size: number };
  /** This image's layers, the rootfs then its `.file()`s (older records: `layer` alone). */
  readonly layers?: readonly { readonly diffId: string; readonly size: number }[];
  readonly size: number;
  readonly packages: readonly PackageInfo[];
  /** Packages of all ancestors, by ancestor id (nearest first). */
  readonly inherited: readonly { readonly id: string; readonly packages: readonly PackageInfo[] }[];
  readonly purged: unknown;
  readonly tags: readonly string[];
  /** Accounts this image added because its install created them (children keep them in /etc/passwd). */
  readonly createdAccounts?: readonly CreatedAccount[];
  /** sha256 of `<key>.entries.json` as written (set by writeBuild); a record without it is not trusted. */
  readonly entriesSha256?: string;
}

/**
 * The state directory (`.imgsdk/` by default): file bodies, cached rootfs tars,
 * layers, build records, logs and reports. Everything is written to a temp name
 * and renamed into place, and verified by hash when read, so a crash or Ctrl-C
 * never leaves a corrupt entry that is taken for a good one.
 */
export class StateDir {
  readonly root: string;
  readonly blobs: BlobStore;
  constructor(root = stateDirOf()) {
    this.root = resolve(root);
    this.blobs = new BlobStore(join(this.root, 'blobs'));
  }

  rootfsPath(key: string): string {
    return join(this.root, 'rootfs', `${key}.tar`);
  }
  layerPath(diffId: string): string {
    return join(this.root, 'layers', `${diffId.replace(/^sha256:/, '')}.tar`);
  }
  imageDir(id: string): string {
    return join(this.root, 'images', id);
  }
  logPath(id: string): string {
    return join(this.imageDir(id), 'build.log');
  }
  reportPath(id: string, name: string): string {
    return join(this.imageDir(id), name);
  }

  /**
   * The rootfs record of a key whose tar is present and matches its hash; else null.
   * A record whose tar was read into entries already ({@link readRootfsEntries}: the
   * pipeline reads those, verified by their own hash) has its tar checked by size only.
   */
  async readRootfs(key: string): Promise<RootfsRecord | null> {
    const rec = await readJson<RootfsRecord>(join(this.root, 'rootfs', `${key}.json`));
    if (!rec || rec.key !== key) return null;
    if (rec.entriesSha256 && (await stat(this.rootfsPath(key)).catch(() => null))?.size === rec.size) return rec;
    const actual = await hashFile(this.rootfsPath(key)).catch(() => null);
    if (actual !== rec.sha256) {
      await rm(this.rootfsPath(key), { force: true });
      await rm(join(this.root, 'rootfs', `${key}.json`), { force: true });
      return null;
    }
    return rec;
  }

  /** The rootfs of an image that installs nothing: an empty tar. */
  async writeEmptyRootfs(key: string): Promise<RootfsRecord> {
    const empty = Buffer.alloc(1024);
    await writeAtomic(this.rootfsPath(key), empty);
    const rec: RootfsRecord = { key, sha256: sha256(empty), size: empty.length, packages: [], origins: {} };
    await this.writeRootfsRecord(rec);
    return rec;
  }

  async writeRootfsRecord(rec: RootfsRecord): Promise<void> {
    await writeAtomic(join(this.root, 'rootfs', `${rec.key}.json`), JSON.stringify(rec));
  }

  /** The rootfs tar of `rec` as entries, when written before and matching the hash in `rec`; else null. */
  async readRootfsEntries(rec: RootfsRecord): Promise<Entry[] | null> {
    if (!rec.entriesSha256) return null;
    const text = await readFile(join(this.root, 'rootfs', `${rec.key}.entries.json`)).catch(() => null);
    if (!text || sha256(text) !== rec.entriesSha256) return null;
    try {
      return JSON.parse(text.toString('utf8')) as Entry[];
    } catch {
      return null;
    }
  }

  /** Keeps the rootfs tar of `rec` as entries (bodies in the blob store); the record, updated. */
  async writeRootfsEntries(rec: RootfsRecord, entries: readonly Entry[]): Promise<RootfsRecord> {
    const json = JSON.stringify(entries);
    await writeAtomic(join(this.root, 'rootfs', `${rec.key}.entries.json`), json);
    const updated = { ...rec, entriesSha256: sha256(json) };
    await this.writeRootfsRecord(updated);
    return updated;
  }

  /**
   * The build record of an image key, when it, its layer files and its entries are
   * intact (both checked against the hashes it holds); else null, so it is built again.
   * With `verifyLayer: false` the layer file is only checked for its size (a cache hit
   * that loads nothing does not read it; `docker load` checks every layer's diff id).
   */
  async readBuild(id: string, key: string, opts: { verifyLayer?: boolean } = {}): Promise<BuildRecord | null> {
    const rec = await readJson<BuildRecord>(join(this.imageDir(id), `${key}.json`));
    if (!rec || rec.key !== key || rec.id !== id || !rec.layer || !rec.entriesSha256) return null;
    for (const l of rec.layers ?? [rec.layer]) {
      if (opts.verifyLayer === false) {
        const st = await stat(this.layerPath(l.diffId)).catch(() => null);
        if (!st?.isFile() || st.size !== l.size) return null;
      } else {
        const actual = await hashFile(this.layerPath(l.diffId)).catch(() => null);
        if (actual !== l.diffId.replace(/^sha256:/, '')) return null;
      }
    }
    return (await hashFile(this.entriesPath(id, key)).catch(() => null)) === rec.entriesSha256 ? rec : null;
  }

  async writeBuild(rec: BuildRecord, entries: readonly Entry[]): Promise<void> {
    const json = JSON.stringify(entries);
    await writeAtomic(this.entriesPath(rec.id, rec.key), json);
    const entriesSha256 = sha256(json);
    await writeAtomic(join(this.imageDir(rec.id), `${rec.key}.json`), JSON.stringify({ ...rec, entriesSha256 }));
  }

  /**
   * The final entries of an image's own layer (for children's link checks and
   * copies), when they match the hash in the build record; else null.
   */
  async readEntries(id: string, key: string): Promise<Entry[] | null> {
    const rec = await readJson<BuildRecord>(join(this.imageDir(id), `${key}.json`));
    const text = await readFile(this.entriesPath(id, key)).catch(() => null);
    if (!rec?.entriesSha256 || !text || sha256(text) !== rec.entriesSha256) return null;
    try {
      return JSON.parse(text.toString('utf8')) as Entry[];
    } catch {
      return null;
    }
  }

  private entriesPath(id: string, key: string): string {
    return join(this.imageDir(id), `${key}.entries.json`);
  }

  /**
   * Holds an exclusive lock on the state directory while `fn` runs (see lock.ts).
   * A second deploy on the same directory waits, told who holds it; a lock left by
   * a dead process, or by a live one that merely reused its pid, is taken over.
   */
  async withLock<T>(fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
    // A file, a read-only mount or /proc: one clear line, before anything is written.
    await ensureWritableDir(this.root, 'state directory');
    return withLock(join(this.root, 'lock'), fn, opts);
  }
}

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return null;
  }
}
