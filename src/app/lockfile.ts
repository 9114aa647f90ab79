/**
 * `imgsdk lock`, `outdated` and the lock half of `update` and `deploy`: resolving
 * images' packages to exact versions in a container of their builder (apt's own
 * resolver, `apt-get install --simulate`, and the archive's Packages index for each
 * .deb's sha256), without building anything.
 */
import { eachLine } from '../util/lines';
import { readFile } from 'node:fs/promises';
import { formatList, jobPath, LOCK_CLOSURE, LOCK_JOB, parseRows, RELEASES } from '../contract/builder-files';
import { join, resolve } from 'node:path';
import { stateDirOf } from '../contract/defaults';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BuilderDef, ImageDef } from '../contract/assembly';
import { BuildError, LockError } from '../contract/errors';
import type { AppInput } from '../sdk/app';
import { renderApt } from '../contract/apt';
import {
  debianBuilderBasis,
  dependents,
  emptyLock,
  LOCK_FILE,
  lockChanges,
  parseLock,
  renderLock,
  type BuilderLock,
  type ImageLock,
  type Lock,
  type LockedPackage,
  type PackageChange,
} from '../sdk/lock';
import { assemble, type Assembly } from '../sdk/synth';
import { select } from '../runtime/deploy/deploy';
import { labelledEngine, removeDeadContainers, stateIdentity, stateLabels } from '../runtime/deploy/leftovers';
import { connectEngine } from '../runtime/engine/light';
import type { Engine } from '../runtime/engine/engine';
import type { Stage3Update } from './stage3-updates';
// Resolving runs builder containers; what it needs is loaded when it does (a current lock needs none).
import { writeAtomic } from '../util/files';
import { LABEL_LOCK } from '../contract/labels';

/** Options of {@link lock}, {@link outdated} and {@link ensureLocked}. */
export interface LockOptions {
  /** The lock file read and written. @default 'imgsdk.lock' */
  readonly lockFile?: string;
  /** Ids or globs of the images to resolve. @default all */
  readonly select?: readonly string[];
  /** @default connectEngine(), when there is anything to resolve */
  readonly engine?: Engine;
  /** Progress lines (builder set-up, apt). @default ignored */
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
  /** Where Gentoo builders keep their downloads (`<stateDir>/downloads`). @default stateDirOf() */
  readonly stateDir?: string;
}

/** What a lock run did. */
export interface LockResult {
  readonly file: string;
  /** The lock as it is now (written, unless nothing changed or it was a dry run). */
  readonly lock: Lock;
  readonly previous: Lock | null;
  /** Images resolved against the archive in this run. */
  readonly resolved: readonly string[];
  /** Package by package, what differs from the previous lock. */
  readonly changes: readonly PackageChange[];
  /** Images whose keys change with the new lock: the changed ones and everything below them. */
  readonly rebuild: readonly string[];
  /** Whether the file's bytes changed. */
  readonly written: boolean;
}

/** What `outdated` found. */
export interface OutdatedResult {
  readonly file: string;
  /** Locked versions the archive has newer (or other) versions of; closures that gained or lost a package. */
  readonly changes: readonly PackageChange[];
  /** Images the lock has no current entry for, and why. */
  readonly unlocked: readonly { readonly image: string; readonly why: string }[];
  /**
   * Gentoo builders: the stage3 date in use and the mirror's latest (`newer` when
   * it is newer; a note when it could not be looked up or the builder is pulled).
   */
  readonly stage3: readonly Stage3Update[];
  /** Images that would rebuild after `imgsdk update` (and, for newer stage3s, a new date). */
  readonly rebuild: readonly string[];
  readonly outdated: boolean;
}

/**
 * Resolves the selected images (all by default) against the archives as they are
 * now, plus every image below them, and writes the lock. Entries of other images
 * stay; entries of images no longer in the app go.
 * @example const r = await lock(app(web), { lockFile: 'imgsdk.lock' }); r.rebuild
 */
export async function lock(input: AppInput, opts: LockOptions = {}): Promise<LockResult> {
  const file = resolve(opts.lockFile ?? LOCK_FILE);
  const previous = await readLock(file);
  const asm = assemble(input, { lock: previous });
  const targets = withUnlocked(asm, below(asm, selected(asm, opts.select)));
  return finish(file, previous, asm, await resolveImages(asm, previous, targets, opts), true);
}

/**
 * Resolves the images whose lock entry is missing or stale (new images, changed
 * packages or sources) and writes the lock; current entries are kept as they are.
 * With `frozen`, a missing or stale entry is a LockError instead (CI: the lock
 * must already say what gets installed).
 * @example await ensureLocked(app(web), { lockFile: 'imgsdk.lock', frozen: true });
 */
