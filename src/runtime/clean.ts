/**
 * `imgsdk clean`: removes what imgsdk left behind — the state directory (build
 * records, layers, blobs, rootfs caches), and every container and image the
 * engine has with an imgsdk label (builders carry `org.imgsdk=1`, built images
 * `org.imgsdk.key`). Planned first, so the CLI can show it and ask.
 */
import { rm, stat } from 'node:fs/promises';
import type { ContainerInfo, Engine, ImageInfo } from './engine/engine';
import { LABEL_BUILDER, LABEL_KEY, LABEL_OWNED } from './engine/engine';
import { StateDir } from './state';

/** What `clean` would remove. */
export interface CleanPlan {
  /** The state directory, when it exists. */
  readonly stateDir: string | null;
  readonly containers: readonly ContainerInfo[];
  readonly images: readonly ImageInfo[];
}

/** `clean` options. */
export interface CleanOptions {
  /** @default process.env.IMGSDK_STATE_DIR ?? '.imgsdk' */
  readonly stateDir?: string;
  /** Keep builder images (a Debian builder takes ~20 s to bootstrap again). @default false */
  readonly keepBuilders?: boolean;
  /** Leave the engine alone; only the state directory goes. @default false */
  readonly stateOnly?: boolean;
}

/**
 * Lists what `clean` would remove. Needs the engine unless `stateOnly`.
 * @example const plan = await planClean(engine, { keepBuilders: true });
 */
export async function planClean(engine: Engine | null, opts: CleanOptions = {}): Promise<CleanPlan> {
  const state = new StateDir(opts.stateDir);
  const exists = await stat(state.root).then((s) => s.isDirectory(), () => false);
  if (opts.stateOnly || !engine) return { stateDir: exists ? state.root : null, containers: [], images: [] };
  const containers = await engine.listContainers({ label: LABEL_OWNED, all: true });
  const byId = new Map<string, ImageInfo>();
  for (const label of [LABEL_OWNED, LABEL_KEY]) for (const i of await engine.listImages({ label })) byId.set(i.id, i);
  const images = [...byId.values()].filter((i) => !(opts.keepBuilders && i.labels[LABEL_BUILDER])).sort((a, b) => (a.repoTags[0] ?? a.id).localeCompare(b.repoTags[0] ?? b.id));
  return { stateDir: exists ? state.root : null, containers, images };
}

/** What `clean` removed, and what it could not (with why). */
export interface CleanResult {
  readonly removed: { readonly containers: number; readonly images: number; readonly stateDir: boolean };
  readonly failed: readonly string[];
}

/**
 * Removes what `plan` lists: containers first (force), then images (by id, every
 * tag), then the state directory. Goes on after a failure and reports it.
 */
export async function executeClean(engine: Engine | null, plan: CleanPlan): Promise<CleanResult> {
  const failed: string[] = [];
  let containers = 0;
  let images = 0;
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
  let stateDir = false;
  if (plan.stateDir) {
    try {
      await rm(plan.stateDir, { recursive: true, force: true });
      stateDir = true;
    } catch (err) {
      failed.push(`${plan.stateDir}: ${(err as Error).message}`);
    }
  }
  return { removed: { containers, images, stateDir }, failed };
}
