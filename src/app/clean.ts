/**
 * What `imgsdk clean` needs of the app it cleans for: its image ids, builders
 * and current keys, from the app (synthesized in memory) or its assembly on disk.
 */
import type { BuilderDef, Manifest } from '../assembly';
import { readAssembly } from '../runtime/assembly';
import type { CleanScope } from '../runtime/clean';
import { loadApp } from '../sdk/load';
import { assemble } from '../sdk/synth';
import type { Located } from './open';

/** The app's scope for clean, and its builders (a volume prune keeps what they use). */
export interface AppCleanScope {
  readonly scope: CleanScope;
  readonly builders: readonly BuilderDef[];
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
  return { scope: { ids, builders: Object.keys(manifest.builders), keys: Object.fromEntries(ids.map((id) => [id, manifest.images[id].key])) }, builders };
}
