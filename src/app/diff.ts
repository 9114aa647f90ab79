/**
 * `imgsdk diff`: the app as it is now against its last deploy (the state
 * directory beside it) or its assembly on disk. No engine.
 */
import { select } from '../runtime/deploy/deploy';
import { diff, type DiffEntry } from '../runtime/deploy/diff';
import { assembleApp, type Where } from './open';

export type { DiffEntry } from '../runtime/deploy/diff';

/**
 * Per selected image (ids or globs, all by default; no dependencies added): would
 * a deploy rebuild it, and which inputs of its key changed.
 * @example const entries = await diffApp({ app: 'images.ts' }, ['acme/*']);
 */
export async function diffApp(where: Where, patterns: readonly string[] = []): Promise<DiffEntry[]> {
  const { assembly, stateDir, outDir } = assembleApp(where);
  const ids = new Set(select({ dir: '', manifest: assembly.manifest, images: assembly.images }, patterns, true));
  return (await diff(assembly.manifest, { stateDir, assemblyDir: outDir, images: assembly.images })).filter((e) => ids.has(e.id));
}
