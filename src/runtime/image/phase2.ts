import type { AccountDef, ImageDef } from '../../contract/assembly';
import { storeLayer } from './layer';
import { imageConfig, type Blob } from './oci';
import type { Entry } from '../store/entry';
import type { StateDir } from '../store/state';

export interface Phase2Input {
  readonly state: StateDir;
  readonly def: ImageDef;
  readonly key: string;
  readonly arch: string;
  readonly entries: readonly Entry[];
  /** diff ids of every ancestor layer, oldest first. */
  readonly parentDiffIds: readonly string[];
  readonly accounts: readonly AccountDef[];
  /** SOURCE_DATE_EPOCH. */
  readonly epoch: number;
  /** Labels added to the config (the SBOM's digest). @default {} */
  readonly extraLabels?: Readonly<Record<string, string>>;
}

export interface Phase2Result {
  readonly config: Blob;
  /** This image's layers: the rootfs, then one per `.dir()`, then its `.file()`s when it has any. */
  readonly layers: readonly { readonly diffId: string; readonly size: number }[];
  readonly diffIds: readonly string[];
}

/**
 * An image's entries as its layers: everything else (the packages' rootfs), then one
 * layer per `.dir()` source in the order they were added, then the files and links
 * its `.file()`s put (their directories stay below), so a change to a `.file()` or
 * one directory gives a new small layer over the same others, as a Dockerfile's
 * `COPY`s do. A path belongs to the last source that puts it; empty parts are left out.
 * @example layerSplit(entries, def) // [[…rootfs], […/app], [etc/nginx/nginx.conf]]
 */
export function layerSplit(entries: readonly Entry[], def: Pick<ImageDef, 'files' | 'dirs'>): (readonly Entry[])[] {
  const dirs = def.dirs ?? [];
  const owner = new Map<string, number>();
  dirs.forEach((d, i) => {
    for (const e of d.entries) owner.set(e.path.replace(/^\/+/, ''), i + 1);
  });
  for (const f of def.files) if (f.type !== 'dir') owner.set(f.path.replace(/^\/+/, ''), dirs.length + 1);
  if (owner.size === 0) return [entries];
  const parts: Entry[][] = Array.from({ length: dirs.length + 2 }, () => []);
  for (const e of entries) parts[owner.get(e.path) ?? 0].push(e);
  return parts.filter((p, i) => i === 0 || p.length > 0);
}

/**
 * Phase 2: the layer (deterministic: same entries, same bytes) and the OCI
 * config. No engine: loading ({@link loadArchive}), the OCI layout and the
 * docker-archive export all start from what this leaves in the state directory.
 */
export async function runPhase2(input: Phase2Input): Promise<Phase2Result> {
  const { state, def } = input;
  const layers: { diffId: string; size: number }[] = [];
  for (const part of layerSplit(input.entries, def)) {
    const info = await storeLayer(state, part, input.epoch);
    layers.push({ diffId: info.diffId, size: info.uncompressedSize });
  }
  const diffIds = [...input.parentDiffIds, ...layers.map((l) => l.diffId)];
  const config = imageConfig(def, {
    key: input.key,
    diffIds,
    created: input.epoch,
    arch: input.arch,
    accounts: input.accounts,
    extraLabels: input.extraLabels,
  });
  return { config, layers, diffIds };
}
