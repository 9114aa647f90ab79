import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Manifest } from '../../contract/assembly';
import { outDirOf, stateDirOfAssembly } from '../../contract/defaults';
import { CancelledError, ImgsdkError, UsageError } from '../../contract/errors';
import { parseEpoch } from '../../contract/epoch';
import { LABEL_KEY, LABEL_SBOM, PROVENANCE_FILE, SBOM_FILE } from '../../contract/labels';
import { MAX_REPOSITORY_LENGTH, shortKey, shorten } from '../../contract/names';
import { platformInfo } from '../../contract/platform';
import { readAssembly, type LoadedAssembly } from '../../contract/read';
import { formatSize } from '../../util/format';
import type { Engine } from '../engine/engine';
import { connectEngine } from '../engine/light';
import { checkRegistry, registryAuth } from '../image/push';
import type { ShipOptions } from '../image/ship';
import { globToRegExp } from '../rootfs/resolve';
import { checkStateLayout, stateFsError } from '../store/fs-errors';
import { liveKeysOf, planGc, runGc, type GcOptions } from '../store/gc';
import { MUTEX_FILE, StateDir } from '../store/state';
import { accountsOf, ancestors, shipSite, traceOf, type Built, type BuildJob, type Ctx, type TargetOutcome } from './context';
import { readDeployed, writeDeployed } from './diff';
import type { DeployEvent, ImageResult } from './events';
import { labelledEngine, removeDeadContainers, removeDeadTempFiles, stateIdentity, stateLabels } from './leftovers';
import { deployedOn, needsBuilder, planImage, platformView, type PlanFacts } from './plan';
import { buildPlatforms } from './platforms';
import { schedule } from './schedule';
import { signingOf, withSigning } from './signing';
import { pruneKeyTags, retag } from './tags';
import { builtId, imageTagsOf, targetShip, type PlatformTarget } from './targets';

export type { DeployEvent, ImageResult, Phase, Step } from './events';

export interface DeployOptions {
  /** Assembly directory: written when `deploy()` gets an app, read when it gets nothing. @default $IMGSDK_OUTDIR, else ./imgsdk.out */
  readonly assemblyDir?: string;
  /** @default $IMGSDK_STATE_DIR, else .imgsdk beside the assembly directory (so beside the app) */
  readonly stateDir?: string;
  /** Images built at once. @default 2 */
  readonly concurrency?: number;
  /** Ids or globs (`kubler/*`); their dependencies come along unless `exclusively`. @default all */
  readonly select?: readonly string[];
  /** Build only the selected images; their dependencies must be built already. @default false */
  readonly exclusively?: boolean;
  /** Redo phase 2 (layer, config, load) even when cached. @default false */
  readonly force?: boolean;
  /** Redo phase 1 too. @default false */
  readonly forceAll?: boolean;
  readonly onEvent?: (e: DeployEvent) => void;
  readonly signal?: AbortSignal;
  /** @default connectEngine() */
  readonly engine?: Engine;
  /**
   * Timestamp of every layer entry and config; an input of every key, so an app is
   * synthesized with it, and an assembly must have been synthesized with it.
   * @default the assembly's (SOURCE_DATE_EPOCH at synth, or 0)
   */
  readonly epoch?: number;
  /**
   * Load images into the engine. With false, phase 2 needs no engine (a deploy
   * of cached images needs none at all); a cache hit is then decided by the
   * state directory alone, and tests, health checks and push are not possible.
   * @default true
   */
  readonly load?: boolean;
  /** Also write every image (all its tags, and `:debug`) into this OCI image layout. @default none */
  readonly oci?: string;
  /** Also write one docker-archive per image (`<ns>_<name>.tar`) into this directory. @default none */
  readonly archive?: string;
  /** Push every image with its tags to this registry (`host[:port][/path]`). @default none */
  readonly push?: string;
  /**
   * A registry (`host[:port]/prefix`) as the shared build cache: each image's key is
   * looked up there before building (a hit counts as cached), and every build is
   * published there (cache/registry.ts). @default none
   */
  readonly cache?: string;
  /**
   * The platform a multi-platform image is loaded into the engine as (the others
   * are built, exported and pushed, and loaded only under their key tag when this
   * is theirs). @default the host's
   */
  readonly platform?: string;
  /**
   * Garbage-collect the state directory after the deploy (store/gc.ts): what neither
   * a current key nor the last `keep` builds of an image use goes, and older builds
   * too while it holds more than `budget` bytes. `false` keeps everything.
   * @default { keep: 3, budget: 4 GiB } ($IMGSDK_STATE_BUDGET: bytes, or 0 for no GC)
   */
  readonly gc?: GcOptions | false;
  /**
   * A private key (a PEM file, or the PEM text; `imgsdk keygen` makes one) that signs
   * every pushed manifest and index and their attestations (Sigstore bundles), and
   * every registry cache entry this deploy publishes. @default $IMGSDK_SIGN_KEY, else none
   */
  readonly signKey?: string;
  /** The passphrase of an encrypted `signKey`. @default $IMGSDK_SIGN_KEY_PASSPHRASE */
  readonly signKeyPassphrase?: string;
  /**
   * Public keys (PEM files or text) whose signatures the registry cache trusts: with
   * any key configured, an entry is used only when its signature verifies with one
   * of them. @default the public half of `signKey`
   */
  readonly trustKeys?: readonly string[];
  /** An OpenVEX document (a file) attested, signed, for every pushed image; needs `signKey`. @default none */
  readonly vex?: string;
}

