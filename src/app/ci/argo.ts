/**
 * `imgsdk ci argo`: an Argo Workflows `Workflow` from the app's tasks (./tasks.ts).
 * A DAG task per image and platform runs `imgsdk node` in a container template
 * (the runner image holds the app and imgsdk); its `dependencies` are the builds of
 * its own parent and copy sources on that platform. Retries follow the node's exit
 * code: 75 (retryable) and pods lost to the cluster are retried, every other failure
 * is final. Each build pod is placed on a node of its platform (`kubernetes.io/arch`)
 * and talks to that node's engine (docs/scale.md: "Argo Workflows").
 */
import { parse } from 'yaml';
import type { Manifest } from '../../contract/assembly';
import { UsageError } from '../../contract/errors';
import { platformInfo } from '../../contract/platform';
import { buildArgv, ciRegistries, ciTasks, taskCount, knownPlatform, publishArgv, type CiTaskOptions } from './tasks';
import { toYaml } from './yaml';

/** What `imgsdk ci argo` takes besides the tasks' options. */
export interface ArgoWorkflowOptions extends CiTaskOptions {
  /** The image every pod runs: it holds the app (at `workdir`, with its node_modules) and `imgsdk` on its PATH. */
  readonly runnerImage: string;
  /** The runner image's directory holding the app; the pods run there. @default '/app' */
  readonly workdir?: string;
  /** The Workflow's namespace; none: the one it is submitted to. @default undefined */
  readonly namespace?: string;
  /** The prefix of the Workflow's generated name. @default 'images-' */
  readonly generateName?: string;
  /** The service account the pods run as (docs/scale.md: what it needs). @default undefined (the namespace's default) */
  readonly serviceAccount?: string;
  /**
   * The engine each build pod talks to (DOCKER_HOST). The default is the engine of
   * the Kubernetes node the pod runs on, over TLS at port 2376 of the node's address.
   * A `unix://` socket is mounted from the node (hostPath).
   * @default 'tcp://$(IMGSDK_NODE_IP):2376'
   */
  readonly dockerHost?: string;
  /** The Secret with the engine's client certificate (`ca.pem`, `cert.pem`, `key.pem`), for a tcp:// engine. @default 'imgsdk-engine-tls' */
  readonly engineTlsSecret?: string;
  /** The Secret with the registry's `username` and `password` (IMGSDK_REGISTRY_USER/_PASSWORD). @default 'imgsdk-registry' */
  readonly registrySecret?: string;
  /** A Secret whose `key.pem` signs cache entries and pushed images (IMGSDK_SIGN_KEY); none: unsigned. @default undefined */
  readonly signKeySecret?: string;
  /** Platform of the nodes that build images that name no platform. @default 'linux/amd64' */
  readonly hostPlatform?: string;
  /** Retries of a task after a retryable failure. @default 3 */
  readonly retries?: number;
  /** Tasks running at once; none: as many as the DAG allows. @default undefined */
  readonly parallelism?: number;
  /** The command line that wrote the file, for its header. @default 'imgsdk ci argo' */
  readonly command?: string;
}

/** Where the engine's client certificate is mounted in a build pod (DOCKER_CERT_PATH). */
const CERT_PATH = '/etc/imgsdk/engine-tls';

/**
 * The Workflow as YAML (same app and options, same bytes).
 * @example writeFileSync('images.argo.yaml', argoWorkflow(manifest, { cache: 'registry.example.com/ci', runnerImage: 'registry.example.com/team/images-runner:1' }))
 */
