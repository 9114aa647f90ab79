/**
 * Opening an app or an assembly, with every default read once: where the app
 * is (`--app`, else ./images.ts), its assembly directory, state directory and
 * lock file (beside the app unless a flag or IMGSDK_OUTDIR / IMGSDK_STATE_DIR says
 * otherwise, see ../defaults.ts), and SOURCE_DATE_EPOCH. Every CLI command opens
 * what it works on here; the commands only parse and print.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ENV_OUT_DIR, OUT_DIR_NAME, outDirOf, stateDirOf, stateDirOfAssembly } from '../contract/defaults';
import { UsageError } from '../contract/errors';
import { readAssembly, type LoadedAssembly } from '../contract/read';
import type { App } from '../sdk/app';
import { parseEpoch } from '../contract/epoch';
import { LOCK_FILE } from '../sdk/lock';
import { loadApp } from '../sdk/load';
import { assemble, synth, type Assembly } from '../sdk/synth';

/** What the user said on the command line (all optional). */
export interface Where {
  /** `--app`: an images.ts, a directory holding one, or an assembly directory (manifest.json). */
  readonly app?: string;
  /** `-o`/`--out`: the assembly directory. */
  readonly out?: string;
  /** `--state`: the state directory. */
  readonly state?: string;
  /** `--lock`: the lock file. */
  readonly lock?: string;
}

/** Where an app's files are, every default applied; all paths absolute. */
export interface Located {
  /** The app's images.ts; null when `--app` names an assembly directory. */
  readonly appFile: string | null;
  /** The directory the defaults are beside: the app's, or the one holding the assembly. */
  readonly appDir: string;
  /** The assembly directory (written by synth, read by deploy). */
  readonly outDir: string;
  readonly stateDir: string;
  /** imgsdk.lock; null for an assembly (it holds its locked versions). */
  readonly lockFile: string | null;
  /** SOURCE_DATE_EPOCH when set (the assembly's otherwise). */
  readonly epoch: number | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

/** True when `path` is an assembly directory (has a manifest.json). */
export function isAssemblyDir(path: string): boolean {
  return existsSync(join(resolve(path), 'manifest.json'));
}

const APP_FILE = 'images.ts';

/**
 * The nearest images.ts in `from` or a directory above it, as git, npm and cdk find
 * their root: a command run in `web/src/` uses `web/images.ts`, and its assembly,
 * state directory and lock stay beside it. Null when there is none up to `/`.
 * @example findAppFile('/src/web/lib') // '/src/web/images.ts'
 */
export function findAppFile(from = process.cwd()): string | null {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const file = join(dir, APP_FILE);
    if (existsSync(file) && statSync(file).isFile()) return file;
    if (dirname(dir) === dir) return null;
  }
}

/**
 * Applies the defaults to what the user said, reading the file system only to
 * tell an app from an assembly, and the environment once.
 * @example locate({ app: '../web' }) // { appFile: '/src/web/images.ts', stateDir: '/src/web/.imgsdk', … }
 */
export function locate(where: Where = {}, env: Env = process.env): Located {
  const epoch = env.SOURCE_DATE_EPOCH ? parseEpoch(env.SOURCE_DATE_EPOCH) : undefined;
  if (where.app && isAssemblyDir(where.app)) {
    const outDir = resolve(where.app);
    if (where.lock) throw new UsageError('--lock and --frozen-lock apply to an app; an assembly already holds its locked versions');
    return {
      appFile: null,
      appDir: dirname(outDir),
      outDir,
      stateDir: where.state ? resolve(where.state) : stateDirOfAssembly(outDir, env),
      lockFile: null,
      epoch,
    };
  }
  let appFile = where.app ? resolve(where.app) : (findAppFile() ?? resolve(APP_FILE));
  if (existsSync(appFile) && statSync(appFile).isDirectory()) appFile = join(appFile, 'images.ts');
  const appDir = dirname(appFile);
  return {
    appFile,
    appDir,
    outDir: where.out ? resolve(where.out) : outDirOf(appDir, env),
    stateDir: where.state ? resolve(where.state) : stateDirOf(appDir, env),
    lockFile: where.lock ? resolve(where.lock) : join(appDir, LOCK_FILE),
    epoch,
  };
}

/** An app loaded from its images.ts, and where it is. */
export interface OpenedApp extends Located {
  readonly appFile: string;
  readonly lockFile: string;
  readonly app: App;
}

/**
 * Loads the app (never an assembly: commands that take one use {@link openAssembly}).
 * @example const { app, stateDir } = openApp({ app: values.app });
 */
export function openApp(where: Where = {}, env: Env = process.env): OpenedApp {
  const at = locate(where, env);
  if (!at.appFile || !at.lockFile)
    throw new UsageError(`${where.app} is an assembly directory; this command needs the app (its images.ts)`);
  return { ...at, appFile: at.appFile, lockFile: at.lockFile, app: loadApp(at.appFile) };
}

/**
 * The app validated and assembled in memory, with the versions of its lock file
 * (nothing written).
 * @example const { manifest } = assembleApp({ app: values.app });
 */
export function assembleApp(where: Where = {}, env: Env = process.env): OpenedApp & { readonly assembly: Assembly } {
  const opened = openApp(where, env);
  return { ...opened, assembly: assemble(opened.app, { lock: opened.lockFile, epoch: opened.epoch }) };
}

/**
 * The app synthesized into its assembly directory (with its lock and epoch).
 * @example const { assembly, outDir } = await synthApp({ app: '.' });
 */
export async function synthApp(where: Where = {}, env: Env = process.env): Promise<OpenedApp & { readonly assembly: Assembly }> {
  const opened = openApp(where, env);
  return { ...opened, assembly: await synth(opened.app, { outdir: opened.outDir, lock: opened.lockFile, epoch: opened.epoch }) };
}

/**
 * The app synthesized into its assembly directory (with its lock), or the
 * assembly `--app` names, read back from disk.
 * @example const { assembly, stateDir } = await openAssembly({ app: 'imgsdk.out' });
 */
export async function openAssembly(where: Where = {}, env: Env = process.env): Promise<Located & { readonly assembly: LoadedAssembly }> {
  const at = locate(where, env);
  if (at.appFile) await synth(loadApp(at.appFile), { outdir: at.outDir, lock: at.lockFile, epoch: at.epoch });
  return { ...at, assembly: await readAssembly(at.outDir) };
}

/**
 * Where `imgsdk clean` looks for the app when none is named: the nearest images.ts
 * here or above, else an
 * assembly in $IMGSDK_OUTDIR or ./imgsdk.out; null when there is neither.
 */
export function findApp(where: Where, env: Env = process.env): Located | null {
  if (where.app) return locate(where, env);
  if (findAppFile()) return locate(where, env);
  const out = resolve(env[ENV_OUT_DIR] || OUT_DIR_NAME);
  return isAssemblyDir(out) ? locate({ ...where, app: out }, env) : null;
}
