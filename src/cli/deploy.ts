import { deployApp, enginePlatform, formatSize, type DeployEvent, type ImageResult } from '../app/deploy';
import { UsageError } from '../contract/errors';
import { CLEANUP_SIGNALS, signalExitCode } from '../contract/signals';
import { parse } from './args';
import { describeLock } from './lock';
import { Progress } from './progress';
import { printWarnings } from './warnings';

export const DEPLOY_USAGE = `imgsdk deploy [ids or globs…] [options]
  Synthesizes images.ts and builds what changed through the Docker engine.
  --app FILE|DIR     the app (default the nearest images.ts here or above), or an assembly dir (manifest.json)
  -o, --out DIR      assembly directory (default $IMGSDK_OUTDIR or imgsdk.out beside the app)
  --lock FILE        imgsdk.lock (default beside the app); images it lacks are resolved and added
  --frozen-lock      fail instead when the lock lacks what the app installs (CI)
  --state DIR        state directory (default $IMGSDK_STATE_DIR or .imgsdk beside the app, or
                     beside the assembly dir): the cache, whatever the working directory
  -c, --concurrency N  images built at once (default 2)
  -e, --exclusively  build only the named images, not their dependencies
  -f, --force        redo phase 2 (layer, config, load) even when cached
  -F, --force-all    redo phase 1 too
  --push REGISTRY    push every image with its tags (and :debug) to REGISTRY (host[:port][/path]);
                     credentials from IMGSDK_REGISTRY_USER/_PASSWORD or the Docker config's auths
  --cache REGISTRY/PREFIX  a registry as the shared build cache: each key is looked up there
                     first (a hit is pulled and counts as cached), every build is pushed there
  --sign-key FILE    sign every pushed manifest, index and attestation (SLSA provenance, SPDX SBOM)
                     and every registry cache entry published, with this PEM private key
                     (default $IMGSDK_SIGN_KEY; passphrase in $IMGSDK_SIGN_KEY_PASSPHRASE; imgsdk keygen)
  --trust-key FILE   a public key whose signatures the registry cache trusts (repeatable); with
                     any key given, an unsigned or wrongly signed entry is refused and built
                     (default with --sign-key: its own public key)
  --vex FILE         an OpenVEX document attested, signed, for every pushed image
  --oci DIR          also write every image into the OCI image layout DIR (skopeo inspect oci:DIR:<id>:<tag>)
  --archive DIR      also write one docker-archive per image to DIR/<ns>_<name>.tar (docker load -i)
  --no-load          do not load into the engine (phase 2 needs no engine; use with --oci/--archive)
  --platform P       which platform of a multi-platform image the engine gets (default the host's,
                     e.g. linux/amd64); --oci and --push always carry every platform in an image index
  --json             NDJSON events on stdout
  -q, --quiet        print nothing on success but warnings; on failure, what failed
  -v, --verbose      stream builder logs
`;

/** How long a cancelled deploy may take to clean up before the process ends anyway. */
const STOP_BOUND_MS = 30_000;

