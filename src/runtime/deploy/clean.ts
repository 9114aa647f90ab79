/**
 * `imgsdk clean`: removes what imgsdk left behind, for one app and state directory
 * unless told otherwise. By default: the state directory (build records, layers,
 * blobs, rootfs caches), the containers labelled with this state directory
 * (`org.imgsdk.state`), the images of this app's ids (`org.imgsdk.id`, every tag).
 * Shared caches — builder images (`org.imgsdk.builder`) and the builders' volumes
 * (Portage snapshots, binary packages, distfiles) — go only when this state
 * directory is recorded as using them and no other known user is (store/users.ts),
 * and a volume only when no container uses it; what another app uses is kept and
 * said. `all` is the engine-wide sweep of everything imgsdk-labelled; `stale` only
 * untags this app's images whose key tag is not their current key; `pruneVolumes`
 * removes only the volumes this state directory used that no builder of the app
 * uses any more (and no other user). Planned first, and one plan is both what a
 * dry run lists and what the real run removes.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../../contract/errors';
import type { BuilderDef } from '../../contract/assembly';
import { BINPKG_VOLUME_PREFIX, currentBuilderVolumes, DISTFILES_VOLUME, SNAPSHOT_VOLUME_PREFIX } from '../phase1/builders/portage-snapshot';
import type { ContainerInfo, Engine, ImageInfo, VolumeInfo } from '../engine/engine';
import { StateDir } from '../store/state';
import { type CacheUser, forgetUses, readUsers, stateIdentity, usersDirOf } from '../store/users';
import { LABEL_BUILDER, LABEL_ID, LABEL_KEY, LABEL_OWNED, LABEL_STATE } from '../../contract/labels';
import { shortKey } from '../../contract/names';

/** What `clean` would remove. */
export interface CleanPlan {
  /** The state directory, when it exists and is cleaned. */
  readonly stateDir: string | null;
  readonly containers: readonly ContainerInfo[];
  readonly images: readonly ImageInfo[];
  /** `repo:tag` names to remove (stale key tags); the image goes with its last tag. */
  readonly tags: readonly string[];
  /** Volumes of builders that no container uses, sorted by name. */
  readonly volumes: readonly VolumeInfo[];
  /**
   * Shared caches this app used that stay because another app uses them too
   * (`image <ref> (also used by <state dir>)`), for the CLI to say. @default []
   */
  readonly kept?: readonly string[];
  /** The registry of cache users this plan's removals are forgotten in (set by planClean). */
  readonly forget?: { readonly usersDir: string; readonly root: string; readonly volumes: readonly string[]; readonly all: boolean };
}

/** The app `clean` works for: its image ids, builder ids and current keys. */
export interface CleanScope {
  readonly ids: readonly string[];
  readonly builders: readonly string[];
  /** Current key of each image id. */
  readonly keys: Readonly<Record<string, string>>;
  /** The current keys of every platform of a multi-platform image (its `key` is the first's). @default none */
  readonly platformKeys?: Readonly<Record<string, readonly string[]>>;
}

/** `clean` options. */
export interface CleanOptions {
  /** @default $IMGSDK_STATE_DIR, else ./.imgsdk */
  readonly stateDir?: string;
  /**
   * Keep builder images and the volumes of Gentoo builders (a Debian builder takes
   * ~20 s to bootstrap again, a Portage snapshot a download). @default false
   */
  readonly keepBuilders?: boolean;
  /** Leave the engine alone; only the state directory goes. @default false */
  readonly stateOnly?: boolean;
  /**
   * The app whose images go. @default the image ids the state directory has
   * records of (no builders)
   */
  readonly scope?: CleanScope;
  /** Everything imgsdk-labelled in the engine, of every app and state directory. @default false */
  readonly all?: boolean;
  /** Only untag the app's images whose key tag is not their current key; needs `scope`. @default false */
  readonly stale?: boolean;
  /**
   * Only prune volumes: the Portage snapshot and binary-package volumes no
   * container uses, except the ones `builders` use now. @default false
   */
  readonly pruneVolumes?: boolean;
  /** The app's builders: a prune keeps the volumes they use now. @default [] */
  readonly builders?: readonly BuilderDef[];
  /** What "now" is for a `latest` snapshot (today's volume is the current one). @default new Date() */
  readonly now?: Date;
  /** The registry of who uses the shared caches (store/users.ts). @default usersDirOf() */
  readonly usersDir?: string;
}

