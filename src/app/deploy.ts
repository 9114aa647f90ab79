/**
 * `imgsdk deploy` for an app or an assembly on disk: opens it with every default
 * (see open.ts), then runs the runtime's deploy with the directories spelled out,
 * so the state directory is the app's whatever the working directory.
 */
import { UsageError, type Problem } from '../contract/errors';
import { outDirOf } from '../contract/defaults';
import { readAssembly, type LoadedAssembly } from '../contract/read';
import { signingOf } from '../runtime/deploy/signing';
import { deployAssembly, type DeployOptions, type DeployResult as AssemblyDeployResult } from '../runtime/deploy/deploy';
import { App, type AppInput } from '../sdk/app';
import { loadApp } from '../sdk/load';
import { synth } from '../sdk/synth';
import { ensureLocked, type LockResult } from './lockfile';
import { normalizePlatform, PLATFORMS } from '../contract/platform';
import { isAssemblyDir, locate, type Where } from './open';

export type { DeployEvent, DeployOptions, ImageResult } from '../runtime/deploy/deploy';
export { formatSize } from '../util/format';

/** A deploy of an app: the runtime's options, and the app's lock. */
export interface AppDeployOptions extends DeployOptions {
  /**
   * imgsdk.lock of the app (when `deploy()` gets an app, not an assembly): images
   * without a current entry are resolved and added first, then every image
   * installs exactly its locked versions. @default none (the archive's candidates)
   */
  readonly lockFile?: string;
  /** Fail instead of adding to the lock when it lacks what the app installs (CI). @default false */
  readonly frozenLock?: boolean;
}

/** What a deploy did; for an app also what it added to the lock and what synth warned of. */
export interface DeployResult extends AssemblyDeployResult {
  /** What was added to the lock before building (with `lockFile`). */
  readonly lock?: LockResult;
  /** What synth said without failing (an app, not an assembly, was deployed). */
  readonly warnings?: readonly Problem[];
}

/** What the command line says besides the directories: deploy's own options. */
export type DeployAppOptions = Omit<AppDeployOptions, 'assemblyDir' | 'stateDir' | 'lockFile' | 'epoch'>;

/**
 * Deploys an app (synthesized first, after its lock has what it needs, when
 * `lockFile` is given) or an assembly (loaded, or read from a directory): the
 * runtime builds what changed (runtime/deploy.ts).
 * @example const r = await deploy(app(web), { concurrency: 2, onEvent: console.log });
 */
export async function deploy(input?: LoadedAssembly | AppInput | string, opts: AppDeployOptions = {}): Promise<DeployResult> {
  if (input === undefined || typeof input === 'string' || ('manifest' in input && 'dir' in input)) {
    return deployAssembly(input as LoadedAssembly | string | undefined, opts);
  }
  const outdir = opts.assemblyDir ?? outDirOf();
  const theApp = App.isApp(input) ? input : App.of([input]);
  // A bad key or VEX file fails before the lock resolver starts a container (deployAssembly reads them again: a few ms).
  await signingOf(opts);
  let lock: LockResult | undefined;
  if (opts.lockFile !== undefined || opts.frozenLock) {
    const log = (line: string) => opts.onEvent?.({ type: 'log', id: '-', line });
    const t = Date.now();
    lock = await ensureLocked(theApp, {
      lockFile: opts.lockFile,
      frozen: opts.frozenLock,
      select: opts.select,
      engine: opts.engine,
      log,
      signal: opts.signal,
      stateDir: opts.stateDir,
    });
    opts.onEvent?.({ type: 'timing', id: '-', step: 'lock', ms: Date.now() - t });
  }
  const { warnings } = await synth(theApp, { outdir, lock: lock?.lock ?? null, epoch: opts.epoch });
  const r = await deployAssembly(await readAssembly(outdir), opts);
  return { ...r, ...(lock ? { lock } : {}), ...(warnings.length ? { warnings } : {}) };
}

/**
 * Deploys the app (`where.app`, else ./images.ts; synthesized after its lock has
 * what it needs) or the assembly directory `where.app` names.
 * @example const r = await deployApp({ app: '../web' }, { concurrency: 2 });
 */
export async function deployApp(where: Where, opts: DeployAppOptions = {}): Promise<DeployResult> {
  if (opts.frozenLock && where.app && isAssemblyDir(where.app))
    throw new UsageError('--lock and --frozen-lock apply to an app; an assembly already holds its locked versions');
  const at = locate(where);
  const input = at.appFile ? loadApp(at.appFile) : await readAssembly(at.outDir);
  return deploy(input, {
    ...opts,
    assemblyDir: at.outDir,
    stateDir: at.stateDir,
    lockFile: at.lockFile ?? undefined,
    // An assembly has its epoch; SOURCE_DATE_EPOCH is checked against it by deploy.
    epoch: at.appFile ? at.epoch : undefined,
  });
}

/** `--platform NAME` as deploy takes it: a platform imgsdk knows, normalized (`arm64` → `linux/arm64`). */
export function enginePlatform(name: string): string {
  const p = normalizePlatform(name);
  if (!p) throw new UsageError(`--platform "${name}" is not a platform imgsdk knows (${[...PLATFORMS.keys()].join(', ')})`);
  return p;
}