export async function ensureLocked(input: AppInput, opts: LockOptions & { readonly frozen?: boolean } = {}): Promise<LockResult> {
  const file = resolve(opts.lockFile ?? LOCK_FILE);
  const previous = await readLock(file);
  const asm = assemble(input, { lock: previous });
  const chosen = new Set(select({ dir: '', manifest: asm.manifest, images: asm.images }, opts.select ?? [], false));
  const needed = [...asm.locks].filter(([id, s]) => chosen.has(id) && (s.status === 'missing' || s.status === 'stale'));
  if (needed.length && opts.frozen) {
    throw new LockError(
      `${file} does not have what the app installs (--frozen-lock):\n${needed.map(([id, s]) => `  ${id}: ${s.why}`).join('\n')}\nrun \`imgsdk lock\` and commit ${LOCK_FILE}`,
      needed.map(([id]) => id),
    );
  }
  const targets = withUnlocked(
    asm,
    needed.map(([id]) => id),
  );
  if (!targets.length) return { file, lock: previous ?? emptyLock(), previous, resolved: [], changes: [], rebuild: [], written: false };
  return finish(file, previous, asm, await resolveImages(asm, previous, targets, opts), true);
}

/**
 * Compares the lock with what the archives offer now, without writing anything:
 * per image the packages whose version would change, images without a current
 * entry, and what would rebuild.
 * @example const r = await outdated(app(web)); if (r.outdated) process.exitCode = 3;
 */
export async function outdated(input: AppInput, opts: LockOptions = {}): Promise<OutdatedResult> {
  const file = resolve(opts.lockFile ?? LOCK_FILE);
  const previous = await readLock(file);
  const asm = assemble(input, { lock: previous });
  const chosen = selected(asm, opts.select);
  const r = await finish(file, previous, asm, await resolveImages(asm, previous, withUnlocked(asm, below(asm, chosen)), opts), false);
  const unlocked = chosen.flatMap((id) => {
    const s = asm.locks.get(id)!;
    return s.status === 'missing' || s.status === 'stale' ? [{ image: id, why: s.why }] : [];
  });
  // An image without a current entry is reported as such, not package by package.
  const changes = r.changes.filter((c) => !unlocked.some((u) => u.image === c.image));
  const chosenSet = new Set(chosen);
  const usedBuilders = new Set(chosen.map((id) => asm.images.get(id)!.builder));
  const stage3 = (await (await import('./stage3-updates')).stage3Updates(asm.manifest, opts.engine ?? null, opts.signal)).filter((u) =>
    usedBuilders.has(u.builder),
  );
  const newer = stage3.filter((u) => u.newer);
  const rebuild = dependents(asm.manifest, [
    ...changes.map((c) => c.image),
    ...unlocked.map((u) => u.image),
    ...newer.flatMap((u) => u.rebuild.filter((id) => chosenSet.has(id))),
  ]);
  return { file, changes, unlocked, stage3, rebuild, outdated: changes.length > 0 || unlocked.length > 0 || newer.length > 0 };
}

/** Selected ids (exact ids or globs, not their dependencies); all when none given. */
function selected(asm: Assembly, patterns: readonly string[] | undefined): string[] {
  return select({ dir: '', manifest: asm.manifest, images: asm.images }, patterns ?? [], true);
}

/** `ids` plus every image below them by parent: their entries are closures minus the parent's. */
function below(asm: Assembly, ids: readonly string[]): string[] {
  const hit = new Set(ids);
  for (const id of asm.manifest.order.flat()) {
    const p = asm.images.get(id)!.parent;
    if (p && hit.has(p)) hit.add(id);
  }
  return [...hit];
}

/** `ids` plus every ancestor without a current entry: a child is resolved on top of its ancestors' locked versions. */
function withUnlocked(asm: Assembly, ids: readonly string[]): string[] {
  const out = new Set(ids);
  for (const id of ids) {
    for (let p = asm.images.get(id)!.parent; p; p = asm.images.get(p)!.parent) {
      // Missing or stale, or without packages of its own above one that is.
      if (asm.locks.get(p)!.why) out.add(p);
    }
  }
  return asm.manifest.order.flat().filter((id) => out.has(id));
}

/** Fresh entries for `targets` (in build order) and fresh entries of their builders. */
interface Resolution {
  readonly images: ReadonlyMap<string, ImageLock | null>;
  readonly builders: ReadonlyMap<string, BuilderLock>;
}

