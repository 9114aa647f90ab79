import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { checkStateLayout, stateFsError } from '../store/fs-errors';
import { join, resolve } from 'node:path';
import type { AccountDef, Manifest } from '../../contract/assembly';
import { outDirOf, stateDirOfAssembly } from '../../contract/defaults';
import { BuildError, CancelledError, ImgsdkError, UsageError } from '../../contract/errors';
import { builderKey } from '../../contract/key';
import { parseEpoch } from '../../contract/epoch';
import { MAX_REPOSITORY_LENGTH, shorten } from '../../contract/names';
import { readAssembly, type LoadedAssembly } from '../../contract/read';
import { connectEngine } from '../engine/light';
import { LABEL_KEY, type Engine } from '../engine/engine';
import { labelledEngine, removeDeadContainers, removeDeadTempFiles, stateIdentity, stateLabels } from './leftovers';
import { readDeployed, writeDeployed } from './diff';
import { deployedOn, needsBuilder, planImage, platformView, type PlanFacts } from './plan';
import { checkRegistry, registryAuth } from '../image/push';
import { hasChecks } from '../image/imagetest';
import type { Entry } from '../store/entry';
import { DamagedBlobError } from '../store/blobs';
import { globToRegExp } from '../rootfs/resolve';
import type { DeployEvent, ImageResult, Step } from './events';
import { schedule } from './schedule';
import type { BuilderImage } from '../phase1/builders/ensure';
import { LABEL_SBOM, PROVENANCE_FILE, SBOM_FILE } from '../../contract/labels';
import { DEBUG_BUILDER } from '../image/debug-builder';
import type { ShipInput, ShipOptions } from '../image/ship';
import type { RegistryCache } from './cache/registry';
import { signingOf, withSigning } from './signing';
// What only a build needs is loaded when a build starts: a deploy of cached images
// loads neither the builders, the rootfs pipeline, the image writers nor the reports.
const building = () => import('./building');
import { pruneKeyTags, retag } from './tags';
import { writeAtomic } from '../../util/files';
import { formatSize } from '../../util/format';
import { liveKeysOf, planGc, runGc, type GcOptions } from '../store/gc';
import { builtId, keyOn, requireEmulation, targetShip, type PlatformTarget } from './targets';
import { buildPlatforms, withPlatform } from './platforms';
import { forPlatform } from '../../contract/platform';
import { platformInfo } from '../../contract/platform';
import { StateDir, type BuildRecord, type CreatedAccount, type RootfsRecord } from '../store/state';

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

interface Built {
  readonly record: BuildRecord;
  readonly entries: readonly Entry[];
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

