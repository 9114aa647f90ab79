/**
 * `imgsdk diff`: for each image of the app, whether a deploy would rebuild it and
 * which inputs of its key changed. Pure file reads, no engine: it works for
 * images this machine cannot build (Gentoo).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Manifest, ManifestImage } from '../assembly';
import { writeAtomic } from './files';
import { StateDir } from './state';

/** What a deploy recorded of an image it built or found cached: its key and the inputs of that key. */
export interface DeployedRecord {
  readonly id: string;
  readonly key: string;
  readonly parent: string | null;
  readonly builder: string;
  readonly inputs: Readonly<Record<string, string>> | null;
  /** Per platform, for an image that names platforms. */
  readonly platforms?: Readonly<Record<string, { readonly key: string; readonly inputs: Readonly<Record<string, string>> }>>;
}

/** One image of a diff. */
export interface DiffEntry {
  readonly id: string;
  /** Whether the key differs from the baseline (or there is no baseline). */
  readonly rebuild: boolean;
  readonly key: string;
  /** Key of the baseline, null when the image was never deployed nor synthesized. */
  readonly previousKey: string | null;
  /** What the app was compared with. */
  readonly baseline: 'deployed' | 'assembly' | 'none';
  /** One line per changed input, e.g. `flags`, `parent kubler/glibc changed`; `linux/arm64: …` per platform. */
  readonly reasons: readonly string[];
  /** Per platform, for an image that names platforms: its key and whether it would rebuild. */
  readonly platforms?: readonly { readonly platform: string; readonly rebuild: boolean; readonly key: string; readonly previousKey: string | null }[];
}

/** `diff` options. */
export interface DiffOptions {
  /** @default process.env.IMGSDK_STATE_DIR ?? '.imgsdk' */
  readonly stateDir?: string;
  /** Assembly on disk compared with when an image has no deployed record. @default 'imgsdk.out' */
  readonly assemblyDir?: string;
}

/** File name of the deployed record in an image's state directory. */
const DEPLOYED = 'deployed.json';

/** Records that `m` (built or cached) is what a deploy of `id` left in the engine. */
export async function writeDeployed(state: StateDir, id: string, m: ManifestImage): Promise<void> {
  const platforms = m.platforms ? Object.fromEntries(Object.entries(m.platforms).map(([p, v]) => [p, { key: v.key, inputs: v.inputs }])) : undefined;
  const rec: DeployedRecord = { id, key: m.key, parent: m.parent, builder: m.builder, inputs: m.inputs ?? null, ...(platforms ? { platforms } : {}) };
  await writeAtomic(join(state.imageDir(id), DEPLOYED), JSON.stringify(rec, null, 2) + '\n');
}

/** The deployed record of `id`, or null. */
export async function readDeployed(state: StateDir, id: string): Promise<DeployedRecord | null> {
  const rec = await readJson<DeployedRecord>(join(state.imageDir(id), DEPLOYED));
  return rec && rec.id === id && typeof rec.key === 'string' ? rec : null;
}

/**
 * Compares the manifest of the app as it is now with, per image, (a) the last
 * deploy recorded in the state directory, else (b) the assembly on disk, and
 * names the inputs of the key that changed. Images come in build order.
 * @example const entries = await diff(assemble(loadApp()).manifest); entries.filter((e) => e.rebuild)
 */
export async function diff(now: Manifest, opts: DiffOptions = {}): Promise<DiffEntry[]> {
  const state = new StateDir(opts.stateDir);
  const onDisk = await readJson<Manifest>(join(resolve(opts.assemblyDir ?? process.env.IMGSDK_OUTDIR ?? 'imgsdk.out'), 'manifest.json'));
  const out: DiffEntry[] = [];
  for (const id of now.order.flat()) {
    const m = now.images[id];
    const deployed = await readDeployed(state, id);
    const synthesized = onDisk?.images?.[id];
    const base: DeployedRecord | null = deployed ?? (synthesized ? { id, key: synthesized.key, parent: synthesized.parent, builder: synthesized.builder, inputs: synthesized.inputs ?? null, ...(synthesized.platforms ? { platforms: synthesized.platforms } : {}) } : null);
    const baseline = deployed ? 'deployed' : synthesized ? 'assembly' : 'none';
    if (!base) {
      out.push({ id, rebuild: true, key: m.key, previousKey: null, baseline, reasons: ['new: never deployed nor synthesized'] });
      continue;
    }
    if (m.platforms || base.platforms) {
      out.push(diffPlatforms(id, m, base, baseline));
      continue;
    }
    const reasons = base.key === m.key ? [] : explain(m, base);
    out.push({ id, rebuild: reasons.length > 0, key: m.key, previousKey: base.key, baseline, reasons });
  }
  return out;
}