async function finish(file: string, previous: Lock | null, asm: Assembly, res: Resolution, write: boolean): Promise<LockResult> {
  const images: Record<string, ImageLock> = {};
  for (const [id, e] of Object.entries(previous?.images ?? {})) if (asm.images.has(id)) images[id] = e;
  for (const [id, e] of res.images) {
    if (e) images[id] = e;
    else delete images[id];
  }
  const builders: Record<string, BuilderLock> = {};
  const used = new Set([...asm.images.values()].map((d) => d.builder));
  for (const [id, b] of Object.entries(previous?.builders ?? {})) if (used.has(id)) builders[id] = b;
  for (const [id, b] of res.builders) builders[id] = b;
  const next: Lock = { lockfileVersion: 1, builders, images };
  const changes = lockChanges(previous, next, [...res.images.keys()]);
  const rebuild = dependents(
    asm.manifest,
    changes.map((c) => c.image),
  );
  const text = renderLock(next);
  const before = await readFile(file, 'utf8').catch(() => null);
  const written = write && before !== text;
  if (written) await writeAtomic(file, text);
  return { file, lock: next, previous, resolved: [...res.images.keys()], changes, rebuild, written };
}

/**
 * Resolves `targets` builder by builder, one container per builder. An image is
 * resolved together with its ancestors' requests, on top of the versions of its
 * nearest ancestor that keeps its entry; its entry holds its closure minus its
 * parent's.
 */
async function resolveImages(asm: Assembly, previous: Lock | null, targets: readonly string[], opts: LockOptions): Promise<Resolution> {
  const images = new Map<string, ImageLock | null>();
  const builders = new Map<string, BuilderLock>();
  const targetSet = new Set(targets);
  const jobs = new Map<string, { id: string; request: string[] }[]>();
  const gentooTargets: string[] = [];
  for (const id of targets) {
    const def = asm.images.get(id)!;
    const b = asm.builders.get(def.builder)!;
    if (def.packages.length === 0) {
      images.set(id, null);
      continue;
    }
    if (b.kind === 'gentoo') {
      gentooTargets.push(id);
      continue;
    }
    const request = [...def.packages];
    for (let p = def.parent; p; p = asm.images.get(p)!.parent) {
      if (!targetSet.has(p)) {
        // Kept as locked: this image goes on top of exactly those versions.
        request.push(...asm.locks.get(p)!.pins.map((x) => `${x.name}=${x.version}`));
        break;
      }
      request.push(...asm.images.get(p)!.packages);
    }
    jobs.set(def.builder, [...(jobs.get(def.builder) ?? []), { id, request }]);
  }
  let engine: Engine | undefined;
  const closures = new Map<string, LockedPackage[]>();
  for (const [builderId, list] of [...jobs].sort(([a], [b]) => (a < b ? -1 : 1))) {
    engine ??= await lockEngine(opts);
    const def = asm.builders.get(builderId)!;
    const out = await runLockContainer(
      engine,
      def,
      list.map((j) => j.request),
      opts,
    );
    list.forEach((j, i) => closures.set(j.id, out.closures[i]));
    builders.set(builderId, { ...debianBuilderBasis(def), releases: out.releases });
  }
  for (const id of targets) {
    const c = closures.get(id);
    if (!c) continue;
    const def = asm.images.get(id)!;
    const below = new Set(inheritedNames(asm, closures, targetSet, def));
    images.set(id, {
      builder: def.builder,
      parent: def.parent,
      request: [...def.packages].sort(),
      packages: c.filter((p) => !below.has(p.name)),
    });
  }
  if (gentooTargets.length) {
    engine ??= await lockEngine(opts);
    const g = await (
      await import('./gentoo-lock')
    ).resolveGentoo(engine, asm, gentooTargets, (id) => asm.locks.get(id)!.pins, {
      log: opts.log,
      signal: opts.signal,
      cacheDir: join(opts.stateDir ?? stateDirOf(), 'downloads'),
    });
    for (const id of gentooTargets) {
      const def = asm.images.get(id)!;
      images.set(id, { builder: def.builder, parent: def.parent, request: [...def.packages].sort(), packages: g.images.get(id)! });
    }
    for (const [id, b] of g.builders) builders.set(id, b);
  }
  for (const [id, def] of asm.builders) {
    if (def.kind === 'gentoo' && !builders.has(id) && (!previous?.builders[id] || targets.some((t) => asm.images.get(t)!.builder === id))) {
      builders.set(id, await (await import('./gentoo-lock')).gentooBuilderEntry(engine ?? opts.engine, def, asm.manifest.builders[id].key));
    }
  }
  return { images, builders };
}

/**
 * The engine of a lock run, its containers labelled with the state directory and
 * this process (runtime/deploy/leftovers.ts): a lock killed with SIGKILL leaves a
 * resolver container that the next lock or deploy removes and `clean` lists. Those
 * a dead run left are removed first.
 */