  return state.withLock(async () => {
    // Holding the lock, whatever temp files and containers of this state directory
    // are already there were left by deploys that died (SIGKILL, power loss).
    checkStateLayout(state.root);
    const lockedAt = Date.now();
    const temps = await removeDeadTempFiles(state.root, lockedAt);
    if (temps.length) emit({ type: 'log', id: '-', line: `removed ${temps.length} temp file${temps.length === 1 ? '' : 's'} of a deploy that died: ${temps.slice(0, 5).join(', ')}${temps.length > 5 ? ', …' : ''}` });
    const identity = stateIdentity(state.root);
    let labelled: Promise<Engine> | undefined;
    const engineOfLock = () =>
      (labelled ??= engine().then(async (e) => {
        const gone = await removeDeadContainers(e, identity);
        if (gone.length) emit({ type: 'log', id: '-', line: `removed ${gone.length} container${gone.length === 1 ? '' : 's'} of a deploy that died: ${gone.join(', ')}` });
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
      const tags = repoTags(asm, id);
      if (o.status === 'ok') images.push(o.value);
      else if (o.status === 'failed') images.push({ id, status: 'failed', tags, cached: false, reason: failureText(o.error), error: o.error });
      else {
        emit({ type: 'skipped', id, reason: o.reason });
        images.push({ id, status: 'skipped', tags, cached: false, reason: o.reason });
      }
    }
    if (opts.signal?.aborted) throw new CancelledError('deploy cancelled');
    await collectGarbage(state, asm.manifest.images, opts.gc, emit);
    return { ok: images.every((i) => i.status === 'built' || i.status === 'cached'), images };
  }, { signal: opts.signal, command: 'imgsdk deploy', onWait: (holder) => emit({ type: 'waiting', id: '-', holder, line: `waiting for ${holder} to release ${state.root}/lock` }) }).catch((e: unknown) => {
    throw stateFsError(e, state.root) ?? e;
  });
}

/**
 * GC after a deploy, still under the state lock. Never fails the deploy: a GC that
 * cannot finish only leaves more behind, said as a warning.
 */
async function collectGarbage(state: StateDir, images: Manifest['images'], gc: GcOptions | false | undefined, emit: (e: DeployEvent) => void): Promise<void> {
  const env = process.env.IMGSDK_STATE_BUDGET;
  if (gc === false || env === '0') return;
  const budget = gc?.budget ?? (env && /^\d+$/.test(env) ? Number(env) : undefined);
  try {
    const plan = await planGc(state.root, liveKeysOf(images), { ...gc, ...(budget !== undefined ? { budget } : {}) });
    if (!plan.remove.length) return;
    const freed = await runGc(plan);
    emit({ type: 'log', id: '-', line: `state directory: removed ${plan.remove.length} unused file${plan.remove.length === 1 ? '' : 's'} (${formatSize(freed)}); it holds ${formatSize(plan.after)}` });
  } catch (err) {
    emit({ type: 'log', id: '-', line: `warning: state directory garbage collection failed: ${(err as Error).message}` });
  }
}

interface Ctx {
  readonly asm: LoadedAssembly;
  readonly state: StateDir;
  readonly engine: () => Promise<Engine>;
  readonly opts: DeployOptions;
  readonly ship: ShipOptions;
  readonly emit: (e: DeployEvent) => void;
  readonly built: Map<string, Built>;
  readonly builders: Map<string, Promise<BuilderImage>>;
  readonly epoch: number;
  readonly cache: RegistryCache | null;
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
    const job = { id, key: t.key, tags: t.tags, state: c.state, ancestors, reports, load: c.ship.load && t.engine, engine: c.engine, log, forced: !!(c.opts.force || c.opts.forceAll) };
    return import('./cache/hook').then(({ withRegistryCache }) => withRegistryCache(c.cache, job, () => buildTarget(c, id, t)));
  });
}

function buildOne(ctx: Ctx, id: string): Promise<ImageResult> {
  return buildPlatforms(ctx, id, (c, t) => buildTarget(c, id, t));
}

