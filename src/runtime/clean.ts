/**
 * `imgsdk clean`: removes what imgsdk left behind — the state directory (build
 * records, layers, blobs, rootfs caches), every container and image the engine
 * has with an imgsdk label (builders carry `org.imgsdk=1`, built images
 * `org.imgsdk.key`), and the volumes of Gentoo builders (Portage snapshots,
 * binary packages, distfiles) that no container uses. Or, as a prune, only the
 * snapshot and binary-package volumes no builder of the app uses any more (a
 * snapshot of another day, a builder that left the app). Planned first, so the
 * CLI can show it and ask.
 */
import { rm, stat } from 'node:fs/promises';
import type { BuilderDef } from '../assembly';
import { BINPKG_VOLUME_PREFIX, currentBuilderVolumes, DISTFILES_VOLUME, SNAPSHOT_VOLUME_PREFIX } from './builders/portage-snapshot';
import type { ContainerInfo, Engine, ImageInfo, VolumeInfo } from './engine/engine';
import { LABEL_BUILDER, LABEL_KEY, LABEL_OWNED } from './engine/engine';
import { StateDir } from './state';

/** What `clean` would remove. */
export interface CleanPlan {
  /** The state directory, when it exists. */
  readonly stateDir: string | null;
  readonly containers: readonly ContainerInfo[];
  readonly images: readonly ImageInfo[];
  /** Volumes of Gentoo builders that no container uses, sorted by name. */
  readonly volumes: readonly VolumeInfo[];
}

/** `clean` options. */
export interface CleanOptions {
  /** @default process.env.IMGSDK_STATE_DIR ?? '.imgsdk' */
  readonly stateDir?: string;
  /**
   * Keep builder images and the volumes of Gentoo builders (a Debian builder takes
   * ~20 s to bootstrap again, a Portage snapshot a download). @default false
   */
  readonly keepBuilders?: boolean;
  /** Leave the engine alone; only the state directory goes. @default false */
  readonly stateOnly?: boolean;
  /**
   * Only prune volumes: the Portage snapshot and binary-package volumes no
   * container uses, except the ones `builders` use now. The state directory,
   * containers and images stay. @default false
   */
  readonly pruneVolumes?: boolean;
  /** The app's builders: a prune keeps the volumes they use now. @default [] */
  readonly builders?: readonly BuilderDef[];
  /** What "now" is for a `latest` snapshot (today's volume is the current one). @default new Date() */
  readonly now?: Date;
}

/**
 * Lists what `clean` would remove. Needs the engine unless `stateOnly`.
 * @example const plan = await planClean(engine, { keepBuilders: true });
 * @example const prune = await planClean(engine, { pruneVolumes: true, builders: [bob.def] });
 */
export async function planClean(engine: Engine | null, opts: CleanOptions = {}): Promise<CleanPlan> {
  const state = new StateDir(opts.stateDir);
  if (opts.pruneVolumes) {
    if (!engine) return { stateDir: null, containers: [], images: [], volumes: [] };
    const keep = new Set<string>();
    for (const b of opts.builders ?? []) for (const v of await currentBuilderVolumes(engine, b, opts.now)) keep.add(v);
    const volumes = (await builderVolumes(engine)).filter((v) => v.name !== DISTFILES_VOLUME && !keep.has(v.name));
    return { stateDir: null, containers: [], images: [], volumes };
  }
  const exists = await stat(state.root).then((s) => s.isDirectory(), () => false);
  if (opts.stateOnly || !engine) return { stateDir: exists ? state.root : null, containers: [], images: [], volumes: [] };
  const containers = await engine.listContainers({ label: LABEL_OWNED, all: true });
  const byId = new Map<string, ImageInfo>();
  for (const label of [LABEL_OWNED, LABEL_KEY]) for (const i of await engine.listImages({ label })) byId.set(i.id, i);
  const images = [...byId.values()].filter((i) => !(opts.keepBuilders && i.labels[LABEL_BUILDER])).sort((a, b) => (a.repoTags[0] ?? a.id).localeCompare(b.repoTags[0] ?? b.id));
  const volumes = opts.keepBuilders ? [] : await builderVolumes(engine);
  return { stateDir: exists ? state.root : null, containers, images, volumes };
}

/** The snapshot, binary-package and distfiles volumes no container uses. */
async function builderVolumes(engine: Engine): Promise<VolumeInfo[]> {
  const vs = await engine.listVolumes({ prefix: 'imgsdk-', unused: true });
  return vs.filter((v) => v.name.startsWith(SNAPSHOT_VOLUME_PREFIX) || v.name.startsWith(BINPKG_VOLUME_PREFIX) || v.name === DISTFILES_VOLUME);
}

/** What `clean` removed, and what it could not (with why). */
export interface CleanResult {
  readonly removed: { readonly containers: number; readonly images: number; readonly volumes: number; readonly stateDir: boolean };
  readonly failed: readonly string[];
}

/**
 * Removes what `plan` lists: containers first (force), then images (by id, every
 * tag), volumes, then the state directory. Goes on after a failure and reports it.
 */
export async function executeClean(engine: Engine | null, plan: CleanPlan): Promise<CleanResult> {
  const failed: string[] = [];
  let containers = 0;
  let images = 0;
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
  return { removed: { containers, images, volumes, stateDir }, failed };
}
