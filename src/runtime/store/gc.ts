/**
 * Garbage collection of the state directory: without it every rootfs tar, layer
 * and blob a deploy ever wrote stays (a newcomer's `.imgsdk/` reached 4 GB after
 * 15 deploys). What is live:
 *
 * - the build records of the current keys of every image of the app (every
 *   platform), and per image id the `keep` most recent other records (a rollback
 *   to one of them is a cache hit), with their entries files and every layer their
 *   diff ids name (parents' included);
 * - the rootfs records, tars and entries of the current phase-1 keys;
 * - the blobs any live entries file names (children's link checks and `.copy()`
 *   read them; `.file()` bodies come from the assembly again);
 * - the layer-reuse indexes that name a live layer; `debug/` records and their layers;
 *   `downloads/`, reports, logs and deploy records.
 *
 * Everything else under `rootfs/`, `layers/`, `blobs/` and `images/<id>/<key>.*`
 * goes. One function plans (the dry run prints it), another removes what it lists;
 * both run under the state directory's mutex, so a concurrent deploy never loses a file it is
 * writing or about to reuse. Removal goes records first, so a crash in between
 * leaves files no record names, never a record whose files are gone.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** How many builds of an image besides the current ones GC keeps. */
export const DEFAULT_GC_KEEP = 3;
/**
 * Above this many bytes after GC, the older builds go too (only the current keys'
 * stay). 4 GiB: room for a few PostgreSQL-sized images and their previous builds.
 */
export const DEFAULT_GC_BUDGET = 4 * 1024 ** 3;

/** What is current: the keys of the app's images (every platform) and their phase-1 keys. */
export interface LiveKeys {
  /** Image id → its current keys (one per platform). */
  readonly images: Readonly<Record<string, readonly string[]>>;
  readonly phase1: readonly string[];
}

/** The image entries of a manifest, as GC reads them (contract/assembly.ts ManifestImage). */
interface ManifestImages {
  readonly [id: string]: {
    readonly key: string;
    readonly phase1Key?: string;
    readonly platforms?: Readonly<Record<string, { readonly key: string; readonly phase1Key?: string }>>;
  };
}

/**
 * The live keys of a manifest's images: every platform's key and phase-1 key (an
 * older assembly without phase-1 keys caches its rootfs under the image key).
 * @example liveKeysOf(asm.manifest.images)
 */
export function liveKeysOf(images: ManifestImages): LiveKeys {
  const out: Record<string, string[]> = {};
  const phase1: string[] = [];
  for (const [id, m] of Object.entries(images)) {
    const all = [{ key: m.key, phase1Key: m.phase1Key }, ...Object.values(m.platforms ?? {})];
    out[id] = [...new Set(all.map((x) => x.key))];
    for (const x of all) phase1.push(x.phase1Key ?? x.key);
  }
  return { images: out, phase1: [...new Set(phase1)].sort() };
}

/** GC options. */
export interface GcOptions {
  /** Builds kept per image besides the current ones, newest first. @default DEFAULT_GC_KEEP */
  readonly keep?: number;
  /** Bytes the state directory may hold before the kept older builds go too. @default DEFAULT_GC_BUDGET */
  readonly budget?: number;
}

/** What GC removes: paths relative to the state directory, and their bytes. */
export interface GcPlan {
  readonly root: string;
  readonly remove: readonly { readonly path: string; readonly bytes: number }[];
  /** Bytes of the state directory before and (once the plan ran) after. */
  readonly before: number;
  readonly after: number;
  /** The number of older builds per image kept (lower than asked when over the budget). */
  readonly kept: number;
}

interface FileInfo {
  readonly path: string;
  readonly bytes: number;
  readonly mtime: number;
}

/**
 * Plans a GC of the state directory `root`; call holding its mutex (StateDir.withMutex).
 * @example const plan = await planGc('.imgsdk', { images: { 'acme/web': [key] }, phase1: [p1] });
 */
export async function planGc(root: string, live: LiveKeys, opts: GcOptions = {}): Promise<GcPlan> {
  const files = await listFiles(root);
  const before = files.reduce((n, f) => n + f.bytes, 0);
  let keep = Math.max(0, opts.keep ?? DEFAULT_GC_KEEP);
  const budget = opts.budget ?? DEFAULT_GC_BUDGET;
  let remove = await garbage(root, files, live, keep);
  const sum = (xs: readonly FileInfo[]) => xs.reduce((n, f) => n + f.bytes, 0);
  // Over the budget: fewer older builds, down to the current keys' alone.
  while (keep > 0 && before - sum(remove) > budget) {
    keep--;
    remove = await garbage(root, files, live, keep);
  }
  return { root, remove: remove.map(({ path, bytes }) => ({ path, bytes })), before, after: before - sum(remove), kept: keep };
}