/** One build of an image: for one of its platforms, or for the host when it names none. */
async function buildTarget(ctx: Ctx, id: string, target: PlatformTarget): Promise<ImageResult> {
  const { asm, state, opts, emit } = ctx;
  // Ctrl-C stops at the next step: nothing after it is loaded, tagged, recorded or pushed.
  const step = () => {
    if (opts.signal?.aborted) throw new CancelledError(`${id}: cancelled`);
  };
  const m = asm.manifest.images[id];
  const def = asm.images.get(id)!;
  const { key, tags, platform } = target;
  const ship = targetShip(ctx.ship, target);
  const bid = builtId(asm, id, platform);
  const shipper = await import('../image/ship');
  // Log lines reach build.log in order: each write waits for the one before.
  let logged: Promise<unknown> = Promise.resolve();
  const write = (f: () => Promise<unknown>) => (logged = logged.then(f).catch(() => undefined));
  const logPath = target.prefix ? state.reportPath(id, target.prefix + 'build.log') : state.logPath(id);
  const log = (line: string) => {
    emit({ type: 'log', id, line });
    write(() => appendFile(logPath, line + '\n'));
  };
  await mkdir(join(state.imageDir(id), target.prefix), { recursive: true });
  // Where the time goes: each step's wall time, as an event and in the result.
  const timings: Partial<Record<Step, number>> = {};
  const timed = (s: Step, ms: number) => {
    timings[s] = (timings[s] ?? 0) + ms;
    emit({ type: 'timing', id, step: s, ms });
  };
  const time = async <T>(s: Step, work: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await work();
    } finally {
      timed(s, Date.now() - t);
    }
  };
  const builder = target.builder;
  const arch = platform ? platformInfo(platform).arch : builder.arch;
  // Declared accounts and those installs created (a `.user('postgres')` a package made), ancestors first.
  const accountsOf = (chain: readonly Built[], own: readonly CreatedAccount[] = []) => [
    ...[...chain].reverse().flatMap((a) => [...createdUsers(a.record.createdAccounts), ...asm.images.get(a.record.id)!.accounts]),
    ...createdUsers(own),
    ...def.accounts,
  ];
  const shipInput = (config: { json: string; digest: string }, diffIds: readonly string[], chain: readonly Built[], provenance: string | null, sbom: string | null, created?: readonly CreatedAccount[]): ShipInput => ({
    engine: ctx.engine, state, def, key, tags, config, diffIds, arch, accounts: accountsOf(chain, created), epoch: ctx.epoch, provenance, sbom,
    extraLabels: shipper.recordedLabels(config.json, [LABEL_SBOM]), imageDir: join(asm.dir, m.dir), log, signal: opts.signal,
    builder: builder.kind === 'debian'
      ? { key: target.builderKey, network: builder.debian?.network ?? undefined, ref: () => ensureBuilder(ctx, target, log).then((b) => b.ref) }
      : debugBuilder(ctx, log, platform),
  });
  const reports = { report: state.reportPath(id, target.prefix + 'PACKAGES.md'), sbom: state.reportPath(id, target.prefix + SBOM_FILE), provenance: state.reportPath(id, target.prefix + PROVENANCE_FILE) };

  // Phase 1's output is cached under its own key: only what phase 1 reads (older assemblies: the image key).
  const p1key = target.phase1Key;
  // The image as this platform's build sees it: its key, phase-1 key and their inputs.
  const view = platformView(m, platform);
  // A cache hit reads the layer file only to export it; else it is not hashed (its size is checked).
  const recorded = await state.readBuild(id, key, { verifyLayer: !!(ctx.ship.oci || ctx.ship.archive) });
  const previousEntries = recorded ? await state.readEntries(id, key) : null;
  const previous = previousEntries ? recorded : null;
  const existing = ship.load ? await (await ctx.engine()).inspectImage(`${id}:${key.slice(0, 12)}`) : null;
  const facts: PlanFacts = {
    id, image: view, files: def.files, kind: builder.kind, needsBuilder: needsBuilder(def), built: previous?.imageId ?? null, rootfs: false, deployed: deployedOn(await readDeployed(state, id), platform),
    engine: ship.load ? (existing ? { id: existing.id, key: existing.labels[LABEL_KEY] ?? null } : null) : undefined,
    force: opts.forceAll ? 'phase1' : opts.force ? 'phase2' : null,
  };
  let plan = planImage(facts);
  if (plan.action === 'cached' && previous) {
    step();
    if (existing) {
      await retag(await ctx.engine(), existing.id, tags, log);
      await pruneKeyTags(await ctx.engine(), asm.manifest, id, existing.id, log);
    }
    ctx.built.set(bid, { record: previous, entries: previousEntries! });
    const provenance = await readFile(reports.provenance, 'utf8').catch(() => null);
    // The SBOM is read only when it is attested (a signed push).
    const sbom = ship.push?.signer ? await readFile(reports.sbom, 'utf8').catch(() => null) : null;
    const shipped = await shipper.shipImage(shipInput({ json: previous.configJson, digest: previous.imageId }, previous.diffIds, await ancestors(ctx, id, platform), provenance, sbom, previous.createdAccounts), ship);
    await writeDeployed(state, id, m, def);
    emit({ type: 'cached', id, digest: previous.imageId });
    return withPlatform({ id, status: 'cached', digest: previous.imageId, size: previous.size, tags, cached: true, reason: plan.reason, ...reports, debug: shipped.debug ?? undefined, pushed: shipped.pushed }, platform, shipped);
  }
  const b = await building();
  // Not cached: whether phase 1 reruns depends on the rootfs at the phase-1 key (read, and hashed, only now).
  let rootfs: RootfsRecord | null = facts.force === 'phase1' ? null : await state.readRootfs(p1key);
  if (!rootfs && !needsBuilder(def)) rootfs = await state.writeEmptyRootfs(p1key);
  plan = planImage({ ...facts, rootfs: !!rootfs });
  const reason = plan.reason;
  // build.log holds the latest build only.
  write(() => writeFile(logPath, `# ${id}${platform ? ` (${platform})` : ''} at key ${key.slice(0, 12)} (phase 1 ${p1key.slice(0, 12)}${rootfs ? ', cached' : ''}): ${reason}\n`));

  const chain = await ancestors(ctx, id, platform);
  if (!rootfs) {
    emit({ type: 'building', id, phase: 'builder', reason });
    requireEmulation(id, platform);
    const { ref, mounts } = await time('builder', () => ensureBuilder(ctx, target, log));
    emit({ type: 'building', id, phase: 'phase1', reason });
    const parentPackages = [...new Set(chain.flatMap((a) => a.record.packages.map(b.parentPackageLine)))].sort();
    let partial = '';
    rootfs = await b.runPhase1({
      engine: await ctx.engine(), state, def, key: p1key, builder, builderRef: ref, imageDir: join(asm.dir, m.dir), parentPackages, mounts, signal: opts.signal, onStep: timed,
      onOutput: (chunk) => {
        const text = partial + chunk.toString('utf8');
        const lines = text.split('\n');
        partial = lines.pop()!;
        for (const l of lines) log(l);
      },
    });
    if (partial) log(partial);
    // Which builder image made this rootfs, by digest, for the provenance.
    rootfs = { ...rootfs, builderImage: { ref, id: (await (await ctx.engine()).inspectImage(ref))?.id ?? null } };
    await state.writeRootfsRecord(rootfs);
  }

  step();
  emit({ type: 'building', id, phase: 'pipeline', reason });
  const parentsOldestFirst = [...chain].reverse();
  const accounts: AccountDef[] = parentsOldestFirst.flatMap((a) => asm.images.get(a.record.id)!.accounts);
  const copySources = new Map<string, (readonly Entry[])[]>();
  for (const c of def.copies) {
    const src = ctx.built.get(builtId(asm, c.from, platform)) ?? (await loadBuilt(ctx, c.from, platform));
    const srcChain = await ancestors(ctx, c.from, platform);
    copySources.set(c.from, [...[...srcChain].reverse().map((a) => a.entries), src.entries]);
  }
  const inherited = chain.map((a) => ({ id: a.record.id, packages: a.record.packages }));
  const parentDiffIds = chain[0]?.record.diffIds ?? [];
  const cachedRootfs = rootfs;
  // Pipeline, SBOM and layer; once more when a blob turns out damaged: the store
  // dropped it, and reading the rootfs again writes it anew.
  const layer = async (fresh = false) => {
    const pipelineStart = Date.now();
    const input = await b.rootfsInput(state, cachedRootfs, id, { fresh });
    const result = await b.runPipeline({
      def, libc: builder.libc, ...(platform ? { platform } : {}), rootfsTar: state.rootfsPath(p1key), rootfsEntries: input.entries, origins: cachedRootfs.origins, packages: cachedRootfs.packages,
      parents: parentsOldestFirst.map((a) => a.entries), inheritedAccounts: accounts, copySources, blobs: state.blobs,
      createdAccounts: cachedRootfs.createdAccounts, inheritedCreated: parentsOldestFirst.flatMap((a) => createdUsers(a.record.createdAccounts)),
      readFile: (sha) => readFile(join(asm.dir, m.dir, 'files', sha)),
    });
    for (const f of result.stripped) log(`${f.what.join(', ')} removed: /${f.path} (${f.from.toString(8)} -> ${f.to.toString(8)})`);
    for (const d of result.droppedModules) log(`module left out: /${d.path} ${d.why}`);
    for (const n of result.notes) log(n);
    for (const w of result.warnings) emit({ type: 'warning', id, line: w });
    timed('pipeline', Date.now() - pipelineStart);
    step();
    const sbomStart = Date.now();
    // The package database scanners read: generated, so added after the purge.
    const db = await b.packageDbEntries({ kind: builder.kind, packages: cachedRootfs.packages, control: cachedRootfs.control, entries: result.entries, blobs: state.blobs, epoch: ctx.epoch });
    const entries = db.length ? b.normalizeEntries([...result.entries, ...db]) : result.entries;
    emit({ type: 'building', id, phase: 'phase2', reason });
    const sbom = await b.renderSpdx({ def, key, packages: cachedRootfs.packages, inherited, layers: [...parentsOldestFirst.map((a) => a.entries), entries], blobs: state.blobs, epoch: ctx.epoch });
    timed('sbom', Date.now() - sbomStart);
    step();
    const p2 = await time('layer', () => b.runPhase2({
      state, def, key, arch, entries, parentDiffIds, accounts: accountsOf(chain, result.createdAccounts), epoch: ctx.epoch, extraLabels: { [LABEL_SBOM]: sbom.digest },
    }));
    return { result, entries, sbom, p2 };
  };
  const { result, entries, sbom, p2 } = await layer().catch((err: unknown) => {
    if (!(err instanceof DamagedBlobError)) throw err;
    log(`${err.message}: building the layer again`);
    return layer(true).catch((again: unknown) => {
      if (again instanceof DamagedBlobError) {
        throw new BuildError(id, `${again.message} and is not in this image's rootfs; it belongs to a parent layer: deploy -f rebuilds the layers that hold it`, { cause: again, phase: 'phase2' });
      }
      throw again;
    });
  });
  step();
  const provenance = b.renderProvenance({
    def, key, keyInputs: view.inputs, sources: asm.manifest.sources, synthVersion: asm.manifest.sdkVersion, imageId: p2.config.digest, sbom: sbom.digest, epoch: ctx.epoch,
    builder: !needsBuilder(def) ? null : { id: builder.id, key: target.builderKey, ref: rootfs.builderImage?.ref, imageId: rootfs.builderImage?.id ?? undefined },
    images: [
      ...chain.map((a) => ({ id: a.record.id, imageId: a.record.imageId, role: 'parent' as const })),
      ...def.copies.map((c) => ({ id: c.from, imageId: ctx.built.get(builtId(asm, c.from, platform))!.record.imageId, role: 'copy' as const })),
    ],
    packages: rootfs.packages,
  });
  const shipping = { ...shipInput(p2.config, p2.diffIds, chain, provenance.json, sbom.json, result.createdAccounts), freshLayers: p2.layers.map((l) => l.diffId) };
  if (ship.load) await time('load', () => shipper.loadChecked(shipping));
  else if (hasChecks(def)) log(`tests and health check not run: the image is not loaded (${ctx.ship.load ? `${platform} is not the platform the engine gets` : 'load: false'})`);
  // The engine's own figure (content bytes), as `docker images` shows it.
  const loaded = ship.load ? await (await ctx.engine()).inspectImage(p2.config.digest) : null;
  const size = loaded?.size ?? (chain[0]?.record.size ?? 0) + p2.layers.reduce((n, l) => n + l.size, 0);
  const recording = Date.now();
  const record: BuildRecord = {
    id, key, imageId: p2.config.digest, configJson: p2.config.json, diffIds: p2.diffIds, layer: p2.layers[p2.layers.length - 1], layers: p2.layers, size,
    packages: rootfs.packages, inherited, purged: result.purged, tags,
    ...(result.createdAccounts.length ? { createdAccounts: result.createdAccounts } : {}),
  };
  await writeAtomic(reports.report, b.renderPackagesMd({ def, key, builder: builder.id + (platform ? ` (${platform})` : ''), size, packages: rootfs.packages, inherited: record.inherited, purged: result.purged, slimmed: result.slimmed, stripped: result.stripped, droppedModules: result.droppedModules, notes: result.notes }));
  await writeAtomic(reports.sbom, sbom.json);
  await writeAtomic(reports.provenance, provenance.json);
  await state.writeBuild(record, entries);
  await writeDeployed(state, id, m, def);
  ctx.built.set(bid, { record, entries });
  timed('record', Date.now() - recording);
  step();
  const shipped = await time('ship', async () => {
    const s = await shipper.shipImage(shipping, ship);
    if (ship.load) await pruneKeyTags(await ctx.engine(), asm.manifest, id, p2.config.digest, log);
    return s;
  });
  await logged;
  emit({ type: 'done', id, digest: p2.config.digest, size, reason });
  return withPlatform({ id, status: 'built', digest: p2.config.digest, size, tags, cached: false, reason, ...reports, debug: shipped.debug ?? undefined, pushed: shipped.pushed, timings }, platform, shipped);
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
    throw new UsageError(`--push ${registry}: ${long.map((id) => `${registry}/${shorten(id)}`).join(', ')} would be longer than the ${MAX_REPOSITORY_LENGTH} characters a registry takes as a repository name`);
  }
}

