import { resolve } from 'node:path';
import { normalizePlatform, PLATFORMS } from '../sdk/platform';
import { readAssembly } from '../runtime/assembly';
import { deploy, type DeployEvent, type ImageResult } from '../runtime/deploy';
import { formatSize } from '../runtime/report';
import { loadApp, lockFileOf } from '../sdk/load';
import { UsageError } from '../errors';
import { parse } from './args';
import { describeLock } from './lock';
import { Progress } from './progress';
import { printWarnings } from './warnings';

export const DEPLOY_USAGE = `imgsdk deploy [ids or globs…] [options]
  Synthesizes images.ts and builds what changed through the Docker engine.
  --app FILE|DIR     the app (default ./images.ts), or an assembly dir (manifest.json)
  -o, --out DIR      assembly directory (default $IMGSDK_OUTDIR or ./imgsdk.out)
  --lock FILE        imgsdk.lock (default beside the app); images it lacks are resolved and added
  --frozen-lock      fail instead when the lock lacks what the app installs (CI)
  --state DIR        state directory (default $IMGSDK_STATE_DIR or ./.imgsdk)
  -c, --concurrency N  images built at once (default 2)
  -e, --exclusively  build only the named images, not their dependencies
  -f, --force        redo phase 2 (layer, config, load) even when cached
  -F, --force-all    redo phase 1 too
  --push REGISTRY    push every image with its tags (and :debug) to REGISTRY (host[:port][/path]);
                     credentials from IMGSDK_REGISTRY_USER/_PASSWORD or the Docker config's auths
  --oci DIR          also write every image into the OCI image layout DIR (skopeo inspect oci:DIR:<id>:<tag>)
  --archive DIR      also write one docker-archive per image to DIR/<ns>_<name>.tar (docker load -i)
  --no-load          do not load into the engine (phase 2 needs no engine; use with --oci/--archive)
  --platform P       which platform of a multi-platform image the engine gets (default the host's,
                     e.g. linux/amd64); --oci and --push always carry every platform in an image index
  --json             NDJSON events on stdout
  -v, --verbose      stream builder logs
`;

/** `--platform`, checked and normalized (`linux/arm64/v8` -> `linux/arm64`). */
function enginePlatform(name: string): string {
  const p = normalizePlatform(name);
  if (!p) throw new UsageError(`--platform "${name}" is not a platform imgsdk knows (${[...PLATFORMS.keys()].join(', ')})`);
  return p;
}

export async function deployCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    app: { type: 'string' }, out: { type: 'string', short: 'o' }, state: { type: 'string' },
    lock: { type: 'string' }, 'frozen-lock': { type: 'boolean' },
    concurrency: { type: 'string', short: 'c' }, exclusively: { type: 'boolean', short: 'e' },
    force: { type: 'boolean', short: 'f' }, 'force-all': { type: 'boolean', short: 'F' },
    push: { type: 'string' }, oci: { type: 'string' }, archive: { type: 'string' }, 'no-load': { type: 'boolean' },
    platform: { type: 'string' }, json: { type: 'boolean' }, verbose: { type: 'boolean', short: 'v' },
  }, true);
  const concurrency = values.concurrency === undefined ? 2 : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new UsageError(`--concurrency takes a whole number >= 1, not "${values.concurrency}"`);
  if (values.exclusively && positionals.length === 0) throw new UsageError('--exclusively needs image ids or globs');

  const outdir = resolve(values.out ?? process.env.IMGSDK_OUTDIR ?? 'imgsdk.out');
  const fromAssembly = !!values.app && (await isAssembly(values.app));
  if (fromAssembly && (values.lock || values['frozen-lock'])) throw new UsageError('--lock and --frozen-lock apply to an app; an assembly already holds its locked versions');
  // An app is synthesized by deploy() itself, after the lock has what it needs.
  const input = fromAssembly ? await readAssembly(values.app!) : loadApp(values.app);

  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = values.json ? null : new Progress(process.stderr, !!values.verbose);
  const onEvent = (e: DeployEvent) => {
    if (values.json) process.stdout.write(JSON.stringify({ ...e, time: Date.now() }) + '\n');
    else progress!.event(e);
  };
  try {
    const r = await deploy(input, {
      assemblyDir: outdir, lockFile: fromAssembly ? undefined : (values.lock ?? lockFileOf(values.app)), frozenLock: !!values['frozen-lock'],
      stateDir: values.state, concurrency, select: positionals, exclusively: !!values.exclusively,
      force: !!values.force, forceAll: !!values['force-all'], onEvent, signal: controller.signal,
      push: values.push, oci: values.oci, archive: values.archive, load: !values['no-load'],
      ...(values.platform !== undefined ? { platform: enginePlatform(values.platform) } : {}),
    });
    progress?.finish();
    printWarnings('deploy', r.warnings ?? []);
    if (!values.json && r.lock?.resolved.length) process.stdout.write(describeLock(r.lock));
    if (!values.json) process.stdout.write(summary(r.images));
    return r.ok ? 0 : 1;
  } finally {
    progress?.finish();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function isAssembly(path: string): Promise<boolean> {
  const { stat } = await import('node:fs/promises');
  return stat(resolve(path, 'manifest.json')).then(() => true, () => false);
}

function summary(images: readonly ImageResult[]): string {
  const lines = images.map((i) => {
    const what = i.status === 'built' ? `built  ${i.digest!.slice(7, 19)}  ${formatSize(i.size!)}` : i.status === 'cached' ? `cached ${i.digest!.slice(7, 19)}  ${formatSize(i.size!)}` : `${i.status.padEnd(6)} ${i.reason.split('\n')[0]}`;
    return `${i.id.padEnd(Math.max(...images.map((x) => x.id.length)))}  ${what}`;
  });
  const n = (s: string) => images.filter((i) => i.status === s).length;
  lines.push(`${images.length} image${images.length === 1 ? '' : 's'}: ${n('built')} built, ${n('cached')} cached, ${n('failed')} failed, ${n('skipped')} skipped`);
  for (const i of images) {
    if (i.debug) lines.push(`${i.id}: debug variant ${i.debug}`);
    for (const p of i.platforms ?? []) lines.push(`${i.id} ${p.platform}: ${p.status} ${p.digest?.slice(0, 19) ?? ''} (${p.tags.join(', ')})`);
    for (const p of i.pushed ?? []) lines.push(`pushed ${p.ref}${p.digest ? `@${p.digest}` : ''}`);
  }
  for (const i of images) if (i.status === 'failed') lines.push('', `${i.id} failed:`, i.reason);
  return lines.join('\n') + '\n';
}