export interface DeployResult {
  readonly ok: boolean;
  readonly images: readonly ImageResult[];
}

/**
 * Builds what changed in an assembly: every selected image whose key has no image in the engine
 * goes through phase 1 (builder container), the rootfs pipeline and phase 2
 * (layer, config, load). Independent images build in parallel; a failure stops
 * its dependents and the others finish.
 * @example const r = await deployAssembly(await readAssembly("imgsdk.out"), { concurrency: 2 });
 */
export async function deployAssembly(input?: LoadedAssembly | string, opts: DeployOptions = {}): Promise<DeployResult> {
  const asm = typeof input === 'object' ? input : await readAssembly(input ?? opts.assemblyDir ?? outDirOf());
  const epoch = assemblyEpoch(asm, opts);
  const state = new StateDir(opts.stateDir ?? stateDirOfAssembly(asm.dir));
  const signing = await signingOf(opts);
  const ship = withSigning(shipOptions(opts), signing);
  // Connected when first needed: a deploy of cached images with load: false needs no engine.
  let connecting: Promise<Engine> | undefined;
  const engine = () => (connecting ??= opts.engine ? Promise.resolve(opts.engine) : connectEngine());
  const selected = select(asm, opts.select ?? [], !!opts.exclusively);
  if (ship.push) checkPushNames(ship.push.registry, selected);
  const cache = opts.cache ? await (await import('./cache/registry')).openCache(opts.cache, process.env, signing) : null;
  if (ship.load || ship.push) await engine();
  const emit = opts.onEvent ?? (() => undefined);
  for (const id of selected) emit({ type: 'queued', id });
  state.warn = (line) => emit({ type: 'log', id: '-', line: `warning: ${line}` });

  return state
    .withMutex(
      async () => {
        // Holding the mutex, whatever temp files and containers of this state directory
        // are already there were left by deploys that died (SIGKILL, power loss).
        checkStateLayout(state.root);
        const lockedAt = Date.now();
        const temps = await removeDeadTempFiles(state.root, lockedAt);
        if (temps.length)
          emit({
            type: 'log',
            id: '-',
            line: `removed ${temps.length} temp file${temps.length === 1 ? '' : 's'} of a deploy that died: ${temps.slice(0, 5).join(', ')}${temps.length > 5 ? ', …' : ''}`,
          });
        const identity = stateIdentity(state.root);
        let labelled: Promise<Engine> | undefined;
        const engineOfLock = () =>
          (labelled ??= engine().then(async (e) => {
            const gone = await removeDeadContainers(e, identity);
            if (gone.length)
              emit({
                type: 'log',
                id: '-',
                line: `removed ${gone.length} container${gone.length === 1 ? '' : 's'} of a deploy that died: ${gone.join(', ')}`,
              });
            return labelledEngine(e, stateLabels(state.root));
          }));
        if (connecting) await engineOfLock();
        const built = new Map<string, Built>();
        const builders: Ctx['builders'] = new Map();
        const deps: Record<string, string[]> = {};
        for (const id of selected) deps[id] = asm.manifest.images[id].dependsOn.filter((d) => selected.includes(d));
        const ctx: Ctx = { asm, state, engine: engineOfLock, opts, ship, emit, built, builders, epoch, cache };
        // A failure is shown when it happens, not when the last unrelated image is done.
        const failureText = (e: unknown) => (e instanceof ImgsdkError ? e.message : String((e as Error)?.stack ?? e));
        const run = (id: string) =>
          cachedBuild(ctx, id).catch((raw: unknown) => {
            // A full disk or a rearranged state directory: one line naming it, not Node's trace.
            const e = stateFsError(raw, state.root) ?? raw;
            emit({ type: 'failed', id, error: failureText(e) });
            throw e;
          });
        const outcomes = await schedule(deps, run, { concurrency: opts.concurrency, signal: opts.signal });

        const images: ImageResult[] = [];
        for (const id of selected) {
          const o = outcomes.get(id)!;
          const tags = imageTagsOf(asm, id);
          if (o.status === 'ok') images.push(o.value);
          else if (o.status === 'failed')
            images.push({ id, status: 'failed', tags, cached: false, reason: failureText(o.error), error: o.error });
          else {
            emit({ type: 'skipped', id, reason: o.reason });
            images.push({ id, status: 'skipped', tags, cached: false, reason: o.reason });
          }
        }
        if (opts.signal?.aborted) throw new CancelledError('deploy cancelled');
        await collectGarbage(state, asm.manifest.images, opts.gc, emit);
        return { ok: images.every((i) => i.status === 'built' || i.status === 'cached'), images };
      },
      {
        signal: opts.signal,
        command: 'imgsdk deploy',
        onWait: (holder) =>
          emit({ type: 'waiting', id: '-', holder, line: `waiting for ${holder} to release ${state.root}/${MUTEX_FILE}` }),
      },
    )
    .catch((e: unknown) => {
      throw stateFsError(e, state.root) ?? e;
    });
}

