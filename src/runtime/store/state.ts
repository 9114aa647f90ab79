import { readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stateDirOf } from '../../contract/defaults';
import { writeAtomic } from '../../util/files';
import { hashFile, sha256, sha256Digest } from '../../util/hash';
import { ensureWritableDir } from './dirs';
import { withMutex, type MutexOptions } from './mutex';
import { BlobStore } from './blobs';
import type { Entry } from './entry';
import { LABEL_ID, LABEL_KEY } from '../../contract/labels';
import { shortKey } from '../../contract/names';

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
  /**
   * The group's member list as the install left it (`adduser postgres ssl-cert` in
   * postgresql-common's postinst): of a group alone, or of a user's primary group.
   * @default none
   */
  readonly members?: readonly string[];
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
  /**
   * Told, one line each, about every damaged entry that was dropped (to be built
   * again): a record that does not parse, misses a field, or does not match the
   * files it names. Deploy shows them as warnings.
   */
  warn: (line: string) => void = () => undefined;
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
    const path = join(this.root, 'rootfs', `${key}.json`);
    const rec = await this.readRecord<RootfsRecord>(path, (r) => rootfsProblem(r, key));
    if (!rec) return null;
    if (rec.entriesSha256 && (await stat(this.rootfsPath(key)).catch(() => null))?.size === rec.size) return rec;
    const actual = await hashFile(this.rootfsPath(key)).catch(() => null);
    if (actual !== rec.sha256) {
      if (actual !== null)
        this.warn(`state directory: ${this.rootfsPath(key)} does not match its record (sha256); dropped, phase 1 runs again`);
      await rm(this.rootfsPath(key), { force: true });
      await rm(path, { force: true });
      return null;
    }
    return rec;
  }

  /**
   * The JSON record at `path` when it parses and `problem` finds nothing wrong with
   * it; else null, and a record that is there but damaged is dropped with a warning
   * (so whatever it stood for is built again, never trusted, never a raw SyntaxError).
   */
  private async readRecord<T>(
    path: string,
    problem: (r: Record<string, unknown>) => string | null,
    also: readonly string[] = [],
  ): Promise<T | null> {
    const text = await readFile(path, 'utf8').catch(() => null);
    if (text === null) return null;
    let why: string | null;
    let value: unknown = null;
    try {
      value = JSON.parse(text);
      why =
        value && typeof value === 'object' && !Array.isArray(value) ? problem(value as Record<string, unknown>) : 'is not a JSON object';
    } catch {
      why = 'does not parse as JSON';
    }
    if (!why) return value as T;
    await this.drop(path, why, also);
    return null;
  }

  /** Removes a damaged record (and the files that go with it), saying so. */
  private async drop(path: string, why: string, also: readonly string[] = []): Promise<void> {
    this.warn(`state directory: ${path} ${why}; dropped, building it again`);
    for (const p of [path, ...also]) await rm(p, { force: true }).catch(() => undefined);
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
    const path = join(this.root, 'rootfs', `${rec.key}.entries.json`);
    const text = await readFile(path).catch(() => null);
    if (!text) return null;
    // Damaged or not a list of entries: read from the tar again (which rewrites it).
    const entries = sha256(text) === rec.entriesSha256 ? parseEntries(text) : null;
    if (!entries)
      await this.drop(
        path,
        sha256(text) === rec.entriesSha256 ? 'is not a list of entries' : 'does not match the hash its rootfs record holds',
      );
    return entries;
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
    const path = join(this.imageDir(id), `${key}.json`);
    const rec = await this.readRecord<BuildRecord>(path, (r) => buildProblem(r, id, key), [this.entriesPath(id, key)]);
    if (!rec) return null;
    for (const l of rec.layers ?? [rec.layer]) {
      const st = await stat(this.layerPath(l.diffId)).catch(() => null);
      // A layer file that is gone (garbage collected, removed by hand): built again, nothing damaged.
      if (!st) return null;
      if (
        !st.isFile() ||
        st.size !== l.size ||
        (opts.verifyLayer !== false && (await hashFile(this.layerPath(l.diffId)).catch(() => null)) !== l.diffId.replace(/^sha256:/, ''))
      ) {
        await this.drop(this.layerPath(l.diffId), `does not match its diff id (layer of ${id})`);
        return null;
      }
    }
    const entries = await hashFile(this.entriesPath(id, key)).catch(() => null);
    if (entries !== rec.entriesSha256) {
      await this.drop(path, entries === null ? 'has no entries file' : `does not match its entries file ${this.entriesPath(id, key)}`, [
        this.entriesPath(id, key),
      ]);
      return null;
    }
    return rec;
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
    const rec = await this.readBuild(id, key, { verifyLayer: false });
    const text = rec && (await readFile(this.entriesPath(id, key)).catch(() => null));
    if (!rec || !text || sha256(text) !== rec.entriesSha256) return null;
    const entries = parseEntries(text);
    if (!entries)
      await this.drop(join(this.imageDir(id), `${key}.json`), 'names an entries file that is not a list of entries', [
        this.entriesPath(id, key),
      ]);
    return entries;
  }

  private entriesPath(id: string, key: string): string {
    return join(this.imageDir(id), `${key}.entries.json`);
  }

  /**
   * Holds the state directory's mutex while `fn` runs (see mutex.ts).
   * A second deploy on the same directory waits, told who holds it; a mutex left by
   * a dead process, or by a live one that merely reused its pid, is taken over.
   */
  async withMutex<T>(fn: () => Promise<T>, opts: MutexOptions = {}): Promise<T> {
    // A file, a read-only mount or /proc: one clear line, before anything is written.
    await ensureWritableDir(this.root, 'state directory');
    return withMutex(join(this.root, MUTEX_FILE), fn, opts);
  }
}