export async function deployCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      app: { type: 'string' },
      out: { type: 'string', short: 'o' },
      state: { type: 'string' },
      lock: { type: 'string' },
      'frozen-lock': { type: 'boolean' },
      concurrency: { type: 'string', short: 'c' },
      exclusively: { type: 'boolean', short: 'e' },
      force: { type: 'boolean', short: 'f' },
      'force-all': { type: 'boolean', short: 'F' },
      push: { type: 'string' },
      cache: { type: 'string' },
      oci: { type: 'string' },
      archive: { type: 'string' },
      'no-load': { type: 'boolean' },
      'sign-key': { type: 'string' },
      'trust-key': { type: 'string', multiple: true },
      vex: { type: 'string' },
      platform: { type: 'string' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      verbose: { type: 'boolean', short: 'v' },
    },
    true,
  );
  const concurrency = values.concurrency === undefined ? 2 : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new UsageError(`--concurrency takes a whole number >= 1, not "${values.concurrency}"`);
  if (values.exclusively && positionals.length === 0) throw new UsageError('--exclusively needs image ids or globs');
  if (values.quiet && (values.json || values.verbose))
    throw new UsageError('-q prints nothing on success: it takes no --json or --verbose');

  const controller = new AbortController();
  // A signal cancels the deploy (containers, temp files and tags are cleaned up on
  // the way out); if that has not ended it within STOP_BOUND_MS, the process ends anyway.
  const onSignal = (sig: NodeJS.Signals) => {
    controller.abort();
    setTimeout(() => {
      process.stderr.write(`imgsdk deploy: ${sig}: still not stopped after ${STOP_BOUND_MS / 1000} s, exiting\n`);
      process.exit(signalExitCode(sig));
    }, STOP_BOUND_MS).unref();
  };
  for (const sig of CLEANUP_SIGNALS) process.once(sig, onSignal);
  const progress = values.json || values.quiet ? null : new Progress(process.stderr, !!values.verbose);
  const onEvent = (e: DeployEvent) => {
    if (values.json) process.stdout.write(JSON.stringify({ ...e, time: Date.now() }) + '\n');
    else progress?.event(e);
  };
  try {
    const r = await deployApp(
      { app: values.app, out: values.out, state: values.state, lock: values.lock },
      {
        frozenLock: !!values['frozen-lock'],
        concurrency,
        select: positionals,
        exclusively: !!values.exclusively,
        force: !!values.force,
        forceAll: !!values['force-all'],
        onEvent,
        signal: controller.signal,
        push: values.push,
        cache: values.cache,
        oci: values.oci,
        archive: values.archive,
        load: !values['no-load'],
        ...(values['sign-key'] !== undefined ? { signKey: values['sign-key'] } : {}),
        ...(values['trust-key'] ? { trustKeys: values['trust-key'] } : {}),
        ...(values.vex !== undefined ? { vex: values.vex } : {}),
        ...(values.platform !== undefined ? { platform: enginePlatform(values.platform) } : {}),
      },
    );
    progress?.finish();
    printWarnings('deploy', r.warnings ?? []);
    if (values.quiet) {
      if (!r.ok) process.stderr.write(failures(r.images));
    } else if (!values.json) {
      // What the lock made rebuild has just been built: the summary says so, not "will rebuild".
      if (r.lock?.resolved.length) process.stdout.write(describeLock(r.lock, { rebuild: false }));
      process.stdout.write(summary(r.images));
    }
    return r.ok ? 0 : 1;
  } finally {
    progress?.finish();
    for (const sig of CLEANUP_SIGNALS) process.off(sig, onSignal);
  }
}

/** -q on failure: each failed image and why, and the images skipped because of it. */
function failures(images: readonly ImageResult[]): string {
  const lines: string[] = [];
  for (const i of images) if (i.status === 'failed') lines.push(`${i.id} failed:`, i.reason);
  for (const i of images) if (i.status === 'skipped') lines.push(`${i.id} skipped: ${i.reason.split('\n')[0]}`);
  return lines.join('\n') + '\n';
}

/** The lines after a deploy: per image what it did, then the platforms, debug variants and pushes. */
export function summary(images: readonly ImageResult[]): string {
  const lines = images.map((i) => {
    const what =
      i.status === 'built'
        ? `built  ${i.digest!.slice(7, 19)}  ${formatSize(i.size!)}`
        : i.status === 'cached'
          ? `cached ${i.digest!.slice(7, 19)}  ${formatSize(i.size!)}`
          : `${i.status.padEnd(6)} ${i.reason.split('\n')[0]}`;
    return `${i.id.padEnd(Math.max(...images.map((x) => x.id.length)))}  ${what}`;
  });
  const n = (s: string) => images.filter((i) => i.status === s).length;
  lines.push(
    `${images.length} image${images.length === 1 ? '' : 's'}: ${n('built')} built, ${n('cached')} cached, ${n('failed')} failed, ${n('skipped')} skipped`,
  );
  for (const i of images) {
    if (i.debug) lines.push(`${i.id}: debug variant ${i.debug}`);
    // Only the engine's platform is tagged in the engine; naming the others' key tags would send `docker run` to tags that do not exist.
    for (const p of i.platforms ?? []) {
      const where =
        p.platform === i.platform
          ? `loaded as ${p.tags.join(', ')}`
          : `not loaded (the engine runs ${i.platform}); in the image index that --oci and --push write`;
      lines.push(`${i.id} ${p.platform}: ${p.status} ${p.digest?.slice(0, 19) ?? ''} (${where})`);
    }
    for (const p of i.pushed ?? []) lines.push(`pushed ${p.ref}${p.digest ? `@${p.digest}` : ''}`);
  }
  for (const i of images) if (i.status === 'failed') lines.push('', `${i.id} failed:`, i.reason);
  return lines.join('\n') + '\n';
}
