/**
 * What `imgsdk clean` needs of the app it cleans for: its image ids, builders
 * and current keys, from the app (synthesized in memory) or its assembly on disk.
 */
import { existsSync } from 'node:fs';
import type { BuilderDef, Manifest } from '../contract/assembly';
import { stateDirOf } from '../contract/defaults';
import { readAssembly } from '../contract/read';
import { planClean, type CleanOptions, type CleanPlan, type CleanScope } from '../runtime/deploy/clean';
import { connectEngine } from '../runtime/engine/docker';
import { liveKeysOf, planGc, runGc, type GcOptions, type GcPlan, type LiveKeys } from '../runtime/store/gc';
import { MUTEX_FILE, StateDir } from '../runtime/store/state';
import type { Engine } from '../runtime/engine/engine';
import { loadApp } from '../sdk/load';
import { assemble } from '../sdk/synth';
import { findApp, type Located, type Where } from './open';

export { executeClean, type CleanPlan, type CleanResult } from '../runtime/deploy/clean';

/** The app's scope for clean, and its builders (a volume prune keeps what they use). */
export interface AppCleanScope {
  readonly scope: CleanScope;
  readonly builders: readonly BuilderDef[];
  /** The current keys and phase-1 keys of every image (what GC keeps). */
  readonly live: LiveKeys;
}

/**
 * The ids, builders and current keys of the app at `at` (or of the assembly it names).
 * @example const { scope } = await cleanScope(locate({ app: 'images.ts' }));
 */
export async function cleanScope(at: Located): Promise<AppCleanScope> {
  let manifest: Manifest;
  let builders: BuilderDef[];
  if (at.appFile) {
    const asm = assemble(loadApp(at.appFile), { lock: at.lockFile, epoch: at.epoch });
    manifest = asm.manifest;
    builders = [...asm.builders.values()];
  } else {
    manifest = (await readAssembly(at.outDir)).manifest;
    builders = Object.values(manifest.builders).map((b) => b.def);
  }
  const ids = Object.keys(manifest.images);
  // A multi-platform image has a key per platform; clean --stale keeps them all.
  const platformKeys = Object.fromEntries(
    ids.flatMap((id) => {
      const p = manifest.images[id].platforms;
      return p ? [[id, Object.values(p).map((x) => x.key)]] : [];
    }),
  );
  return {
    scope: {
      ids,
      builders: Object.keys(manifest.builders),
      keys: Object.fromEntries(ids.map((id) => [id, manifest.images[id].key])),
      platformKeys,
    },
    builders,
    live: liveKeysOf(manifest.images),
  };
}

/** What `imgsdk clean --gc` planned and, unless a dry run, removed. */
export interface AppGcResult {
  readonly plan: GcPlan;
  /** Bytes removed; 0 for a dry run. */
  readonly freed: number;
}

/**
 * Garbage-collects the state directory of the app `where` names, holding its mutex
 * (a running deploy is waited for, never raced): what no current key of its images
 * nor the last `keep` builds of each image use goes. Without an app (no images.ts,
 * no assembly) nothing is current, and only the last builds are kept.
 * @example const { plan } = await appGc({}, { dryRun: true });
 */
export async function appGc(
  where: Where,
  opts: GcOptions & { readonly dryRun?: boolean },
  log: (line: string) => void = () => undefined,
): Promise<AppGcResult> {
  const at = findApp(where);
  const live = at ? (await cleanScope(at)).live : { images: {}, phase1: [] };
  if (!at) log('no ./images.ts and no --app: no key is current, only the last builds of each image are kept');
  const state = new StateDir(at?.stateDir ?? where.state ?? stateDirOf());
  if (!existsSync(state.root)) return { plan: { root: state.root, remove: [], before: 0, after: 0, kept: opts.keep ?? 0 }, freed: 0 };
  return state.withMutex(
    async () => {
      const plan = await planGc(state.root, live, opts);
      return { plan, freed: opts.dryRun ? 0 : await runGc(plan) };
    },
    { command: 'imgsdk clean --gc', onWait: (holder) => log(`waiting for ${holder} to release ${state.root}/${MUTEX_FILE}`) },
  );
}

/** What the command line says besides where the app is. */
export type AppCleanOptions = Pick<CleanOptions, 'keepBuilders' | 'stateOnly' | 'all' | 'stale' | 'pruneVolumes'>;

/**
 * Plans `clean` for the app `where` names (else ./images.ts, else the assembly in
 * ./imgsdk.out) and its state directory; the app is loaded only when its ids, keys
 * or builders are needed. `engine` is null with `stateOnly`.
 * @example const { plan, engine } = await planAppClean({}, { stale: true });
 */
export async function planAppClean(
  where: Where,
  opts: AppCleanOptions,
  log: (line: string) => void = () => undefined,
): Promise<{ readonly plan: CleanPlan; readonly engine: Engine | null }> {
  const at = findApp(where);
  const prune = !!opts.pruneVolumes;
  const app = at && (prune || !(opts.all || opts.stateOnly)) ? await cleanScope(at) : null;
  if (!at && prune) log("no ./images.ts and no --app: no builder's volumes are kept");
  const engine = opts.stateOnly ? null : await connectEngine();
  const plan = await planClean(engine, {
    ...opts,
    stateDir: at?.stateDir ?? where.state ?? stateDirOf(),
    scope: opts.all || opts.stateOnly || prune ? undefined : app?.scope,
    builders: prune ? (app?.builders ?? []) : [],
  });
  return { plan, engine };
}
