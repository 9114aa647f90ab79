/**
 * imgsdk.lock: what every builder was made from and the exact package versions
 * every image installs, resolved by `imgsdk lock` and committed beside the app.
 * The lock is an input of the keys: a new version of a package changes the key of
 * the image that holds it and of its descendants, nothing else.
 *
 * This module is the pure half (format, which entries are current, what changed);
 * resolving against an archive runs in a builder container (runtime/lock.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { BuilderDef, ImageDef, Manifest } from '../contract/assembly';
import { LockError } from '../contract/errors';
import { canonicalJson, prettyJson } from '../contract/json';
import { debianSources, debianSuites, type PinnedPackage } from '../contract/apt';
import { reachable } from './graph';
import { jsonLines, pathKey, type JsonPath } from '../contract/json-lines';
import { checkLockValue } from './lock-check';

/** The lock's file name, beside the app's images.ts. */
export const LOCK_FILE = 'imgsdk.lock';
/** Version of the lock format; a reader refuses others. */
export const LOCK_VERSION = 1;

/**
 * A package of an image at the exact version the archive's index had (Debian), or
 * the `cat/pkg` and version `emerge --pretend` resolved (Gentoo).
 */
export interface LockedPackage extends PinnedPackage {
  /** Debian: `amd64`, `all`, …; Gentoo: the builder's keyword arch. */
  readonly arch: string;
  /**
   * Debian: the suite it comes from (the security suite when it has that version),
   * '' when unknown. Gentoo: the repository (`gentoo`, an overlay's name).
   */
  readonly suite: string;
  /** Gentoo only: the USE (and USE_EXPAND) flags it builds with, `-` for disabled ones, sorted. */
  readonly use?: readonly string[];
  /** Gentoo only: the slot (`3.12`, `0/5`), when emerge showed one; two slots of a package are two entries. */
  readonly slot?: string;
}

/** What a Debian builder's images were resolved from. */
export interface DebianBuilderLock {
  readonly kind: 'debian';
  readonly arch: string;
  readonly suites: readonly string[];
  /** Every apt source line, mirror, security archive and snapshot included. */
  readonly sources: readonly string[];
  readonly snapshot: string | null;
  /** The `Date:` of each Release file read, by its codename (or suite); the only times in the lock. */
  readonly releases: Readonly<Record<string, string>>;
}

/** What a Gentoo builder is made from, as far as it is known without the network. */
export interface GentooBuilderLock {
  readonly kind: 'gentoo';
  readonly arch: string;
  readonly stage3: string;
  /** The pinned date, the date the builder image was set up from, or `latest`. */
  readonly date: string;
  /** sha512 of the stage3 tarball, when the stage3 image in the engine records it. */
  readonly sha512: string | null;
  /** Portage snapshot: `latest`, a date or an image. */
  readonly portage: string;
  /**
   * The snapshot the images were resolved against: its date (`20260115`) or, for
   * an image, the image's id; absent in locks written before Gentoo images were locked.
   */
  readonly snapshot?: string;
}

export type BuilderLock = DebianBuilderLock | GentooBuilderLock;

/** One image: what it asked for and the packages its layer holds (the closure minus its ancestors'). */
export interface ImageLock {
  readonly builder: string;
  readonly parent: string | null;
  /** `.packages()` as resolved, sorted. */
  readonly request: readonly string[];
  /** Sorted by name, then arch. */
  readonly packages: readonly LockedPackage[];
}

/** The content of imgsdk.lock. */
export interface Lock {
  readonly lockfileVersion: number;
  readonly builders: Readonly<Record<string, BuilderLock>>;
  readonly images: Readonly<Record<string, ImageLock>>;
}

/** Whether an image's entry can be used: `none` for images that install no packages of their own (Debian or Gentoo). */
export type LockStatus = 'locked' | 'missing' | 'stale' | 'none';

/** An image's entry as synth uses it. */
export interface ImageLockState {
  readonly status: LockStatus;
  /** Why an entry is missing or stale (for `none`: why its parent chain is not locked), for messages. */
  readonly why: string;
  /** The packages of this image's layer (empty unless `locked`). */
  readonly own: readonly LockedPackage[];
  /** Every locked package phase 1 installs: the ancestors' and its own. */
  readonly pins: readonly LockedPackage[];
}

/** A lock with nothing in it. */
export function emptyLock(): Lock {
  return { lockfileVersion: LOCK_VERSION, builders: {}, images: {} };
}

/**
 * The lock as its file holds it: pretty, keys sorted, packages sorted, no time but
 * the archive's own Release dates, so the same resolution writes the same bytes.
 * @example writeFileSync('imgsdk.lock', renderLock(lock));
 */
export function renderLock(lock: Lock): string {
  const images: Record<string, ImageLock> = {};
  for (const [id, e] of Object.entries(lock.images))
    images[id] = { ...e, request: [...e.request].sort(), packages: sortPackages(e.packages) };
  return prettyJson({ ...lock, lockfileVersion: LOCK_VERSION, images }, ['lockfileVersion', 'builders', 'images']);
}