/** The users among the accounts an ancestor's install created, as account definitions. */
function createdUsers(created: readonly CreatedAccount[] = []): AccountDef[] {
  return created.flatMap((c) => (c.user && c.uid !== undefined ? [{ user: c.user, uid: c.uid, group: c.group ?? c.user, gid: c.gid, home: c.home ?? '/nonexistent', shell: c.shell ?? '/usr/sbin/nologin' }] : []));
}

/** Built ancestors of an image (on a platform), nearest first. */
async function ancestors(ctx: Ctx, id: string, platform: string | null = null): Promise<Built[]> {
  const out: Built[] = [];
  for (let p = ctx.asm.images.get(id)!.parent; p; p = ctx.asm.images.get(p)!.parent) out.push(ctx.built.get(builtId(ctx.asm, p, platform)) ?? (await loadBuilt(ctx, p, platform)));
  return out;
}

/** A dependency outside this deploy's selection (`--exclusively`): it must be built already. */
async function loadBuilt(ctx: Ctx, id: string, platform: string | null = null): Promise<Built> {
  const key = keyOn(ctx.asm, id, platform);
  const record = await ctx.state.readBuild(id, key);
  const entries = record ? await ctx.state.readEntries(id, key) : null;
  if (!record || !entries) throw new BuildError(id, `is needed but not built at key ${key.slice(0, 12)}; deploy it first or drop --exclusively`);
  const b = { record, entries };
  ctx.built.set(builtId(ctx.asm, id, platform), b);
  return b;
}