/**
 * The mutex file in a state directory. Its name stays `lock` on disk, as older
 * imgsdk versions named it: a deploy of this version and one of an older version
 * on the same state directory still exclude each other.
 */
export const MUTEX_FILE = 'lock';

const HEX64 = /^[0-9a-f]{64}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const isCount = (x: unknown): boolean => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isList = (x: unknown): boolean => Array.isArray(x);
const isMap = (x: unknown): boolean => !!x && typeof x === 'object' && !Array.isArray(x);

/** What is wrong with a rootfs record read for `key`, or null. */
function rootfsProblem(r: Record<string, unknown>, key: string): string | null {
  if (r.key !== key) return `is the record of another key (${shortKey(String(r.key))})`;
  if (typeof r.sha256 !== 'string' || !HEX64.test(r.sha256) || !isCount(r.size)) return 'has no valid sha256 or size';
  if (
    !isList(r.packages) ||
    !(r.packages as unknown[]).every(
      (p) => isMap(p) && typeof (p as PackageInfo).name === 'string' && typeof (p as PackageInfo).version === 'string',
    )
  )
    return 'has no valid package list';
  if (!isMap(r.origins) || !Object.values(r.origins as object).every((o) => typeof o === 'string')) return 'has no valid origins';
  if (r.entriesSha256 !== undefined && (typeof r.entriesSha256 !== 'string' || !HEX64.test(r.entriesSha256)))
    return 'has an invalid entries hash';
  if (r.createdAccounts !== undefined && !isList(r.createdAccounts)) return 'has invalid created accounts';
  return null;
}

/**
 * What is wrong with a build record read for `id` and `key`, or null: besides its
 * fields, it must be what it claims to be — its image id the digest of its config,
 * that config labelled with this id and key, its diff ids the config's, ending in
 * its own layers.
 */
function buildProblem(r: Record<string, unknown>, id: string, key: string): string | null {
  if (r.id !== id || r.key !== key) return `is the record of another image or key (${String(r.id)} ${shortKey(String(r.key))})`;
  if (typeof r.entriesSha256 !== 'string' || !HEX64.test(r.entriesSha256)) return 'has no valid entries hash';
  const layer = (l: unknown) =>
    isMap(l) &&
    typeof (l as { diffId: unknown }).diffId === 'string' &&
    DIGEST.test((l as { diffId: string }).diffId) &&
    isCount((l as { size: unknown }).size);
  if (
    !layer(r.layer) ||
    (r.layers !== undefined && (!isList(r.layers) || !(r.layers as unknown[]).length || !(r.layers as unknown[]).every(layer)))
  )
    return 'has invalid layers';
  if (!isList(r.diffIds) || !(r.diffIds as unknown[]).every((d) => typeof d === 'string' && DIGEST.test(d))) return 'has invalid diff ids';
  if (!isList(r.packages) || !isList(r.inherited) || !isList(r.tags) || !isCount(r.size)) return 'misses fields';
  if (typeof r.configJson !== 'string' || typeof r.imageId !== 'string' || sha256Digest(r.configJson) !== r.imageId)
    return 'has an image id that is not the digest of its config';
  let config: { rootfs?: { diff_ids?: unknown }; config?: { Labels?: Record<string, unknown> } };
  try {
    config = JSON.parse(r.configJson) as typeof config;
  } catch {
    return 'has a config that does not parse';
  }
  const labels = config.config?.Labels ?? {};
  if (labels[LABEL_ID] !== id || labels[LABEL_KEY] !== key) return 'has the config of another image or key';
  const diffIds = r.diffIds as string[];
  if (JSON.stringify(config.rootfs?.diff_ids) !== JSON.stringify(diffIds)) return "has diff ids that are not its config's";
  const own = ((r.layers as { diffId: string }[] | undefined) ?? [r.layer as { diffId: string }]).map((l) => l.diffId);
  if (JSON.stringify(diffIds.slice(diffIds.length - own.length)) !== JSON.stringify(own))
    return 'has layers that are not the last of its diff ids';
  return null;
}

/** Entries read back from JSON, or null when the text is not a list of entries. */
function parseEntries(text: Buffer): Entry[] | null {
  let v: unknown;
  try {
    v = JSON.parse(text.toString('utf8'));
  } catch {
    return null;
  }
  const ok =
    Array.isArray(v) &&
    v.every(
      (e) =>
        isMap(e) && typeof (e as Entry).path === 'string' && typeof (e as Entry).type === 'string' && typeof (e as Entry).mode === 'number',
    );
  return ok ? (v as Entry[]) : null;
}