/**
 * GC after a deploy, still under the state directory's mutex. Never fails the deploy: a GC that
 * cannot finish only leaves more behind, said as a warning.
 */
async function collectGarbage(
  state: StateDir,
  images: Manifest['images'],
  gc: GcOptions | false | undefined,
  emit: (e: DeployEvent) => void,
): Promise<void> {
  const env = process.env.IMGSDK_STATE_BUDGET;
  if (gc === false || env === '0') return;
  const budget = gc?.budget ?? (env && /^\d+$/.test(env) ? Number(env) : undefined);
  try {
    const plan = await planGc(state.root, liveKeysOf(images), { ...gc, ...(budget !== undefined ? { budget } : {}) });
    if (!plan.remove.length) return;
    const freed = await runGc(plan);
    emit({
      type: 'log',
      id: '-',
      line: `state directory: removed ${plan.remove.length} unused file${plan.remove.length === 1 ? '' : 's'} (${formatSize(freed)}); it holds ${formatSize(plan.after)}`,
    });
  } catch (err) {
    emit({ type: 'log', id: '-', line: `warning: state directory garbage collection failed: ${(err as Error).message}` });
  }
}

/**
 * buildOne, each platform's build between a registry cache lookup and a publish
 * (cache/hook.ts) under that platform's key; buildOne alone without a cache.
 */
function cachedBuild(ctx: Ctx, id: string): Promise<ImageResult> {
  if (!ctx.cache) return buildOne(ctx, id);
  const ancestors: string[] = [];
  for (let p = ctx.asm.images.get(id)!.parent; p; p = ctx.asm.images.get(p)!.parent) ancestors.push(p);
  return buildPlatforms(ctx, id, (c, t) => {
    const reports = ['PACKAGES.md', SBOM_FILE, PROVENANCE_FILE].map((name) => ({ name, path: c.state.reportPath(id, t.prefix + name) }));
    const log = (line: string) => c.emit({ type: 'log', id, line });
    // A platform the engine does not get is restored into the state directory only.
    const job = {
      id,
      key: t.key,
      tags: t.tags,
      state: c.state,
      ancestors,
      reports,
      load: c.ship.load && t.engine,
      engine: c.engine,
      log,
      forced: !!(c.opts.force || c.opts.forceAll),
    };
    return import('./cache/hook').then(({ withRegistryCache }) => withRegistryCache(c.cache, job, () => deployTarget(c, id, t)));
  });
}