/**
 * The builder image of a build (one per builder and platform), made once per
 * deploy. Builders of one key under several ids are made once: the others wait
 * for it, then find it and tag it as theirs.
 */
function ensureBuilder(ctx: Ctx, target: PlatformTarget, log: (l: string) => void): Promise<BuilderImage> {
  const def = target.builder;
  const at = target.platform ? `@${target.platform}` : '';
  const slot = def.id + at;
  let p = ctx.builders.get(slot);
  if (!p) {
    const same = `key:${target.builderKey}${at}`;
    const first = ctx.builders.get(same);
    const ensure = () => Promise.all([ctx.engine(), building()]).then(([e, b]) => b.ensureBuilderImage(e, def, target.builderKey, { log, signal: ctx.opts.signal, stateRoot: ctx.state.root, ...(target.platform ? { platform: target.platform } : {}) }));
    p = first ? first.then(ensure, ensure) : ensure();
    if (!first) ctx.builders.set(same, p);
    ctx.builders.set(slot, p);
  }
  return p;
}

/** Where a Gentoo image's `.debug()` takes busybox-static from: the fallback Debian builder (of the image's platform). */
function debugBuilder(ctx: Ctx, log: (l: string) => void, platform: string | null = null): ShipInput['builder'] {
  const variant = platform ? forPlatform(DEBUG_BUILDER, platform) : DEBUG_BUILDER;
  const def = typeof variant === 'string' ? DEBUG_BUILDER : variant;
  const key = builderKey(def);
  const slot = platform ? `${def.id}@${platform}` : def.id;
  const ref = async () => {
    let p = ctx.builders.get(slot);
    if (!p) {
      p = Promise.all([ctx.engine(), building()]).then(async ([e, b]) => ({ ref: await b.ensureDebianBuilder(e, def, { log, signal: ctx.opts.signal, force: false, ...(platform ? { platform } : {}) }), mounts: [] }));
      ctx.builders.set(slot, p);
    }
    return (await p).ref;
  };
  return { key, ref };
}


