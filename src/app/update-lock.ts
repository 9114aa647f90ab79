/**
 * `imgsdk update`: newer package versions into imgsdk.lock (runtime/lock.ts) and
 * newer stage3 dates of Gentoo builders, each with the images that rebuild.
 */
import type { AppInput } from '../sdk/app';
import { assemble } from '../sdk/synth';
import { connectEngine } from '../runtime/engine/light';
import { lock, type LockOptions, type LockResult } from './lockfile';
import { stage3Updates, type Stage3Update } from './stage3-updates';

export { imagesOf, newerDate, stage3Updates, type Stage3Update } from './stage3-updates';

/** What {@link update} did. */
export interface UpdateResult extends LockResult {
  readonly stage3: readonly Stage3Update[];
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