export function argoWorkflow(manifest: Manifest, opts: ArgoWorkflowOptions): string {
  const tasks = ciTasks(manifest, opts);
  const host = knownPlatform(opts.hostPlatform ?? 'linux/amd64', '--host-platform');
  const retries = opts.retries ?? 3;
  if (!Number.isInteger(retries) || retries < 0) throw new UsageError(`--retries must be a whole number >= 0, not ${retries}`);
  if (opts.parallelism !== undefined && (!Number.isInteger(opts.parallelism) || opts.parallelism < 1))
    throw new UsageError(`--parallelism must be a whole number >= 1, not ${opts.parallelism}`);
  const { cache, push } = ciRegistries(opts);
  const param = (n: string) => `{{inputs.parameters.${n}}}`;
  const dagTasks = tasks.map((t) => ({
    name: t.name,
    template: t.kind,
    ...(t.dependencies.length ? { dependencies: [...t.dependencies] } : {}),
    arguments: {
      parameters:
        t.kind === 'build'
          ? // An empty platform is the host's (an image that names none); the node then runs on a node of --host-platform.
            [
              { name: 'image', value: t.image },
              { name: 'platform', value: t.platform ?? '' },
              { name: 'arch', value: platformInfo(t.platform ?? host).arch },
            ]
          : [{ name: 'image', value: t.image }],
    },
  }));
  const engine = engineOf(opts);
  const secrets = [
    secretEnv('IMGSDK_REGISTRY_USER', opts.registrySecret ?? 'imgsdk-registry', 'username'),
    secretEnv('IMGSDK_REGISTRY_PASSWORD', opts.registrySecret ?? 'imgsdk-registry', 'password'),
    ...(opts.signKeySecret ? [secretEnv('IMGSDK_SIGN_KEY', opts.signKeySecret, 'key.pem')] : []),
  ];
  const retryStrategy = {
    limit: retries,
    retryPolicy: 'Always',
    // Exit 75 is the node's "retryable"; an Error is a pod the cluster lost (evicted, node gone).
    expression: 'lastRetry.status == "Error" || asInt(lastRetry.exitCode) == 75',
    backoff: { duration: '30s', factor: 2, maxDuration: '30m' },
  };
  const container = (args: string[], env: object[], mounts: object[]) => ({
    // Argo names a template's container "main"; the model (Kubernetes' Container) requires a name.
    name: 'main',
    image: opts.runnerImage,
    workingDir: opts.workdir ?? '/app',
    command: ['imgsdk'],
    args,
    env,
    ...(mounts.length ? { volumeMounts: mounts } : {}),
  });
  const spec = {
    entrypoint: 'images',
    ...(opts.serviceAccount ? { serviceAccountName: opts.serviceAccount } : {}),
    ...(opts.parallelism ? { parallelism: opts.parallelism } : {}),
    podGC: { strategy: 'OnPodSuccess' },
    templates: [
      { name: 'images', dag: { tasks: dagTasks } },
      {
        name: 'build',
        inputs: { parameters: [{ name: 'image' }, { name: 'platform' }, { name: 'arch' }] },
        nodeSelector: { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': param('arch') },
        retryStrategy,
        container: container(
          buildArgv(param('image'), param('platform'), { cache, app: opts.app, trustKeys: opts.trustKeys }),
          [...engine.env, ...secrets],
          engine.mounts,
        ),
        ...(engine.volumes.length ? { volumes: engine.volumes } : {}),
      },
      {
        name: 'publish',
        inputs: { parameters: [{ name: 'image' }] },
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        retryStrategy,
        // Without --push a publish only looks the builds up in the cache: no engine. With it,
        // the image is loaded and pushed through the engine, as deploy --push does.
        container: container(
          publishArgv(param('image'), { cache, push, app: opts.app }),
          push ? [...engine.env, ...secrets] : secrets,
          push ? engine.mounts : [],
        ),
        ...(push && engine.volumes.length ? { volumes: engine.volumes } : {}),
      },
    ],
  };
  const doc = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: {
      generateName: opts.generateName ?? 'images-',
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
      labels: { 'app.kubernetes.io/managed-by': 'imgsdk' },
    },
    spec,
  };
  const header = [
    `Generated by ${opts.command ?? 'imgsdk ci argo'} (imgsdk); do not edit, generate it again.`,
    `${taskCount(tasks)}; submit with: argo submit${opts.namespace ? ` -n ${opts.namespace}` : ''} FILE`,
    'docs/scale.md says what the pods need (service account, Secrets, an engine per node).',
  ].join('\n');
  return toYaml(doc, header);
}

interface EngineWiring {
  readonly env: object[];
  readonly mounts: object[];
  readonly volumes: object[];
}