/**
 * Lists what `clean` would remove. Needs the engine unless `stateOnly`.
 * @example const plan = await planClean(engine, { scope, keepBuilders: true });
 */
export async function planClean(engine: Engine | null, opts: CleanOptions = {}): Promise<CleanPlan> {
  const state = new StateDir(opts.stateDir);
  const exists = await stat(state.root).then(
    (s) => s.isDirectory(),
    () => false,
  );
  const none = { containers: [], images: [], tags: [], volumes: [] };
  const usersDir = opts.usersDir ?? usersDirOf();
  const me = stateIdentity(state.root);
  const users = await readUsers(usersDir);
  const mine = users.find((u) => u.identity === me);
  const others = users.filter((u) => u.identity !== me);
  const usedByOthers = (kind: 'builders' | 'volumes', name: string): CacheUser | undefined => others.find((u) => u[kind].includes(name));
  const kept: string[] = [];
  // The volumes this state directory's builders used, that no container and no other known user uses.
  const ownVolumes = async (skip: ReadonlySet<string>): Promise<VolumeInfo[]> => {
    const unused = new Set((await builderVolumes(engine!)).map((v) => v.name));
    const out: VolumeInfo[] = [];
    for (const name of mine?.volumes ?? []) {
      if (skip.has(name) || !unused.has(name)) continue;
      const other = usedByOthers('volumes', name);
      if (other) kept.push(`volume ${name} (also used by ${other.root})`);
      else out.push({ name, labels: {} });
    }
    return out;
  };
  if (opts.pruneVolumes) {
    if (!engine) return { stateDir: null, ...none };
    const keep = new Set<string>();
    for (const b of opts.builders ?? []) for (const v of await currentBuilderVolumes(engine, b, opts.now)) keep.add(v);
    const volumes = (await ownVolumes(keep)).filter((v) => v.name !== DISTFILES_VOLUME);
    return {
      stateDir: null,
      ...none,
      volumes,
      kept,
      forget: { usersDir, root: state.root, volumes: volumes.map((v) => v.name), all: false },
    };
  }
  if (opts.stale) {
    if (!opts.scope) throw new UsageError('clean --stale needs the app (its current keys): run it where images.ts is, or pass --app');
    return { stateDir: null, ...none, tags: engine ? await staleTags(engine, opts.scope) : [] };
  }
  const stateDir = exists ? state.root : null;
  const forget = { usersDir, root: state.root, volumes: [], all: !!stateDir };
  if (opts.stateOnly || !engine) return { stateDir, ...none, forget };

  const byId = new Map<string, ImageInfo>();
  for (const label of [LABEL_OWNED, LABEL_KEY]) for (const i of await engine.listImages({ label })) byId.set(i.id, i);
  let images = [...byId.values()];
  let containers: ContainerInfo[];
  let volumes: VolumeInfo[];
  if (opts.all) {
    containers = await engine.listContainers({ label: LABEL_OWNED, all: true });
    volumes = opts.keepBuilders ? [] : await builderVolumes(engine);
  } else {
    const ids = new Set([...(opts.scope?.ids ?? []), ...(exists ? await recordedIds(state.root) : [])]);
    const builders = new Set([...(opts.scope?.builders ?? []), ...(mine?.builders ?? [])]);
    images = images.filter((i) => {
      if (ids.has(i.labels[LABEL_ID])) return true;
      const b = i.labels[LABEL_BUILDER];
      if (!b || !builders.has(b)) return false;
      const other = usedByOthers('builders', b);
      if (other) kept.push(`image ${i.repoTags[0] ?? i.id.slice(7, 19)} (also used by ${other.root})`);
      return !other;
    });
    containers = await engine.listContainers({ label: `${LABEL_STATE}=${me}`, all: true });
    volumes = opts.keepBuilders ? [] : await ownVolumes(new Set());
  }
  images = images
    .filter((i) => !(opts.keepBuilders && i.labels[LABEL_BUILDER]))
    .sort((a, b) => (a.repoTags[0] ?? a.id).localeCompare(b.repoTags[0] ?? b.id));
  return { stateDir, containers, images, tags: [], volumes, kept: kept.sort(), forget };
}

