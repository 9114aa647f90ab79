/**
 * `imgsdk diff`: for each image of the app, whether a deploy would rebuild it and
 * which inputs of its key changed. Pure file reads, no engine: it works for
 * images this machine cannot build (Gentoo).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BuilderKind, ImageDef, Manifest, ManifestImage } from '../../contract/assembly';
import { outDirOf, stateDirOfAssembly } from '../../contract/defaults';
import { writeAtomic } from '../../util/files';
import { changedInputs, fileDigests, needsBuilder, planImage, platformView, type DeployedRecord } from './plan';
import { StateDir } from '../store/state';

export type { DeployedRecord } from './plan';

/** One image of a diff. */
export interface DiffEntry {
  readonly id: string;
  /** Whether a deploy would build it: the key differs from the last deploy's, or it was never deployed. */
  readonly rebuild: boolean;
  readonly key: string;
  /** Key of the baseline, null when the image was never deployed nor synthesized. */
  readonly previousKey: string | null;
  /** What the app was compared with. */
  readonly baseline: 'deployed' | 'assembly' | 'none';
  /** One line per changed input, e.g. `flags`, `parent kubler/glibc changed`; `linux/arm64: …` per platform. */
  readonly reasons: readonly string[];
  /**
   * What a rebuild reruns: `phase2` (pipeline and layer from the cached phase-1
   * rootfs, no container) when the phase-1 key is the baseline's, else `phase1`.
   */
  readonly phase?: 'phase1' | 'phase2';
  /** Per platform, for an image that names platforms: its key and whether it would rebuild. */
  readonly platforms?: readonly {
    readonly platform: string;
    readonly rebuild: boolean;
    readonly key: string;
    readonly previousKey: string | null;
  }[];
}

/** `diff` options. */
export interface DiffOptions {
  /** @default $IMGSDK_STATE_DIR, else .imgsdk beside the assembly directory */
  readonly stateDir?: string;
  /** Assembly on disk compared with when an image has no deployed record. @default $IMGSDK_OUTDIR, else ./imgsdk.out */
  readonly assemblyDir?: string;
  /** The definitions `now` was made from, to name the `.file()`s that changed. @default unnamed */
  readonly images?: ReadonlyMap<string, ImageDef>;
}

/** File name of the deployed record in an image's state directory. */
const DEPLOYED = 'deployed.json';

/** Records that `m` (built or cached) is what a deploy of `id` left in the engine; with `def`, which files it had. */
export async function writeDeployed(state: StateDir, id: string, m: ManifestImage, def?: ImageDef): Promise<void> {
  const platforms = m.platforms
    ? Object.fromEntries(
        Object.entries(m.platforms).map(([p, v]) => [
          p,
          { key: v.key, inputs: v.inputs, ...(v.phase1Key ? { phase1Key: v.phase1Key } : {}) },
        ]),
      )
    : undefined;
  const rec: DeployedRecord = {
    id,
    key: m.key,
    parent: m.parent,
    builder: m.builder,
    inputs: m.inputs ?? null,
    ...(m.phase1Key ? { phase1Key: m.phase1Key } : {}),
    ...(def ? { files: fileDigests(def.files) } : {}),
    ...(platforms ? { platforms } : {}),
  };
  await writeAtomic(join(state.imageDir(id), DEPLOYED), JSON.stringify(rec, null, 2) + '\n');
}

/** The deployed record of `id`, or null. */
export async function readDeployed(state: StateDir, id: string): Promise<DeployedRecord | null> {
  const rec = await readJson<DeployedRecord>(join(state.imageDir(id), DEPLOYED));
  // Only a record of this image with every field of its kind: anything else is no baseline (the image counts as new).
  const isMap = (x: unknown) => !!x && typeof x === 'object' && !Array.isArray(x);
  const ok =
    !!rec &&
    isMap(rec) &&
    rec.id === id &&
    typeof rec.key === 'string' &&
    (rec.inputs === null || isMap(rec.inputs)) &&
    (rec.phase1Key === undefined || typeof rec.phase1Key === 'string') &&
    (rec.files === undefined || isMap(rec.files)) &&
    (rec.platforms === undefined ||
      (isMap(rec.platforms) && Object.values(rec.platforms).every((p) => isMap(p) && typeof p.key === 'string')));
  return ok ? rec : null;
}

/**
 * Compares the manifest of the app as it is now with, per image, the last deploy
 * recorded in the state directory and names the inputs of the key that changed.
 * An image never deployed always rebuilds (`never deployed`), with what changed
 * since the assembly on disk when there is one. Images come in build order.
 * @example const entries = await diff(assemble(loadApp()).manifest); entries.filter((e) => e.rebuild)
 */
