/**
 * Newer stage3 dates of Gentoo builders, each with the images that rebuild when
 * the builder moves to it: what `imgsdk outdated` reports and `imgsdk update` prints.
 */
import type { Manifest } from '../contract/assembly';
import { dependents } from '../sdk/lock';
import { builderRef } from '../runtime/phase1/builders/gentoo';
import { short } from '../runtime/phase1/builders/from-image';
import { latestStage3 } from '../runtime/phase1/builders/stage3';
import type { Engine } from '../runtime/engine/engine';
import { LABEL_BUILDER_FROM, LABEL_STAGE3_DATE } from '../contract/labels';

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
  /** The image a builder made `from:` one is set up from (it has no stage3 date). */
  readonly from?: string;
}

/** Orders stage3 dates (`20180101` and `20240101T170000Z` alike). */
export function newerDate(a: string, b: string): boolean {
  const norm = (d: string) => (d.includes('T') ? d : `${d}T000000Z`);
  return norm(a) > norm(b);
}

/** Images built in `builder`, plus every image below them (parent or copy source). */
export function imagesOf(manifest: Manifest, builder: string): string[] {
  return dependents(
    manifest,
    Object.keys(manifest.images).filter((id) => manifest.images[id].builder === builder),
  );
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
      out.push({
        ...base,
        current: null,
        latest: null,
        newer: false,
        from: g.from,
        note: await followNote(engine, b.def.id, g.from, builderRef(b.def, b.key)),
      });
      continue;
    }
    let current: string | null = pinned ? g.date : null;
    if (!pinned && engine)
      current = (await engine.inspectImage(builderRef(b.def, b.key)).catch(() => null))?.labels[LABEL_STAGE3_DATE] ?? null;
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
 * What a builder made `from:` an image is set up from, and what updates it: the
 * builder follows the image behind the tag (from-image.ts), so a newer image
 * under that tag is the update.
 */
async function followNote(engine: Engine | null, id: string, from: string, ref: string): Promise<string> {
  const how = `the builder follows ${from}: build or pull a newer image under that tag, and the next deploy sets the builder up again from it`;
  if (!engine) return how;
  const built = (await engine.inspectImage(ref).catch(() => null))?.labels[LABEL_BUILDER_FROM];
  const now = (await engine.inspectImage(from).catch(() => null))?.id;
  if (!built) return `not set up yet; ${how}`;
  if (now && now !== built)
    return `set up from image ${short(built)}, ${from} is now ${short(now)}: the next deploy sets ${id} up again from it`;
  return `set up from image ${short(built)}; ${how}`;
}