/** The snapshot, binary-package and distfiles volumes no container uses. */
async function builderVolumes(engine: Engine): Promise<VolumeInfo[]> {
  const vs = await engine.listVolumes({ prefix: 'imgsdk-', unused: true });
  return vs
    .filter((v) => v.name.startsWith(SNAPSHOT_VOLUME_PREFIX) || v.name.startsWith(BINPKG_VOLUME_PREFIX) || v.name === DISTFILES_VOLUME)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The image ids the state directory has records of: `images/<ns>/<name>/`. */
async function recordedIds(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const ns of await readdir(join(root, 'images'), { withFileTypes: true }).catch(() => [])) {
    if (!ns.isDirectory()) continue;
    for (const name of await readdir(join(root, 'images', ns.name), { withFileTypes: true }).catch(() => [])) {
      if (name.isDirectory()) out.push(`${ns.name}/${name.name}`);
    }
  }
  return out;
}

/** Tags of the app's images that name another key than the current one (key tags and candidate tags). */
async function staleTags(engine: Engine, scope: CleanScope): Promise<string[]> {
  const out: string[] = [];
  for (const id of scope.ids) {
    const current = new Set([scope.keys[id] ?? '', ...(scope.platformKeys?.[id] ?? [])].map(shortKey));
    for (const i of await engine.listImages({ label: `${LABEL_ID}=${id}` })) {
      for (const t of i.repoTags) {
        if (!t.startsWith(`${id}:`)) continue;
        const tag = t.slice(id.length + 1);
        const key = /^([0-9a-f]{12})$/.exec(tag)?.[1] ?? /^imgsdk-candidate-([0-9a-f]{12})$/.exec(tag)?.[1];
        if (key && !current.has(key)) out.push(t);
      }
    }
  }
  return out.sort();
}

/** What `clean` removed, and what it could not (with why). */
export interface CleanResult {
  readonly removed: {
    readonly containers: number;
    readonly images: number;
    readonly tags: number;
    readonly volumes: number;
    readonly stateDir: boolean;
  };
  readonly failed: readonly string[];
}

/**
 * Removes what `plan` lists: containers first (force), then images (by id, every
 * tag), then stale tags, volumes, then the state directory. Goes on after a failure and reports it.
 */
export async function executeClean(engine: Engine | null, plan: CleanPlan): Promise<CleanResult> {
  const failed: string[] = [];
  let containers = 0;
  let images = 0;
  let tags = 0;
  let volumes = 0;
  for (const c of plan.containers) {
    try {
      if (await engine!.removeContainer(c.id)) containers++;
    } catch (err) {
      failed.push(`container ${c.names[0] ?? c.id}: ${(err as Error).message}`);
    }
  }
  for (const i of plan.images) {
    try {
      if (await engine!.removeImage(i.id, { force: true })) images++;
    } catch (err) {
      failed.push(`image ${i.repoTags[0] ?? i.id}: ${(err as Error).message}`);
    }
  }
  for (const t of plan.tags) {
    try {
      if (await engine!.removeImage(t)) tags++;
    } catch (err) {
      failed.push(`tag ${t}: ${(err as Error).message}`);
    }
  }
  for (const v of plan.volumes) {
    try {
      if (await engine!.removeVolume(v.name)) volumes++;
    } catch (err) {
      failed.push(`volume ${v.name}: ${(err as Error).message}`);
    }
  }
  let stateDir = false;
  if (plan.stateDir) {
    try {
      await rm(plan.stateDir, { recursive: true, force: true });
      stateDir = true;
    } catch (err) {
      failed.push(`${plan.stateDir}: ${(err as Error).message}`);
    }
  }
  // What is gone is no longer used by this state directory: another app's clean may remove it then.
  const f = plan.forget;
  if (f && (f.all ? stateDir : f.volumes.length))
    await forgetUses(f.usersDir, f.root, f.all ? undefined : { volumes: f.volumes }).catch(() => undefined);
  return { removed: { containers, images, tags, volumes, stateDir }, failed };
}
