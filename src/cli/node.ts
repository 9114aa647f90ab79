import { nodeApp, type NodeResult } from '../app/node';
import { enginePlatform } from '../app/deploy';
import { EX_TEMPFAIL, ERROR_CODES, UsageError, type ErrorCode } from '../contract/errors';
import { CLEANUP_SIGNALS, signalExitCode } from '../contract/signals';
import { writeAtomic } from '../util/files';
import { parse } from './args';
import { Progress } from './progress';

export const NODE_USAGE = `imgsdk node IMAGE [--platform OS/ARCH] --cache REGISTRY/PREFIX [--app FILE|DIR] [--result FILE] [--sign-key FILE] [--trust-key FILE]
  Builds one image for one platform (the host's when none is given) as a node of a
  distributed build (a GitHub Actions job, an Argo Workflows task): its parents and copy
  sources are restored from the registry cache (never built here), it is built only if
  its key is not in the cache, and published there. Idempotent.
imgsdk node IMAGE --publish --cache REGISTRY/PREFIX [--push REGISTRY[/PREFIX]] [--app …] [--result FILE]
  The final step: the image's platforms from the cache, assembled into one index; with
  --push its tags are pushed.
  Progress goes to stderr; stdout's last line (and --result FILE) is one JSON object:
  {"image","platform","key","digest","status":"built"|"cached"|"published"|"failed","error"?:{"code","retryable","message"}}
  Exit 0 done; 75 (EX_TEMPFAIL) retryable: an engine or the registry does not answer, the
  node was interrupted, a dependency is not in the cache yet; other codes: permanent.
`;

/** How long an interrupted node may take to clean up before the process ends anyway. */
const STOP_BOUND_MS = 30_000;

export async function nodeCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      app: { type: 'string' },
      platform: { type: 'string' },
      cache: { type: 'string' },
      result: { type: 'string' },
      'sign-key': { type: 'string' },
      'trust-key': { type: 'string', multiple: true },
      publish: { type: 'boolean' },
      push: { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
    },
    true,
  );
  if (positionals.length !== 1) throw new UsageError(`node takes one image id, not ${positionals.length ? positionals.join(' ') : 'none'}`);
  if (!values.cache) throw new UsageError('node needs --cache REGISTRY/PREFIX: the registry cache the nodes of a workflow share');
  if (values.push && !values.publish)
    throw new UsageError('--push goes with --publish (the final step); a build node publishes to the cache only');
  if (values.publish && values.platform) throw new UsageError('--publish assembles every platform of the image: it takes no --platform');
  // An empty --platform (a workflow parameter left empty) means the host's, as no --platform does.
  const platform = values.platform ? enginePlatform(values.platform) : undefined;

  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    controller.abort();
    setTimeout(() => {
      process.stderr.write(`imgsdk node: ${sig}: still not stopped after ${STOP_BOUND_MS / 1000} s, exiting\n`);
      process.exit(signalExitCode(sig));
    }, STOP_BOUND_MS).unref();
  };
  for (const sig of CLEANUP_SIGNALS) process.once(sig, onSignal);
  const progress = new Progress(process.stderr, !!values.verbose);
  try {
    const r = await nodeApp({ app: values.app }, positionals[0], {
      cache: values.cache,
      publish: !!values.publish,
      signal: controller.signal,
      onEvent: (e) => progress.event(e),
      ...(platform ? { platform } : {}),
      ...(values.push ? { push: values.push } : {}),
      ...(values['sign-key'] !== undefined ? { signKey: values['sign-key'] } : {}),
      ...(values['trust-key'] ? { trustKeys: values['trust-key'] } : {}),
    });
    progress.finish();
    const line = JSON.stringify(r);
    if (values.result) await writeAtomic(values.result, line + '\n');
    if (r.error) process.stderr.write(`imgsdk node: ${r.error.message}\n`);
    process.stdout.write(line + '\n');
    return nodeExitCode(r);
  } finally {
    progress.finish();
    for (const sig of CLEANUP_SIGNALS) process.off(sig, onSignal);
  }
}

/**
 * 0 when done; 75 (EX_TEMPFAIL) when a retry may succeed; otherwise the exit code
 * of the error's code (ERROR_CODES), never 0 and never 75.
 * @example nodeExitCode({ …, status: 'failed', error: { code: 'BUILD', retryable: false, message } }) // 1
 */
export function nodeExitCode(r: Pick<NodeResult, 'error'>): number {
  if (!r.error) return 0;
  if (r.error.retryable) return EX_TEMPFAIL;
  const exit = (ERROR_CODES as Record<string, { exit: number } | undefined>)[r.error.code as ErrorCode]?.exit ?? 1;
  return exit === 0 || exit === EX_TEMPFAIL ? 1 : exit;
}