/** Input names of keyInputs, as `diff` says them. */
/**
 * A multi-platform image against its baseline, platform by platform: a platform is
 * compared with the baseline's build of it (a baseline without platforms was a
 * build of the first platform's key, `linux/amd64`'s unless narrowed); one the
 * baseline lacks is new.
 */
function diffPlatforms(id: string, m: ManifestImage, base: DeployedRecord, baseline: DiffEntry['baseline']): DiffEntry {
  const now = m.platforms ?? {};
  const was = base.platforms ?? (m.platforms ? { [Object.keys(m.platforms)[0]]: { key: base.key, inputs: base.inputs ?? {} } } : {});
  const reasons: string[] = [];
  const platforms: NonNullable<DiffEntry['platforms']>[number][] = [];
  for (const p of Object.keys(now)) {
    const b = was[p];
    const r = !b ? ['new platform'] : b.key === now[p].key ? [] : explain({ ...m, key: now[p].key, inputs: now[p].inputs }, { ...base, key: b.key, inputs: b.inputs });
    reasons.push(...r.map((x) => `${p}: ${x}`));
    platforms.push({ platform: p, rebuild: r.length > 0, key: now[p].key, previousKey: b?.key ?? null });
  }
  const gone = Object.keys(was).filter((p) => !now[p]);
  if (gone.length) reasons.push(`no longer built for ${gone.join(', ')}`);
  if (!m.platforms && base.key !== m.key) reasons.push(...explain(m, { ...base, inputs: base.inputs }));
  return { id, rebuild: reasons.length > 0, key: m.key, previousKey: base.key, baseline, reasons, ...(m.platforms ? { platforms } : {}) };
}

const LABELS: Readonly<Record<string, string>> = {
  platform: 'platform',
  packages: 'packages',
  portage: 'flags (USE, keywords, masks, make.conf, overlays)',
  files: 'files',
  hooks: 'hooks',
  config: 'config (entrypoint, env, user, labels, …)',
  rootfs: 'rootfs options (keep, purge, closure, accounts, needs)',
  checks: 'tests or debug',
  script: 'build-script version',
  epoch: 'SOURCE_DATE_EPOCH',
  lock: 'locked package versions (imgsdk.lock)',
};

function explain(m: ManifestImage, base: DeployedRecord): string[] {
  const now = m.inputs;
  const was = base.inputs;
  if (!now || !was) return ['key changed (inputs not recorded by the older version that wrote the baseline)'];
  const reasons: string[] = [];
  for (const k of [...new Set([...Object.keys(now), ...Object.keys(was)])].sort(order)) {
    if (now[k] === was[k]) continue;
    if (k === 'parent') {
      reasons.push(m.parent !== base.parent ? `parent changed from ${base.parent ?? 'scratch'} to ${m.parent ?? 'scratch'}` : `parent ${m.parent} changed`);
    } else if (k === 'builder') {
      reasons.push(m.builder !== base.builder ? `builder changed from ${base.builder} to ${m.builder}` : `builder ${m.builder} changed (builder key)`);
    } else if (k === 'copies') {
      reasons.push(`copied image changed (${m.dependsOn.filter((d) => d !== m.parent).join(', ') || 'copies removed'})`);
    } else reasons.push(LABELS[k] ?? k);
  }
  return reasons.length ? reasons : ['key changed'];
}

// Own inputs first, then what comes from above.
const ORDER = ['packages', 'lock', 'portage', 'files', 'hooks', 'config', 'rootfs', 'checks', 'script', 'builder', 'parent', 'copies'];
function order(a: string, b: string): number {
  const i = (k: string) => (ORDER.includes(k) ? ORDER.indexOf(k) : ORDER.length);
  return i(a) - i(b) || (a < b ? -1 : a > b ? 1 : 0);
}

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return null;
  }
}
