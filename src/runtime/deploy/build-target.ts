/**
 * The build of one image on one target, top to bottom: phase 1 (builder
 * container, cached under the phase-1 key), the rootfs pipeline, the package
 * database, the SBOM, phase 2 (layers and config), the load, the reports and the
 * record, then shipping. deploy.ts loads this module (one import()) only when an
 * image is not cached: a deploy of cached images loads none of the build code.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AccountDef } from '../../contract/assembly';
import { BuildError } from '../../contract/errors';
import { LABEL_SBOM } from '../../contract/labels';
import { shortKey } from '../../contract/names';
import { platformInfo } from '../../contract/platform';
import { writeAtomic } from '../../util/files';
import { hasChecks } from '../image/imagetest';
import { runPhase2, type Phase2Result } from '../image/phase2';
import { loadChecked } from '../image/load';
import { recordedLabels, shipImage } from '../image/ship';
import { parentPackageLine } from '../phase1/builders/gentoo';
import { runPhase1 } from '../phase1/run';
import { renderPackagesMd } from '../reports/packages';
import { renderProvenance } from '../reports/provenance';
import { renderSpdx } from '../reports/sbom';
import { rootfsInput } from '../rootfs/input';
import { runPipeline, type PipelineResult } from '../rootfs/pipeline';
import { packageDbEntries } from '../rootfs/pkgdb';
import { normalizeEntries } from '../rootfs/tar';
import { DamagedBlobError } from '../store/blobs';
import type { Entry } from '../store/entry';
import type { BuildRecord, RootfsRecord } from '../store/state';
import {
  accountsOf,
  ancestors,
  createdUsers,
  ensureBuilder,
  loadBuilt,
  shipSite,
  type Built,
  type BuildJob,
  type Ctx,
  type TargetOutcome,
} from './context';
import { writeDeployed } from './diff';
import { needsBuilder, planImage } from './plan';
import { pruneKeyTags } from './tags';
import { builtId, requireEmulation, targetShip } from './targets';

/** One image's build, as far as the steps below share it. */
interface Build extends BuildJob {
  readonly ctx: Ctx;
  readonly rootfs: RootfsRecord;
  /** Built ancestors, nearest first. */
  readonly chain: readonly Built[];
  readonly arch: string;
  readonly reason: string;
}

/** The layers of a build and what made them. */
interface Layered {
  readonly result: PipelineResult;
  readonly entries: readonly Entry[];
  readonly sbom: { readonly json: string; readonly digest: string };
  readonly p2: Phase2Result;
}

/**
 * Builds image `job.id` on `job.target`, which the plan did not find cached, and
 * ships it. The result says how, with what it exported.
 * @example const { result } = await buildTarget(ctx, { id: 'acme/web', target, facts, trace, reports });
 */
export async function buildTarget(ctx: Ctx, job: BuildJob): Promise<TargetOutcome> {
  const { id, target, trace } = job;
  const platform = target.platform;
  // Whether phase 1 reruns depends on the rootfs at the phase-1 key (read, and hashed, only now).
  const def = ctx.asm.images.get(id)!;
  let cachedRootfs: RootfsRecord | null = job.facts.force === 'phase1' ? null : await ctx.state.readRootfs(target.phase1Key);
  if (!cachedRootfs && !needsBuilder(def)) cachedRootfs = await ctx.state.writeEmptyRootfs(target.phase1Key);
  const reason = planImage({ ...job.facts, rootfs: !!cachedRootfs }).reason;
  // build.log holds the latest build only.
  trace.restart(
    `# ${id}${platform ? ` (${platform})` : ''} at key ${shortKey(target.key)} (phase 1 ${shortKey(target.phase1Key)}${cachedRootfs ? ', cached' : ''}): ${reason}\n`,
  );
  const chain = await ancestors(ctx, id, platform);
  const rootfs = cachedRootfs ?? (await phase1(ctx, job, chain, reason));
  trace.step();
  ctx.emit({ type: 'building', id, phase: 'pipeline', reason });
  const arch = platform ? platformInfo(platform).arch : target.builder.arch;
  const b: Build = { ...job, ctx, rootfs, chain, arch, reason };
  const layered = await layersRetried(b);
  trace.step();
  const provenance = provenanceOf(b, layered);
  const site = shipSite(ctx, id, target, arch, trace.log);
  const shipping = {
    ...site,
    config: layered.p2.config,
    diffIds: layered.p2.diffIds,
    accounts: accountsOf(ctx.asm, id, chain, layered.result.createdAccounts),
    provenance,
    sbom: layered.sbom.json,
    extraLabels: recordedLabels(layered.p2.config.json, [LABEL_SBOM]),
    freshLayers: layered.p2.layers.map((l) => l.diffId),
  };
  const ship = targetShip(ctx.ship, target);
  if (ship.load) await trace.time('load', () => loadChecked(shipping));
  else if (hasChecks(def))
    trace.log(
      `tests and health check not run: the image is not loaded (${ctx.ship.load ? `${platform} is not the platform the engine gets` : 'load: false'})`,
    );
  const size = await record(b, layered, provenance, ship.load);
  trace.step();
  const shipped = await trace.time('ship', async () => {
    const s = await shipImage(shipping, ship);
    if (ship.load) await pruneKeyTags(await ctx.engine(), ctx.asm.manifest, id, layered.p2.config.digest, trace.log);
    return s;
  });
  await trace.flushed();
  const digest = layered.p2.config.digest;
  ctx.emit({ type: 'done', id, digest, size, reason });
  const result = {
    id,
    status: 'built' as const,
    digest,
    size,
    tags: target.tags,
    cached: false,
    reason,
    ...job.reports,
    debug: shipped.debug ?? undefined,
    pushed: shipped.pushed,
    timings: trace.timings,
  };
  return { result: platform ? { ...result, platform } : result, exports: shipped.exports };
}