function buildOne(ctx: Ctx, id: string): Promise<ImageResult> {
  return buildPlatforms(ctx, id, (c, t) => deployTarget(c, id, t));
}

/**
 * One image on one target (one of its platforms, or the host when it names none):
 * the plan decides between the cached path (below) and the build path
 * (build-target.ts, loaded only then).
 */
async function deployTarget(ctx: Ctx, id: string, target: PlatformTarget): Promise<TargetOutcome> {
  const { asm, state, opts } = ctx;
  const m = asm.manifest.images[id];
  const def = asm.images.get(id)!;
  const { key, platform } = target;
  const trace = traceOf(ctx, id, target);
  await mkdir(join(state.imageDir(id), target.prefix), { recursive: true });
  const reports = {
    report: state.reportPath(id, target.prefix + 'PACKAGES.md'),
    sbom: state.reportPath(id, target.prefix + SBOM_FILE),
    provenance: state.reportPath(id, target.prefix + PROVENANCE_FILE),
  };
  // A cache hit reads the layer file only to export it; else it is not hashed (its size is checked).
  const recorded = await state.readBuild(id, key, { verifyLayer: !!(ctx.ship.oci || ctx.ship.archive) });
  const previousEntries = recorded ? await state.readEntries(id, key) : null;
  const previous = previousEntries ? recorded : null;
  const existing = ship(ctx, target).load ? await (await ctx.engine()).inspectImage(`${id}:${shortKey(key)}`) : null;
  const facts: PlanFacts = {
    // The image as this platform's build sees it: its key, phase-1 key and their inputs.
    id,
    image: platformView(m, platform),
    files: def.files,
    kind: target.builder.kind,
    needsBuilder: needsBuilder(def),
    built: previous?.imageId ?? null,
    rootfs: false,
    deployed: deployedOn(await readDeployed(state, id), platform),
    engine: ship(ctx, target).load ? (existing ? { id: existing.id, key: existing.labels[LABEL_KEY] ?? null } : null) : undefined,
    force: opts.forceAll ? 'phase1' : opts.force ? 'phase2' : null,
  };
  const plan = planImage(facts);
  if (plan.action === 'cached' && previous)
    return shipCached(ctx, {
      id,
      target,
      trace,
      reports,
      reason: plan.reason,
      previous: { record: previous, entries: previousEntries! },
      existing: existing?.id ?? null,
    });
  const { buildTarget } = await import('./build-target');
  return buildTarget(ctx, { id, target, facts, trace, reports });
}

/** What a target ships by itself (targets.ts). */
function ship(ctx: Ctx, target: PlatformTarget): ShipOptions {
  return targetShip(ctx.ship, target);
}

/**
 * The cached path: the image is built at its key. Its tags are put back on it in
 * the engine, its `:debug` variant made when missing, and it is exported and
 * pushed as a fresh build would be.
 */
