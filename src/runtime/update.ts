/**
 * `imgsdk update`: newer package versions into imgsdk.lock (runtime/lock.ts) and
 * newer stage3 dates of Gentoo builders, each with the images that rebuild.
 */
import type { Manifest } from '../assembly';
import type { AppInput } from '../sdk/app';
import { dependents } from '../sdk/lock';
import { assemble } from '../sdk/synth';
import { builderRef } from './builders/gentoo';
import { latestStage3 } from './builders/stage3';
import { connectEngine } from './engine/light';
import type { Engine } from './engine/engine';
import { lock, type LockOptions, type LockResult } from './lockfile';

/** What `imgsdk update` found for one Gentoo builder. */
export interface Stage3Update {
  readonly builder: string;
  readonly flavour: string;
  /** The pinned date, the date the builder image was set up from, or null when unknown. */
  readonly current: string | null;
  readonly pinned: boolean;
  readonly latest: string | null;
  readonly newer: boolean;
  /** Images whose key changes when the builder changes: its images and their descendants. */
  readonly rebuild: readonly string[];
  /** Why nothing was looked up, or what failed. */
  readonly note?: string;
}

/** What {@link update} did. */
export interface UpdateResult extends LockResult {
  readonly stage3: readonly Stage3Update[];
}

/** Orders stage3 dates (`20180101` and `20240101T170000Z` alike). */
export function newerDate(a: string, b: string): boolean {
  const norm = (d: string) => (d.includes('T') ? d : `${d}T000000Z`);
  return norm(a) > norm(b);
}

/** Images built in `builder`, plus every image below them (parent or copy source). */
export function imagesOf(manifest: Manifest, builder: string): string[] {
  return dependents(manifest, Object.keys(manifest.images).filter((id) => manifest.images[id].builder === builder));
}

/**
 * Checks every Gentoo builder of `manifest` against its mirror's latest stage3.
 * `engine` (optional) tells which date a builder set up from `latest` has.
 */
export async function stage3Updates(manifest: Manifest, engine: Engine | null, signal?: AbortSignal): Promise<Stage3Update[]> {
  const out: Stage3Update[] = [];
  for (const [id, b] of Object.entries(manifest.builders)) {
    const g = b.def.gentoo;
    if (b.kind !== 'gentoo' || !g) continue;
    const rebuild = imagesOf(manifest, id);
    const pinned = g.date !== 'latest';
    const base = { builder: id, flavour: g.stage3, pinned, rebuild };
    if (g.from) {
      out.push({ ...base, current: null, latest: null, newer: false, note: `pulled from ${g.from}: docker pull it to update` });
      continue;
    }
    let current: string | null = pinned ? g.date : null;
    if (!pinned && engine) current = (await engine.inspectImage(builderRef(b.def, b.key)).catch(() => null))?.labels['org.imgsdk.stage3.date'] ?? null;
    try {
      const latest = (await latestStage3(g.mirror, g.stage3, signal)).date;
      out.push({ ...base, current, latest, newer: current !== null && newerDate(latest, current) });
    } catch (err) {
      out.push({ ...base, current, latest: null, newer: false, note: (err as Error).message });
    }
  }
  return out;
}

/**
 * Updates imgsdk.lock to what the archives have now (the selected images, all by
 * default, and those below them) and looks up newer stage3 dates; says what
 * will rebuild. Stage3 dates stay where they are pinned, in images.ts.
 * @example const r = await update(app(web), { lockFile: 'imgsdk.lock' }); r.rebuild
 */
export async function update(input: AppInput, opts: LockOptions = {}): Promise<UpdateResult> {
  const { manifest } = assemble(input);
  const hasGentoo = Object.values(manifest.builders).some((b) => b.kind === 'gentoo');
  const engine = opts.engine ?? (await connectEngine().catch(() => null));
  const locked = await lock(input, { ...opts, engine: engine ?? undefined });
  const stage3 = hasGentoo ? await stage3Updates(manifest, engine, opts.signal) : [];
  return { ...locked, stage3 };
}