/** Phase 1 in the image's builder container; its rootfs is recorded under the phase-1 key. */
async function phase1(ctx: Ctx, job: BuildJob, chain: readonly Built[], reason: string): Promise<RootfsRecord> {
  const { id, target, trace } = job;
  const { asm, state, emit } = ctx;
  emit({ type: 'building', id, phase: 'builder', reason });
  requireEmulation(id, target.platform);
  const { ref, mounts } = await trace.time('builder', () => ensureBuilder(ctx, target, trace.log));
  emit({ type: 'building', id, phase: 'phase1', reason });
  const parentPackages = [...new Set(chain.flatMap((a) => a.record.packages.map(parentPackageLine)))].sort();
  let partial = '';
  const rootfs = await runPhase1({
    engine: await ctx.engine(),
    state,
    def: asm.images.get(id)!,
    key: target.phase1Key,
    builder: target.builder,
    builderRef: ref,
    imageDir: join(asm.dir, asm.manifest.images[id].dir),
    parentPackages,
    mounts,
    signal: ctx.opts.signal,
    onStep: trace.timed,
    onOutput: (chunk) => {
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop()!;
      for (const l of lines) trace.log(l);
    },
  });
  if (partial) trace.log(partial);
  // Which builder image made this rootfs, by digest, for the provenance.
  const made = { ...rootfs, builderImage: { ref, id: (await (await ctx.engine()).inspectImage(ref))?.id ?? null } };
  await state.writeRootfsRecord(made);
  return made;
}

/**
 * Pipeline, SBOM and layers; once more when a blob turns out damaged: the store
 * dropped it, and reading the rootfs again writes it anew.
 */
async function layersRetried(b: Build): Promise<Layered> {
  return layers(b).catch((err: unknown) => {
    if (!(err instanceof DamagedBlobError)) throw err;
    b.trace.log(`${err.message}: building the layer again`);
    return layers(b, true).catch((again: unknown) => {
      if (again instanceof DamagedBlobError) {
        throw new BuildError(
          b.id,
          `${again.message} and is not in this image's rootfs; it belongs to a parent layer: deploy -f rebuilds the layers that hold it`,
          { cause: again, phase: 'phase2' },
        );
      }
      throw again;
    });
  });
}

/** The rootfs pipeline, the package database, the SBOM and phase 2 (layers and config). */
async function layers(b: Build, fresh = false): Promise<Layered> {
  const { ctx, id, target, rootfs, trace } = b;
  const { asm, state } = ctx;
  const def = asm.images.get(id)!;
  const parentsOldestFirst = [...b.chain].reverse();
  const pipelineStart = Date.now();
  const input = await rootfsInput(state, rootfs, id, { fresh });
  const result = await runPipeline({
    def,
    libc: target.builder.libc,
    ...(target.platform ? { platform: target.platform } : {}),
    rootfsTar: state.rootfsPath(target.phase1Key),
    rootfsEntries: input.entries,
    origins: rootfs.origins,
    packages: rootfs.packages,
    parents: parentsOldestFirst.map((a) => a.entries),
    inheritedAccounts: inheritedAccounts(b),
    copySources: await copySources(b),
    blobs: state.blobs,
    createdAccounts: rootfs.createdAccounts,
    inheritedCreated: parentsOldestFirst.flatMap((a) => createdUsers(a.record.createdAccounts)),
    readFile: (sha) => readFile(join(asm.dir, asm.manifest.images[id].dir, 'files', sha)),
  });
  for (const f of result.stripped) trace.log(`${f.what.join(', ')} removed: /${f.path} (${f.from.toString(8)} -> ${f.to.toString(8)})`);
  for (const d of result.droppedModules) trace.log(`module left out: /${d.path} ${d.why}`);
  for (const n of result.notes) trace.log(n);
  for (const w of result.warnings) ctx.emit({ type: 'warning', id, line: w });
  trace.timed('pipeline', Date.now() - pipelineStart);
  trace.step();
  const sbomStart = Date.now();
  // The package database scanners read: generated, so added after the purge.
  const db = await packageDbEntries({
    kind: target.builder.kind,
    packages: rootfs.packages,
    control: rootfs.control,
    entries: result.entries,
    blobs: state.blobs,
    epoch: ctx.epoch,
  });
  const entries = db.length ? normalizeEntries([...result.entries, ...db]) : result.entries;
  ctx.emit({ type: 'building', id, phase: 'phase2', reason: b.reason });
  const sbom = await renderSpdx({
    def,
    key: target.key,
    packages: rootfs.packages,
    inherited: inheritedPackages(b),
    layers: [...parentsOldestFirst.map((a) => a.entries), entries],
    blobs: state.blobs,
    epoch: ctx.epoch,
  });
  trace.timed('sbom', Date.now() - sbomStart);
  trace.step();
  const p2 = await trace.time('layer', () =>
    runPhase2({
      state,
      def,
      key: target.key,
      arch: b.arch,
      entries,
      parentDiffIds: b.chain[0]?.record.diffIds ?? [],
      accounts: accountsOf(asm, id, b.chain, result.createdAccounts),
      epoch: ctx.epoch,
      extraLabels: { [LABEL_SBOM]: sbom.digest },
    }),
  );
  return { result, entries, sbom, p2 };
}