async function shipCached(
  ctx: Ctx,
  c: Pick<BuildJob, 'id' | 'target' | 'trace' | 'reports'> & {
    readonly reason: string;
    readonly previous: Built;
    readonly existing: string | null;
  },
): Promise<TargetOutcome> {
  const { id, target, trace, reports, previous } = c;
  const { record } = previous;
  const platform = target.platform;
  trace.step();
  if (c.existing) {
    await retag(await ctx.engine(), c.existing, target.tags, trace.log);
    await pruneKeyTags(await ctx.engine(), ctx.asm.manifest, id, c.existing, trace.log);
  }
  ctx.built.set(builtId(ctx.asm, id, platform), previous);
  const provenance = await readFile(reports.provenance, 'utf8').catch(() => null);
  // The SBOM is read only when it is attested (a signed push).
  const sbom = ship(ctx, target).push?.signer ? await readFile(reports.sbom, 'utf8').catch(() => null) : null;
  const { shipImage, recordedLabels } = await import('../image/ship');
  const arch = platform ? platformInfo(platform).arch : target.builder.arch;
  const chain = await ancestors(ctx, id, platform);
  const shipped = await shipImage(
    {
      ...shipSite(ctx, id, target, arch, trace.log),
      config: { json: record.configJson, digest: record.imageId },
      diffIds: record.diffIds,
      accounts: accountsOf(ctx.asm, id, chain, record.createdAccounts),
      provenance,
      sbom,
      extraLabels: recordedLabels(record.configJson, [LABEL_SBOM]),
    },
    ship(ctx, target),
  );
  await writeDeployed(ctx.state, id, ctx.asm.manifest.images[id], ctx.asm.images.get(id)!);
  ctx.emit({ type: 'cached', id, digest: record.imageId });
  const result = {
    id,
    status: 'cached' as const,
    digest: record.imageId,
    size: record.size,
    tags: target.tags,
    cached: true,
    reason: c.reason,
    ...reports,
    debug: shipped.debug ?? undefined,
    pushed: shipped.pushed,
  };
  return { result: platform ? { ...result, platform } : result, exports: shipped.exports };
}

/** Ship options from deploy options, checked before anything is built. */
function shipOptions(opts: DeployOptions): ShipOptions {
  const load = opts.load !== false;
  const registry = opts.push ? checkRegistry(opts.push) : null;
  if (registry && !load) throw new UsageError('push needs the images loaded into the engine: drop load: false (--no-load)');
  return {
    load,
    oci: opts.oci ? resolve(opts.oci) : undefined,
    archive: opts.archive ? resolve(opts.archive) : undefined,
    push: registry ? { registry, auth: registryAuth(registry) } : undefined,
  };
}

/** `registry/id` must stay within what a registry takes as a repository name. */
function checkPushNames(registry: string, ids: readonly string[]): void {
  const long = ids.filter((id) => `${registry}/${id}`.length > MAX_REPOSITORY_LENGTH);
  if (long.length) {
    throw new UsageError(
      `--push ${registry}: ${long.map((id) => `${registry}/${shorten(id)}`).join(', ')} would be longer than the ${MAX_REPOSITORY_LENGTH} characters a registry takes as a repository name`,
    );
  }
}

/** The selected ids plus (unless exclusively) everything they depend on, in manifest order. */
export function select(asm: LoadedAssembly, patterns: readonly string[], exclusively: boolean): string[] {
  const all = asm.manifest.order.flat();
  if (!patterns.length) return all;
  const chosen = new Set<string>();
  for (const p of patterns) {
    const re = p.includes('*') || p.includes('?') ? globToRegExp(p) : null;
    const hits = all.filter((id) => (re ? re.test(id) : id === p));
    if (!hits.length) throw new UsageError(`no image matches "${p}" (images: ${all.join(', ')})`);
    hits.forEach((h) => chosen.add(h));
  }
  if (!exclusively) {
    const stack = [...chosen];
    while (stack.length) for (const d of asm.manifest.images[stack.pop()!].dependsOn) if (!chosen.has(d)) (chosen.add(d), stack.push(d));
  }
  return all.filter((id) => chosen.has(id));
}

/** The epoch the assembly's keys were made with; asking for another one is a usage error. */
function assemblyEpoch(asm: LoadedAssembly, opts: DeployOptions): number {
  const epoch = asm.manifest.epoch ?? 0;
  const env = process.env.SOURCE_DATE_EPOCH;
  const wanted = opts.epoch !== undefined ? parseEpoch(opts.epoch, 'epoch') : env ? parseEpoch(env) : epoch;
  if (wanted !== epoch) {
    throw new UsageError(
      `${opts.epoch !== undefined ? 'epoch' : 'SOURCE_DATE_EPOCH'} is ${wanted}, but the assembly in ${asm.dir} was synthesized with ${epoch} (an input of every key): synthesize it again`,
    );
  }
  return epoch;
}
