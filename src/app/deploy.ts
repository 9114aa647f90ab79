/**
 * `imgsdk deploy` for an app or an assembly on disk: opens it with every default
 * (see open.ts), then runs the runtime's deploy with the directories spelled out,
 * so the state directory is the app's whatever the working directory.
 */
import { UsageError } from '../errors';
import { readAssembly } from '../runtime/assembly';
import { deploy, type DeployOptions, type DeployResult } from '../runtime/deploy';
import { loadApp } from '../sdk/load';
import { normalizePlatform, PLATFORMS } from '../sdk/platform';
import { isAssemblyDir, locate, type Where } from './open';

export type { DeployEvent, DeployResult, ImageResult } from '../runtime/deploy';
export { formatSize } from '../runtime/report';

/** What the command line says besides the directories: deploy's own options. */
export type DeployAppOptions = Omit<DeployOptions, 'assemblyDir' | 'stateDir' | 'lockFile' | 'epoch'>;

/**
 * Deploys the app (`where.app`, else ./images.ts; synthesized after its lock has
 * what it needs) or the assembly directory `where.app` names.
 * @example const r = await deployApp({ app: '../web' }, { concurrency: 2 });
 */
export async function deployApp(where: Where, opts: DeployAppOptions = {}): Promise<DeployResult> {
  if (opts.frozenLock && where.app && isAssemblyDir(where.app)) throw new UsageError('--lock and --frozen-lock apply to an app; an assembly already holds its locked versions');
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