/** The accounts the image's ancestors declare, oldest first. */
function inheritedAccounts(b: Build): AccountDef[] {
  return [...b.chain].reverse().flatMap((a) => b.ctx.asm.images.get(a.record.id)!.accounts);
}

/** The packages each ancestor installed, nearest first. */
function inheritedPackages(b: Build): BuildRecord['inherited'] {
  return b.chain.map((a) => ({ id: a.record.id, packages: a.record.packages }));
}

/** The layers (oldest first) of each image the build `.copy()`s from. */
async function copySources(b: Build): Promise<Map<string, (readonly Entry[])[]>> {
  const { ctx, target } = b;
  const out = new Map<string, (readonly Entry[])[]>();
  for (const c of ctx.asm.images.get(b.id)!.copies) {
    const src = ctx.built.get(builtId(ctx.asm, c.from, target.platform)) ?? (await loadBuilt(ctx, c.from, target.platform));
    const srcChain = await ancestors(ctx, c.from, target.platform);
    out.set(c.from, [...[...srcChain].reverse().map((a) => a.entries), src.entries]);
  }
  return out;
}

/** The in-toto provenance statement of the build. */
function provenanceOf(b: Build, layered: Layered): string {
  const { ctx, id, target, rootfs } = b;
  const { asm } = ctx;
  const def = asm.images.get(id)!;
  return renderProvenance({
    def,
    key: target.key,
    keyInputs: b.facts.image.inputs,
    sources: asm.manifest.sources,
    synthVersion: asm.manifest.sdkVersion,
    imageId: layered.p2.config.digest,
    sbom: layered.sbom.digest,
    epoch: ctx.epoch,
    builder: !needsBuilder(def)
      ? null
      : { id: target.builder.id, key: target.builderKey, ref: rootfs.builderImage?.ref, imageId: rootfs.builderImage?.id ?? undefined },
    images: [
      ...b.chain.map((a) => ({ id: a.record.id, imageId: a.record.imageId, role: 'parent' as const })),
      ...def.copies.map((c) => ({
        id: c.from,
        imageId: ctx.built.get(builtId(asm, c.from, target.platform))!.record.imageId,
        role: 'copy' as const,
      })),
    ],
    packages: rootfs.packages,
  }).json;
}

/** The reports and the build record in the state directory; the image's size (the engine's figure when loaded). */
async function record(b: Build, layered: Layered, provenance: string, loaded: boolean): Promise<number> {
  const { ctx, id, target, rootfs, trace } = b;
  const { asm, state } = ctx;
  const { result, p2 } = layered;
  const def = asm.images.get(id)!;
  // The engine's own figure (content bytes), as `docker images` shows it.
  const inEngine = loaded ? await (await ctx.engine()).inspectImage(p2.config.digest) : null;
  const size = inEngine?.size ?? (b.chain[0]?.record.size ?? 0) + p2.layers.reduce((n, l) => n + l.size, 0);
  const recording = Date.now();
  const rec: BuildRecord = {
    id,
    key: target.key,
    imageId: p2.config.digest,
    configJson: p2.config.json,
    diffIds: p2.diffIds,
    layer: p2.layers[p2.layers.length - 1],
    layers: p2.layers,
    size,
    packages: rootfs.packages,
    inherited: inheritedPackages(b),
    purged: result.purged,
    tags: target.tags,
    ...(result.createdAccounts.length ? { createdAccounts: result.createdAccounts } : {}),
  };
  await writeAtomic(
    b.reports.report,
    renderPackagesMd({
      def,
      key: target.key,
      builder: target.builder.id + (target.platform ? ` (${target.platform})` : ''),
      size,
      packages: rootfs.packages,
      inherited: rec.inherited,
      purged: result.purged,
      slimmed: result.slimmed,
      stripped: result.stripped,
      droppedModules: result.droppedModules,
      notes: result.notes,
    }),
  );
  await writeAtomic(b.reports.sbom, layered.sbom.json);
  await writeAtomic(b.reports.provenance, provenance);
  await state.writeBuild(rec, layered.entries);
  await writeDeployed(state, id, asm.manifest.images[id], def);
  ctx.built.set(builtId(asm, id, target.platform), { record: rec, entries: layered.entries });
  trace.timed('record', Date.now() - recording);
  return size;
}
