import { writeFileSync } from 'node:fs';
import { ciWorkflow } from '../app/ci/generate';
import { UsageError } from '../contract/errors';
import { parse } from './args';

export const CI_USAGE = `imgsdk ci github [ids or globs…] --cache REGISTRY/PREFIX [options]
imgsdk ci argo [ids or globs…] --cache REGISTRY/PREFIX --runner-image REF [options]
  Writes a workflow that builds the app on many machines (docs/scale.md): one
  \`imgsdk node\` per image and platform, each waiting only for the builds of its own
  parent and copy sources, then one \`imgsdk node --publish\` per image. Same app and
  options, same bytes. Run it from the repository's root: the nodes get the app's path from there.
  --app FILE|DIR       the app (default the nearest images.ts); --lock FILE its lock (keys as deploy's)
  --out FILE           write the workflow there (default stdout)
  --cache REGISTRY/PREFIX  the registry cache the nodes share (required)
  --push REGISTRY[/PREFIX] the publishes push the images' tags there
  --node-app PATH      the --app the nodes get (default the app's path from here)
  --host-platform P    platform of the default runner / of the nodes building images that name none (default linux/amd64)
  --retries N          runs again after a retryable failure, exit 75 (default 2 for github, 3 for argo)
  --sign-key-secret NAME  a secret with the PEM key that signs cache entries and images (IMGSDK_SIGN_KEY)
  --trust-key FILE     a public key (path in the repository) whose signatures the cache trusts (repeatable)
 github:
  --runs-on LABEL      the default runner (default ubuntu-latest); other platforms run there under QEMU
  --runner P=LABEL     a native runner for platform P (repeatable); --arm64-runner LABEL is --runner linux/arm64=LABEL
  --user-secret NAME, --password-secret NAME  the registry login's secrets (default REGISTRY_USER, REGISTRY_PASSWORD)
  --branch NAME        branches whose pushes run it (repeatable; default main); --name NAME (default images)
  --node-version V     Node.js for the jobs (default 20)
 argo:
  --runner-image REF   the image the pods run: the app at --workdir (default /app) with imgsdk on its PATH
  --namespace NS, --service-account NAME, --generate-name PREFIX (default images-), --parallelism N
  --docker-host URL    the engine a build pod talks to (default tcp://$(IMGSDK_NODE_IP):2376, its node's, over TLS)
  --engine-tls-secret NAME  the engine's client certificate for tcp:// (default imgsdk-engine-tls)
  --registry-secret NAME    the registry's username and password (default imgsdk-registry)
`;

export async function ciCommand(argv: readonly string[]): Promise<number> {
  const [kind, ...rest] = argv;
  if (kind !== 'github' && kind !== 'argo') throw new UsageError(`ci takes github or argo${kind ? `, not "${kind}"` : ''}`);
  const { values, positionals } = parse(
    rest,
    {
      app: { type: 'string' },
      lock: { type: 'string' },
      out: { type: 'string' },
      cache: { type: 'string' },
      push: { type: 'string' },
      'node-app': { type: 'string' },
      'host-platform': { type: 'string' },
      retries: { type: 'string' },
      'sign-key-secret': { type: 'string' },
      'trust-key': { type: 'string', multiple: true },
      'runs-on': { type: 'string' },
      runner: { type: 'string', multiple: true },
      'arm64-runner': { type: 'string' },
      'user-secret': { type: 'string' },
      'password-secret': { type: 'string' },
      branch: { type: 'string', multiple: true },
      name: { type: 'string' },
      'node-version': { type: 'string' },
      'runner-image': { type: 'string' },
      workdir: { type: 'string' },
      namespace: { type: 'string' },
      'service-account': { type: 'string' },
      'generate-name': { type: 'string' },
      parallelism: { type: 'string' },
      'docker-host': { type: 'string' },
      'engine-tls-secret': { type: 'string' },
      'registry-secret': { type: 'string' },
    },
    true,
  );
  if (!values.cache) throw new UsageError(`ci ${kind} needs --cache REGISTRY/PREFIX: the registry cache the nodes share`);
  const only =
    kind === 'github'
      ? [
          'runner-image',
          'workdir',
          'namespace',
          'service-account',
          'generate-name',
          'parallelism',
          'docker-host',
          'engine-tls-secret',
          'registry-secret',
        ]
      : ['runs-on', 'runner', 'arm64-runner', 'user-secret', 'password-secret', 'branch', 'name', 'node-version'];
  const wrong = only.filter((o) => values[o as keyof typeof values] !== undefined);
  if (wrong.length)
    throw new UsageError(
      `ci ${kind} takes no ${wrong.map((o) => `--${o}`).join(', ')} (those are for ci ${kind === 'github' ? 'argo' : 'github'})`,
    );
  const common = {
    cache: values.cache,
    push: values.push,
    select: positionals,
    app: values['node-app'],
    hostPlatform: values['host-platform'],
    retries: count(values.retries, '--retries', 0),
    signKeySecret: values['sign-key-secret'],
    trustKeys: values['trust-key'],
    command: commandLine(kind, rest),
  };
  const where = { app: values.app, lock: values.lock };
  const { text } =
    kind === 'github'
      ? ciWorkflow('github', where, {
          ...common,
          runsOn: values['runs-on'],
          runners: runnersOf(values.runner ?? [], values['arm64-runner']),
          userSecret: values['user-secret'],
          passwordSecret: values['password-secret'],
          branches: values.branch,
          name: values.name,
          nodeVersion: values['node-version'],
        })
      : ciWorkflow('argo', where, {
          ...common,
          runnerImage: required(values['runner-image'], '--runner-image REF: the image the pods run (the app and imgsdk)'),
          workdir: values.workdir,
          namespace: values.namespace,
          serviceAccount: values['service-account'],
          generateName: values['generate-name'],
          parallelism: count(values.parallelism, '--parallelism', 1),
          dockerHost: values['docker-host'],
          engineTlsSecret: values['engine-tls-secret'],
          registrySecret: values['registry-secret'],
        });
  if (values.out) writeFileSync(values.out, text);
  else process.stdout.write(text);
  return 0;
}

/** `--runner P=LABEL…` and `--arm64-runner LABEL` as one map. */
function runnersOf(specs: readonly string[], arm64: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of [...specs, ...(arm64 !== undefined ? [`linux/arm64=${arm64}`] : [])]) {
    const eq = s.indexOf('=');
    if (eq <= 0 || eq === s.length - 1) throw new UsageError(`--runner takes PLATFORM=LABEL (linux/arm64=ubuntu-24.04-arm), not "${s}"`);
    const p = s.slice(0, eq);
    if (out[p] !== undefined) throw new UsageError(`--runner: platform ${p} is given two runners (${out[p]}, ${s.slice(eq + 1)})`);
    out[p] = s.slice(eq + 1);
  }
  return out;
}

function count(v: string | undefined, option: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min) throw new UsageError(`${option} takes a whole number >= ${min}, not "${v}"`);
  return n;
}

function required(v: string | undefined, what: string): string {
  if (!v) throw new UsageError(`ci argo needs ${what}`);
  return v;
}

/** The command line for the file's header, without --out (where it went says nothing about what it holds). */
function commandLine(kind: string, argv: readonly string[]): string {
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') i++;
    else if (!argv[i].startsWith('--out=')) words.push(/^[\w@%+=:,./$()-]+$/.test(argv[i]) ? argv[i] : JSON.stringify(argv[i]));
  }
  return ['imgsdk', 'ci', kind, ...words].join(' ');
}