export async function diff(now: Manifest, opts: DiffOptions = {}): Promise<DiffEntry[]> {
  const assemblyDir = resolve(opts.assemblyDir ?? outDirOf());
  const state = new StateDir(opts.stateDir ?? stateDirOfAssembly(assemblyDir));
  const onDisk = await readJson<Manifest>(join(assemblyDir, 'manifest.json'));
  const out: DiffEntry[] = [];
  for (const id of now.order.flat()) {
    const m = now.images[id];
    const deployed = await readDeployed(state, id);
    const synthesized = onDisk?.images?.[id];
    const base: DeployedRecord | null =
      deployed ??
      (synthesized
        ? {
            id,
            key: synthesized.key,
            phase1Key: synthesized.phase1Key,
            parent: synthesized.parent,
            builder: synthesized.builder,
            inputs: synthesized.inputs ?? null,
            ...(synthesized.platforms ? { platforms: synthesized.platforms } : {}),
          }
        : null);
    const baseline = deployed ? 'deployed' : synthesized ? 'assembly' : 'none';
    if (!base) {
      out.push({ id, rebuild: true, key: m.key, previousKey: null, baseline, reasons: ['new: never deployed nor synthesized'] });
      continue;
    }
    const def = opts.images?.get(id);
    if (!deployed) {
      // A synth builds nothing: an image never deployed is built by the next deploy,
      // whatever the assembly says. What changed since that synth is said too.
      const since =
        base.key === m.key
          ? []
          : changedInputs(m, base, def?.files, now.builders[m.builder]?.kind).map((r) => `since the last synth: ${r}`);
      out.push({ id, rebuild: true, key: m.key, previousKey: base.key, baseline, reasons: ['never deployed', ...since] });
      continue;
    }
    if (m.platforms || base.platforms) {
      out.push(diffPlatforms(id, m, base, baseline, def, now.builders[m.builder]?.kind));
      continue;
    }
    // The baseline's build stands in for the state: the same key is cached, the same phase-1 key reuses its rootfs.
    const p = planImage({
      id,
      image: m,
      needsBuilder: def ? needsBuilder(def) : true,
      built: base.key === m.key ? base.key : null,
      rootfs: !!m.phase1Key && base.phase1Key === m.phase1Key,
      deployed: base,
    });
    if (p.action === 'cached') out.push({ id, rebuild: false, key: m.key, previousKey: base.key, baseline, reasons: [] });
    else
      out.push({
        id,
        rebuild: true,
        key: m.key,
        previousKey: base.key,
        baseline,
        reasons: changedInputs(m, base, def?.files, now.builders[m.builder]?.kind),
        phase: p.action,
      });
  }
  return out;
}

/**
 * A multi-platform image against its baseline, platform by platform: a platform is
 * compared with the baseline's build of it (a baseline without platforms was a
 * build of the first platform's key, `linux/amd64`'s unless narrowed); one the
 * baseline lacks is new.
 */
function diffPlatforms(
  id: string,
  m: ManifestImage,
  base: DeployedRecord,
  baseline: DiffEntry['baseline'],
  def?: ImageDef,
  kind?: BuilderKind,
): DiffEntry {
  const now = m.platforms ?? {};
  const first = m.platforms ? Object.keys(m.platforms)[0] : null;
  const was = base.platforms ?? (first ? { [first]: { key: base.key, inputs: base.inputs ?? {}, phase1Key: base.phase1Key } } : {});
  const reasons: string[] = [];
  const platforms: NonNullable<DiffEntry['platforms']>[number][] = [];
  let phase: 'phase1' | 'phase2' | undefined;
  for (const p of Object.keys(now)) {
    const b = was[p];
    const r = !b
      ? ['new platform']
      : b.key === now[p].key
        ? []
        : changedInputs(platformView(m, p), { ...base, key: b.key, inputs: b.inputs, phase1Key: b.phase1Key }, def?.files, kind);
    if (r.length) phase = phase === 'phase1' || !b || !now[p].phase1Key || b.phase1Key !== now[p].phase1Key ? 'phase1' : 'phase2';
    reasons.push(...r.map((x) => `${p}: ${x}`));
    platforms.push({ platform: p, rebuild: r.length > 0, key: now[p].key, previousKey: b?.key ?? null });
  }
  const gone = Object.keys(was).filter((p) => !now[p]);
  if (gone.length) reasons.push(`no longer built for ${gone.join(', ')}`);
  if (!m.platforms && base.key !== m.key) {
    reasons.push(...changedInputs(m, base, def?.files, kind));
    phase = 'phase1';
  }
  return {
    id,
    rebuild: reasons.length > 0,
    key: m.key,
    previousKey: base.key,
    baseline,
    reasons,
    ...(phase ? { phase } : {}),
    ...(m.platforms ? { platforms } : {}),
  };
}

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return null;
  }
}
