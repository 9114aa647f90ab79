/**
 * `imgsdk lock` and `outdated` on the app: its imgsdk.lock is beside it unless
 * `--lock` names another. (`update`, which also looks up stage3 dates, is update.ts.)
 */
import { lock, outdated, type LockOptions, type LockResult, type OutdatedResult } from './lockfile';
import { openApp, type Where } from './open';

export type { LockResult, OutdatedResult } from './lockfile';
export type { PackageChange } from '../sdk/lock';
export type { Stage3Update } from './stage3-updates';

/** What the command line adds: the images (ids or globs) and builder output. */
export type AppLockOptions = Pick<LockOptions, 'select' | 'log'>;

/**
 * Resolves the app's packages and writes its lock.
 * @example const r = await lockApp({ app: '.' }, { select: ['acme/web'] });
 */
export async function lockApp(where: Where, opts: AppLockOptions = {}): Promise<LockResult> {
  const { app, lockFile, stateDir } = openApp(where);
  return lock(app, { ...opts, lockFile, stateDir });
}

/** Compares the app's lock with the archives now; writes nothing. */
export async function outdatedApp(where: Where, opts: AppLockOptions = {}): Promise<OutdatedResult> {
  const { app, lockFile, stateDir } = openApp(where);
  return outdated(app, { ...opts, lockFile, stateDir });
}