/**
 * Parses the text of a lock and checks every field of every entry (lock-check.ts);
 * anything malformed is one error naming the file and the line of each problem.
 * @example const lock = parseLock(readFileSync('imgsdk.lock', 'utf8'), 'imgsdk.lock');
 */
export function parseLock(text: string, file = LOCK_FILE): Lock {
  const fix = 'fix it, or delete it and run `imgsdk lock`';
  const located = jsonLines(text);
  if (!located.ok) throw new LockError(`${file}:${located.line}:${located.column}: not JSON (${located.why}); ${fix}`);
  const o = JSON.parse(text) as unknown;
  if (!isRecord(o)) throw new LockError(`${file}:1: not a JSON object; ${fix}`);
  const lineOf = (path: JsonPath) => {
    for (let p = [...path]; ; p = p.slice(0, -1)) {
      const n = located.lines.get(pathKey(p));
      if (n !== undefined || p.length === 0) return n ?? 1;
    }
  };
  if (o.lockfileVersion !== LOCK_VERSION) {
    throw new LockError(
      `${file}:${lineOf(['lockfileVersion'])}: lockfileVersion ${JSON.stringify(o.lockfileVersion)} is not ${LOCK_VERSION}; ${fix}`,
    );
  }
  const problems = checkLockValue(o);
  if (problems.length) {
    const shown = problems.slice(0, 20).map((p) => `  ${file}:${lineOf(p.path)}: ${describePath(p.path)}${p.why}`);
    if (problems.length > 20) shown.push(`  … and ${problems.length - 20} more`);
    throw new LockError(
      `${file} is not a valid lock (${problems.length} problem${problems.length === 1 ? '' : 's'}); ${fix}:\n${shown.join('\n')}`,
    );
  }
  return o as unknown as Lock;
}

/** `images["a/b"].packages[3]: ` for a problem's path (its last key is in the message). */
function describePath(path: JsonPath): string {
  const head = path.length > 2 && typeof path[path.length - 1] === 'string' ? path.slice(0, -1) : path;
  if (!head.length) return '';
  return `${head
    .map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `[${JSON.stringify(k)}]`))
    .join('')
    .replace(/\["([a-z]+)"\]/g, '.$1')}: `;
}

/**
 * The lock at `path`, or null when there is none.
 * @example const lock = readLockFile('imgsdk.lock') ?? emptyLock();
 */
export function readLockFile(path: string): Lock | null {
  if (!existsSync(path)) return null;
  return parseLock(readFileSync(path, 'utf8'), path);
}

/**
 * What a Debian builder's lock entry must say to be current (everything but the
 * Release dates, which only resolving learns).
 */
export function debianBuilderBasis(def: BuilderDef): Omit<DebianBuilderLock, 'releases'> {
  const d = def.debian!;
  return { kind: 'debian', arch: def.arch, suites: debianSuites(d), sources: debianSources(d), snapshot: d.snapshot };
}

/**
 * What a Gentoo builder's lock entry must say to be current: flavour, arch and
 * Portage setting, and the stage3 date when it is pinned (`latest` takes whatever
 * date the lock recorded).
 */
export function gentooBuilderBasis(def: BuilderDef): Pick<GentooBuilderLock, 'kind' | 'arch' | 'stage3' | 'portage'> & { date?: string } {
  const g = def.gentoo!;
  return { kind: 'gentoo', arch: def.arch, stage3: g.stage3, portage: g.portage, ...(g.date !== 'latest' ? { date: g.date } : {}) };
}

/** Whether a builder's lock entry still describes `def`. */
function builderCurrent(have: BuilderLock, def: BuilderDef): boolean {
  if (def.kind === 'gentoo') {
    if (have.kind !== 'gentoo') return false;
    const want = gentooBuilderBasis(def);
    const got = { kind: have.kind, arch: have.arch, stage3: have.stage3, portage: have.portage, ...(want.date ? { date: have.date } : {}) };
    return canonicalJson(got) === canonicalJson(want);
  }
  return canonicalJson(withoutReleases(have)) === canonicalJson(debianBuilderBasis(def));
}

/**
 * Per image (in `order`, parents first): whether the lock has a current entry and
 * what phase 1 pins. An entry is stale when the image's packages, builder or
 * parent changed, when its builder's sources changed, or when an ancestor's entry
 * is missing or stale (the closure minus the ancestors' depends on theirs).
 * Stale entries are not used: the image installs the archive's candidates.
 */