/** `id:latest`, `id:<key12>` and the image's own tags. */
export function repoTags(asm: LoadedAssembly, id: string): string[] {
  const m = asm.manifest.images[id];
  return [...new Set([`${id}:latest`, `${id}:${m.key.slice(0, 12)}`, ...m.tags.map((t) => `${id}:${t}`)])];
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
    while (stack.length) for (const d of asm.manifest.images[stack.pop()!].dependsOn) if (!chosen.has(d)) chosen.add(d), stack.push(d);
  }
  return all.filter((id) => chosen.has(id));
}

/** The epoch the assembly's keys were made with; asking for another one is a usage error. */
function assemblyEpoch(asm: LoadedAssembly, opts: DeployOptions): number {
  const epoch = asm.manifest.epoch ?? 0;
  const env = process.env.SOURCE_DATE_EPOCH;
  const wanted = opts.epoch !== undefined ? parseEpoch(opts.epoch, 'epoch') : env ? parseEpoch(env) : epoch;
  if (wanted !== epoch) {
    throw new UsageError(`${opts.epoch !== undefined ? 'epoch' : 'SOURCE_DATE_EPOCH'} is ${wanted}, but the assembly in ${asm.dir} was synthesized with ${epoch} (an input of every key): synthesize it again`);
  }
  return epoch;
}