/** DOCKER_HOST and what it needs: the node's address and a client certificate for tcp://, the node's socket for unix://. */
function engineOf(opts: ArgoWorkflowOptions): EngineWiring {
  const dockerHost = opts.dockerHost ?? 'tcp://$(IMGSDK_NODE_IP):2376';
  // Kubernetes expands $(IMGSDK_NODE_IP) in a later variable's value: the address of the node the pod runs on.
  const nodeIp = dockerHost.includes('$(IMGSDK_NODE_IP)')
    ? [{ name: 'IMGSDK_NODE_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } }]
    : [];
  if (dockerHost.startsWith('unix://')) {
    const socket = dockerHost.slice('unix://'.length);
    return {
      env: [...nodeIp, { name: 'DOCKER_HOST', value: dockerHost }],
      mounts: [{ name: 'engine-socket', mountPath: socket }],
      volumes: [{ name: 'engine-socket', hostPath: { path: socket, type: 'Socket' } }],
    };
  }
  const secret = opts.engineTlsSecret ?? 'imgsdk-engine-tls';
  return {
    env: [
      ...nodeIp,
      { name: 'DOCKER_HOST', value: dockerHost },
      { name: 'DOCKER_TLS_VERIFY', value: '1' },
      { name: 'DOCKER_CERT_PATH', value: CERT_PATH },
    ],
    mounts: [{ name: 'engine-tls', mountPath: CERT_PATH, readOnly: true }],
    volumes: [{ name: 'engine-tls', secret: { secretName: secret } }],
  };
}

function secretEnv(name: string, secret: string, key: string): object {
  return { name, valueFrom: { secretKeyRef: { name: secret, key } } };
}

/** One DAG task of a Workflow as the process it runs: what a stand-in for Argo (a test's driver) executes. */
export interface ArgoCommand {
  readonly name: string;
  readonly dependencies: readonly string[];
  /** The container's command and arguments, parameters substituted. */
  readonly argv: readonly string[];
  /** The template's retry limit and expression. */
  readonly retries: number;
}

/**
 * The commands of a Workflow that `argoWorkflow` wrote, in DAG order, with its
 * parameters substituted as Argo would: a driver that stands in for Argo runs
 * exactly these, so what it proves holds for the file a cluster gets.
 * @example argoCommands(readFileSync('images.argo.yaml', 'utf8'))[0].argv // ['imgsdk', 'node', 'x/base', '--platform', 'linux/amd64', '--cache', 'r.example/ci']
 */
export function argoCommands(workflow: string): ArgoCommand[] {
  const doc = parse(workflow) as { spec: { entrypoint: string; templates: ArgoTemplate[] } };
  const templates = new Map(doc.spec.templates.map((t) => [t.name, t]));
  const dag = templates.get(doc.spec.entrypoint)?.dag;
  if (!dag) throw new UsageError(`the Workflow's entrypoint ${doc.spec.entrypoint} is not a DAG template`);
  return dag.tasks.map((task) => {
    const t = templates.get(task.template);
    if (!t?.container) throw new UsageError(`DAG task ${task.name}: template ${task.template} is not a container template`);
    const values = new Map((task.arguments?.parameters ?? []).map((p) => [p.name, p.value]));
    const fill = (s: string) =>
      s.replace(/\{\{inputs\.parameters\.([\w-]+)\}\}/g, (_, n: string) => {
        if (!values.has(n)) throw new UsageError(`DAG task ${task.name}: no value for parameter ${n}`);
        return values.get(n)!;
      });
    return {
      name: task.name,
      dependencies: task.dependencies ?? [],
      argv: [...t.container.command, ...t.container.args].map(fill),
      retries: Number(t.retryStrategy?.limit ?? 0),
    };
  });
}

interface ArgoTemplate {
  readonly name: string;
  readonly dag?: {
    readonly tasks: readonly {
      name: string;
      template: string;
      dependencies?: string[];
      arguments?: { parameters?: { name: string; value: string }[] };
    }[];
  };
  readonly container?: { readonly command: string[]; readonly args: string[] };
  readonly retryStrategy?: { readonly limit?: number | string };
}