export function lockStates(
  order: readonly string[],
  images: ReadonlyMap<string, ImageDef>,
  builders: ReadonlyMap<string, BuilderDef>,
  lock: Lock | null,
): Map<string, ImageLockState> {
  const out = new Map<string, ImageLockState>();
  const builderOk = new Map<string, string>();
  const checkBuilder = (def: BuilderDef): string => {
    let why = builderOk.get(def.id);
    if (why === undefined) {
      const have = lock?.builders[def.id];
      const what = def.kind === 'gentoo' ? 'stage3, date or portage' : 'suites, mirror, snapshot or sources';
      why = !have ? `builder ${def.id} is not in the lock` : !builderCurrent(have, def) ? `builder ${def.id} changed (${what})` : '';
      builderOk.set(def.id, why);
    }
    return why;
  };
  for (const id of order) {
    const def = images.get(id)!;
    const builder = builders.get(def.builder)!;
    const parent = def.parent ? out.get(def.parent) : undefined;
    const inherited = parent?.pins ?? [];
    const parentBad = parent && parent.status !== 'locked' && parent.why ? `parent ${def.parent} is not locked` : '';
    if (def.packages.length === 0) {
      // Nothing of its own to lock; `why` tells its children what the parent lacks.
      out.set(id, { status: 'none', why: parentBad, own: [], pins: parentBad ? [] : inherited });
      continue;
    }
    const entry = lock?.images[id];
    let status: LockStatus = 'locked';
    let why = '';
    if (!entry) [status, why] = ['missing', `${id} is not in the lock`];
    else {
      why =
        checkBuilder(builder) ||
        (entry.builder !== def.builder ? `builder changed from ${entry.builder} to ${def.builder}` : '') ||
        ((entry.parent ?? null) !== def.parent ? `parent changed from ${entry.parent ?? 'scratch'} to ${def.parent ?? 'scratch'}` : '') ||
        (canonicalJson([...entry.request].sort()) !== canonicalJson([...def.packages].sort())
          ? `packages changed (locked for ${entry.request.join(' ') || 'none'})`
          : '') ||
        parentBad;
      if (why) status = 'stale';
    }
    const own = status === 'locked' ? entry!.packages : [];
    out.set(id, { status, why, own, pins: status === 'locked' ? [...inherited, ...own] : [] });
  }
  return out;
}

/** One package whose locked version differs from what the archive offers now. */
export interface PackageChange {
  readonly image: string;
  readonly package: string;
  readonly arch: string;
  /** null: the image's closure gains the package. */
  readonly locked: string | null;
  /** null: the closure no longer has it. */
  readonly available: string | null;
  /** Whether the available version comes from the security suite. */
  readonly security: boolean;
}

/**
 * Package by package, what differs between the entries of `before` and `after`
 * for the images `after` resolved; images in `after` but not in `before` list
 * every package as new.
 * @example lockChanges(old, fresh, ['imgsdk/nginx'])
 */
export function lockChanges(before: Lock | null, after: Lock, ids: readonly string[]): PackageChange[] {
  const out: PackageChange[] = [];
  for (const image of [...ids].sort()) {
    const now = after.images[image];
    if (!now) continue;
    // A Gentoo package by its slot too (not the sub-slot, which moves with versions): python 3.11 and 3.12 are two.
    const id = (p: LockedPackage) => `${p.name}:${p.arch}${p.slot ? `:${p.slot.split('/')[0]}` : ''}`;
    const was = new Map((before?.images[image]?.packages ?? []).map((p) => [id(p), p]));
    const is = new Map(now.packages.map((p) => [id(p), p]));
    const byName = (a: string, b: string) => {
      const [x, y] = [a.split(':'), b.split(':')];
      return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : a < b ? -1 : a > b ? 1 : 0;
    };
    for (const k of [...new Set([...was.keys(), ...is.keys()])].sort(byName)) {
      const a = was.get(k);
      const b = is.get(k);
      if (a && b && a.version === b.version && a.sha256 === b.sha256 && canonicalJson(a.use ?? null) === canonicalJson(b.use ?? null))
        continue;
      const p = (b ?? a)!;
      out.push({
        image,
        package: p.name,
        arch: p.arch,
        locked: a?.version ?? null,
        available: b?.version ?? null,
        security: !!b && b.suite.endsWith('-security'),
      });
    }
  }
  return out;
}

/**
 * `ids` plus every image below them (children, and images copying from them),
 * sorted: the images whose keys change with theirs.
 * @example dependents(manifest, ['imgsdk/base']) // ['imgsdk/base', 'imgsdk/nginx']
 */
export function dependents(manifest: Manifest, ids: Iterable<string>): string[] {
  const below = new Map<string, string[]>();
  for (const [id, m] of Object.entries(manifest.images)) for (const d of m.dependsOn) below.set(d, [...(below.get(d) ?? []), id]);
  const starts = [...ids];
  return [...new Set([...starts, ...reachable(starts, (id) => below.get(id) ?? [])])].sort();
}

function withoutReleases(b: BuilderLock): unknown {
  if (b.kind !== 'debian') return b;
  const { releases: _r, ...rest } = b;
  return rest;
}

function sortPackages(ps: readonly LockedPackage[]): LockedPackage[] {
  const k = (p: LockedPackage) => `${p.name}\0${p.arch}`;
  return [...ps].sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}