async function lockEngine(opts: LockOptions): Promise<Engine> {
  const engine = opts.engine ?? (await connectEngine());
  const root = opts.stateDir ?? stateDirOf();
  const gone = await removeDeadContainers(engine, stateIdentity(root)).catch(() => []);
  if (gone.length)
    opts.log?.(`lock: removed ${gone.length} container${gone.length === 1 ? '' : 's'} of a run that died: ${gone.join(', ')}`);
  return labelledEngine(engine, stateLabels(root));
}

/** Names of the packages the parent chain of `def` holds: the nearest resolved ancestor's closure, else the locked pins. */
function inheritedNames(
  asm: Assembly,
  closures: ReadonlyMap<string, LockedPackage[]>,
  targets: ReadonlySet<string>,
  def: ImageDef,
): string[] {
  for (let p = def.parent; p; p = asm.images.get(p)!.parent) {
    const c = closures.get(p);
    if (c) return c.map((x) => x.name);
    if (!targets.has(p)) return asm.locks.get(p)!.pins.map((x) => x.name);
  }
  return [];
}

/** Runs debian-lock.sh with one job per request list; the closures in job order and the Release dates. */
async function runLockContainer(
  engine: Engine,
  def: BuilderDef,
  requests: readonly (readonly string[])[],
  opts: LockOptions,
): Promise<{ closures: LockedPackage[][]; releases: Record<string, string> }> {
  const log = opts.log ?? (() => undefined);
  const ref = await (await import('../runtime/phase1/builders/debian')).ensureDebianBuilder(engine, def, { log, signal: opts.signal });
  const apt = renderApt([], def.debian!);
  const files: Record<string, string> = { 'apt/sources.list': apt['sources.list'], 'apt/apt.conf.d/99imgsdk': apt['apt.conf.d/99imgsdk'] };
  requests.forEach((r, i) => (files[jobPath(LOCK_JOB, i)] = formatList(LOCK_JOB, r)));
  log(`lock: resolving ${requests.length} image${requests.length === 1 ? '' : 's'} in ${def.id}`);
  return engine.withContainer(
    {
      image: ref,
      cmd: ['/bin/sh', '/imgsdk/scripts/debian-lock.sh'],
      labels: { [LABEL_LOCK]: def.id },
      signal: opts.signal,
      network: def.debian!.network ?? undefined,
    },
    async (c) => {
      await c.putArchive('/imgsdk/in', await (await import('../util/tar')).dirTar(null, files));
      await c.putArchive('/imgsdk/scripts', await (await import('../runtime/phase1/run')).scriptsTar());
      const code = await c.run({
        onOutput: eachLine((l) => log(`lock: ${l}`)),
      });
      if (code !== 0) throw new BuildError(def.id, `resolving packages failed (exit ${code}):\n${c.tail()}`, { phase: 'lock' });
      const out = await readTexts(await c.getArchive('/imgsdk/out'));
      const closures = requests.map((_, i) => parseClosure(out.get(jobPath(LOCK_CLOSURE, i)) ?? ''));
      // A lock entry without a checksum would switch the .deb check off: an index without one is an error here.
      const unsummed = closures.flat().filter((p) => !/^[0-9a-f]{64}$/.test(p.sha256));
      if (unsummed.length)
        throw new BuildError(
          def.id,
          `the archive's index gives no SHA256 for ${[...new Set(unsummed.map((p) => `${p.name} ${p.version}`))].join(', ')}: imgsdk.lock needs one per .deb`,
          { phase: 'lock' },
        );
      const releases: Record<string, string> = {};
      for (const { codename, date } of parseRows(RELEASES, out.get(RELEASES.path) ?? '')) if (codename && date) releases[codename] = date;
      return { closures, releases };
    },
  );
}

/** A job's closure as debian-lock.sh writes it ({@link LOCK_CLOSURE}'s columns). */
export function parseClosure(text: string): LockedPackage[] {
  return parseRows(LOCK_CLOSURE, text).map(({ name, version, arch, sha256, suite }) => ({ name, version, arch, sha256, suite }));
}

async function readLock(file: string): Promise<Lock | null> {
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw new LockError(`cannot read ${file}: ${e.message}`);
  });
  return text === null ? null : parseLock(text, file);
}

/** The files of a tar stream as text, by name without its first directory. */
async function readTexts(tar: Readable): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const ex = (await import('tar-stream')).extract();
  ex.on('entry', (h, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (d: unknown) => void chunks.push(d as Buffer));
    stream.on('end', () => {
      if (h.type === 'file') out.set(h.name.replace(/^(\.\/)?[^/]+\//, ''), Buffer.concat(chunks).toString('utf8'));
      next();
    });
  });
  await pipeline(tar, ex);
  return out;
}