/** Removes what `plan` lists, records first; the bytes freed. */
export async function runGc(plan: GcPlan): Promise<number> {
  const order = (p: string) =>
    p.startsWith('images/')
      ? 0
      : p.startsWith('layers/by-entries/')
        ? 1
        : p.startsWith('rootfs/') && p.endsWith('.json') && !p.endsWith('.entries.json')
          ? 2
          : 3;
  let freed = 0;
  for (const f of [...plan.remove].sort((a, b) => order(a.path) - order(b.path) || a.path.localeCompare(b.path))) {
    await rm(join(plan.root, f.path), { force: true });
    freed += f.bytes;
  }
  return freed;
}

async function garbage(root: string, files: readonly FileInfo[], live: LiveKeys, keep: number): Promise<FileInfo[]> {
  const liveFiles = new Set<string>();
  const liveLayers = new Set<string>();
  const entriesFiles: string[] = [];

  // Build records, per image id: the current keys' and the `keep` newest others.
  const records = new Map<string, FileInfo[]>();
  for (const f of files) {
    const m = /^images\/(.+)\/([0-9a-f]{64})\.json$/.exec(f.path);
    if (m) records.set(m[1], [...(records.get(m[1]) ?? []), f]);
  }
  for (const [id, recs] of records) {
    const current = new Set(live.images[id] ?? []);
    const keyOf = (f: FileInfo) => f.path.slice(f.path.lastIndexOf('/') + 1, -'.json'.length);
    const older = recs.filter((f) => !current.has(keyOf(f))).sort((a, b) => b.mtime - a.mtime || a.path.localeCompare(b.path));
    for (const f of [...recs.filter((r) => current.has(keyOf(r))), ...older.slice(0, keep)]) {
      const rec = await readJson(join(root, f.path));
      if (!rec) continue; // damaged: goes (deploy would drop it too)
      liveFiles.add(f.path);
      const entries = f.path.replace(/\.json$/, '.entries.json');
      liveFiles.add(entries);
      entriesFiles.push(entries);
      const layers = [
        ...asList(rec.diffIds),
        ...asList(rec.layers).map((l) => (l as { diffId?: unknown })?.diffId),
        (rec.layer as { diffId?: unknown } | undefined)?.diffId,
      ];
      for (const d of layers) if (typeof d === 'string') liveLayers.add(d.replace(/^sha256:/, ''));
    }
  }

  // Rootfs of the current phase-1 keys.
  for (const k of live.phase1) {
    for (const suffix of ['.json', '.tar', '.entries.json']) liveFiles.add(`rootfs/${k}${suffix}`);
    entriesFiles.push(`rootfs/${k}.entries.json`);
  }

  // Debug variants' layers (small, keyed by builder and epoch).
  for (const f of files) {
    if (!f.path.startsWith('debug/')) continue;
    const d = (await readJson(join(root, f.path)))?.diffId;
    if (typeof d === 'string') liveLayers.add(d.replace(/^sha256:/, ''));
  }

  // Blobs live entries name.
  const liveBlobs = new Set<string>();
  for (const e of entriesFiles) {
    const text = await readFile(join(root, e), 'utf8').catch(() => null);
    if (text === null) continue;
    for (const m of text.matchAll(/"sha256":"([0-9a-f]{64})"/g)) liveBlobs.add(m[1]);
  }

  const out: FileInfo[] = [];
  for (const f of files) {
    if (/\.(tmp|stale)$/.test(f.path)) continue; // leftovers.ts sweeps these (a live deploy's are its own)
    if (f.path.startsWith('images/')) {
      if (/\/[0-9a-f]{64}(\.entries)?\.json$/.test(f.path) && !liveFiles.has(f.path)) out.push(f);
    } else if (f.path.startsWith('rootfs/')) {
      if (!liveFiles.has(f.path)) out.push(f);
    } else if (f.path.startsWith('layers/by-entries/')) {
      const d = (await readJson(join(root, f.path)))?.diffId;
      if (typeof d !== 'string' || !liveLayers.has(d.replace(/^sha256:/, ''))) out.push(f);
    } else if (f.path.startsWith('layers/')) {
      const m = /^layers\/([0-9a-f]{64})\.tar$/.exec(f.path);
      if (m && !liveLayers.has(m[1])) out.push(f);
    } else if (f.path.startsWith('blobs/')) {
      const m = /^blobs\/([0-9a-f]{64})$/.exec(f.path);
      if (m && !liveBlobs.has(m[1])) out.push(f);
    }
  }
  return out;
}

/** Every regular file under `root`, relative, with size and mtime; symlinks are not followed. */
async function listFiles(root: string): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const it of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = rel ? `${rel}/${it.name}` : it.name;
      if (it.isDirectory()) await walk(join(dir, it.name), path);
      else if (it.isFile()) {
        const st = await stat(join(dir, it.name)).catch(() => null);
        if (st) out.push({ path, bytes: st.size, mtime: st.mtimeMs });
      }
    }
  };
  await walk(root, '');
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

async function readJson(path: string): Promise<Record<string, unknown> | null> {
  try {
    const v = JSON.parse(await readFile(path, 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function asList(x: unknown): unknown[] {
  return Array.isArray(x) ? x : [];
}
