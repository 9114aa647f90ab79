import type { Manifest } from '../assembly';
import { builderRef } from '../runtime/builders/gentoo';
import { latestStage3 } from '../runtime/builders/stage3';
import { connectEngine } from '../runtime/engine/docker';
import type { Engine } from '../runtime/engine/engine';
import { assemble } from '../sdk/synth';
import { loadApp } from '../sdk/load';
import { parse } from './args';

export const UPDATE_USAGE = `imgsdk update [--app FILE] [--json]
  Looks up the newest stage3 of every Gentoo builder on its mirror and prints the
  newer dates and which images would rebuild (Kubler's update, without editing files).
`;

/** What `imgsdk update` found for one builder. */
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

/** Orders stage3 dates (`20180101` and `20240101T170000Z` alike). */
export function newerDate(a: string, b: string): boolean {
  const norm = (d: string) => (d.includes('T') ? d : `${d}T000000Z`);
  return norm(a) > norm(b);
}

/** Images built in `builder`, plus every image below them (parent or copy source). */
export function imagesOf(manifest: Manifest, builder: string): string[] {
  const hit = new Set(Object.keys(manifest.images).filter((id) => manifest.images[id].builder === builder));
  for (let grew = true; grew; ) {
    grew = false;
    for (const [id, m] of Object.entries(manifest.images)) {
      if (!hit.has(id) && m.dependsOn.some((d) => hit.has(d))) hit.add(id), (grew = true);
    }
  }
  return [...hit].sort();
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

export async function updateCommand(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, { app: { type: 'string' }, json: { type: 'boolean' } });
  const { manifest } = assemble(loadApp(values.app));
  const engine = await connectEngine().catch(() => null);
  const updates = await stage3Updates(manifest, engine);
  if (values.json) {
    process.stdout.write(JSON.stringify(updates, null, 2) + '\n');
    return 0;
  }
  if (!updates.length) process.stdout.write('no Gentoo builders\n');
  for (const u of updates) {
    const head = `${u.builder}  ${u.flavour}  ${u.current ?? (u.pinned ? '?' : 'latest (not set up yet)')}`;
    if (u.note) {
      process.stdout.write(`${head}: ${u.note}\n`);
      continue;
    }
    if (!u.newer) {
      process.stdout.write(`${head}: up to date${u.current === null ? ` (latest is ${u.latest})` : ''}\n`);
      continue;
    }
    process.stdout.write(`${head} -> ${u.latest}\n  would rebuild: ${u.rebuild.join(', ') || '(no images)'}\n`);
    process.stdout.write(
      u.pinned
        ? `  set date: '${u.latest}' in gentoo.builder('${u.builder}', …) and deploy\n`
        : `  date 'latest' does not change keys: pin date: '${u.latest}' to rebuild these images\n`,
    );
  }
  return 0;
}
