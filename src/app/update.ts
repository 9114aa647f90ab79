/**
 * `imgsdk update` on the app: newer package versions into its imgsdk.lock (beside
 * it unless `--lock` names another) and newer stage3 dates of its Gentoo builders.
 */
import { update, type UpdateResult } from './update-lock';
import type { AppLockOptions } from './lock';
import { openApp, type Where } from './open';

export type { Stage3Update, UpdateResult } from './update-lock';

/**
 * Updates the app's lock to the archives now and looks up newer stage3 dates.
 * @example const r = await updateApp({ app: '.' }); r.rebuild
 */
export async function updateApp(where: Where, opts: AppLockOptions = {}): Promise<UpdateResult> {
  const { app, lockFile } = openApp(where);
  return update(app, { ...opts, lockFile });
}
