/**
 * A stand-in for Argo Workflows: reads a `Workflow` (what `imgsdk ci argo` writes)
 * and runs its DAG as Argo's controller would, each task's container as a separate
 * process on this machine. There is no Kubernetes here, so this is what the tests
 * and the load figure use instead (docs/scale.md says what it does not cover).
 *
 * It reads the Workflow itself, not through the generator's code: a misreading
 * shared by both would otherwise go unnoticed. As Argo does, it
 * - starts a task once every task it `dependencies` names has succeeded, and omits
 *   the tasks below one that failed for good;
 * - runs the template's container `command` + `args` with `{{inputs.parameters.*}}`
 *   filled from the task's `arguments`, in the template's `workingDir` (here: the
 *   app's directory) with its plain `env` values;
 * - gives each attempt a fresh filesystem (here: its own empty state and assembly
 *   directories, as a new pod's emptyDir) and a node (here: one of the engines,
 *   `DOCKER_HOST`, the least busy one, as the scheduler spreads pods);
 * - retries an attempt as the template's `retryStrategy` says: up to `limit` more
 *   times when its `expression` holds (`asInt(lastRetry.exitCode) == 75`,
 *   `lastRetry.status == "Error"`), with no backoff wait (Argo would wait
 *   `backoff.duration`; the test has no use for the time).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

/** One DAG task, as the driver runs it. */
export interface DriverTask {
  readonly name: string;
  readonly dependencies: readonly string[];
  /** The container's command and args, parameters filled. */
  readonly argv: readonly string[];
  /** The container's env entries that have a plain value (Secrets are the cluster's). */
  readonly env: Readonly<Record<string, string>>;
  /** More attempts after the first, when `retryOn` holds. */
  readonly retryLimit: number;
  /** The retryStrategy's expression, read: whether an attempt that ended so is retried. */
  readonly retryOn: (exitCode: number | null, status: 'Failed' | 'Error') => boolean;
}

interface Template {
  readonly name: string;
  readonly dag?: {
    readonly tasks: readonly {
      name: string;
      template: string;
      dependencies?: string[];
      arguments?: { parameters?: { name: string; value: string }[] };
    }[];
  };
  readonly container?: { command?: string[]; args?: string[]; env?: { name: string; value?: string }[] };
  readonly retryStrategy?: { limit?: number | string; retryPolicy?: string; expression?: string };
}

/**
 * The tasks of a Workflow's entrypoint DAG, in the file's order. Refuses what this
 * stand-in cannot run as Argo would (a non-DAG entrypoint, a template that is not a
 * container, a parameter without a value, an expression it cannot read).
 */
export function readWorkflow(yamlText: string): DriverTask[] {
  const doc = parse(yamlText) as { apiVersion?: string; kind?: string; spec: { entrypoint: string; templates: Template[] } };
  if (doc.apiVersion !== 'argoproj.io/v1alpha1' || doc.kind !== 'Workflow')
    throw new Error(`not an Argo Workflow: ${doc.apiVersion} ${doc.kind}`);
  const templates = new Map(doc.spec.templates.map((t) => [t.name, t]));
  const dag = templates.get(doc.spec.entrypoint)?.dag;
  if (!dag) throw new Error(`the entrypoint ${doc.spec.entrypoint} is not a DAG template`);
  const names = new Set(dag.tasks.map((t) => t.name));
  return dag.tasks.map((task) => {
    const t = templates.get(task.template);
    if (!t?.container) throw new Error(`task ${task.name}: template ${task.template} is not a container template`);
    for (const d of task.dependencies ?? []) if (!names.has(d)) throw new Error(`task ${task.name} depends on ${d}, which is no task`);
    const values = new Map((task.arguments?.parameters ?? []).map((p) => [p.name, String(p.value)]));
    const fill = (s: string) =>
      s.replace(/\{\{\s*inputs\.parameters\.([\w-]+)\s*\}\}/g, (_, n: string) => {
        if (!values.has(n)) throw new Error(`task ${task.name}: no value for parameter ${n}`);
        return values.get(n)!;
      });
    const env: Record<string, string> = {};
    for (const e of t.container.env ?? []) if (e.value !== undefined) env[e.name] = fill(e.value);
    return {
      name: task.name,
      dependencies: task.dependencies ?? [],
      argv: [...(t.container.command ?? []), ...(t.container.args ?? [])].map(fill),
      env,
      retryLimit: Number(t.retryStrategy?.limit ?? 0),
      retryOn: retryRule(task.name, t.retryStrategy),
    };
  });
}

/**
 * Argo's retryStrategy as a predicate. Of the expression language (expr) it reads
 * what a generated Workflow uses: `||`-joined comparisons of `asInt(lastRetry.exitCode)`
 * with a number and of `lastRetry.status` with a string. `retryPolicy` Always (or
 * an expression) retries failures and errors; OnFailure failures, OnError errors.
 */
function retryRule(task: string, rs: Template['retryStrategy']): DriverTask['retryOn'] {
  if (!rs) return () => false;
  const policy = rs.retryPolicy ?? 'OnFailure';
  const byPolicy = (status: 'Failed' | 'Error') =>
    policy === 'Always' || (policy === 'OnFailure' ? status === 'Failed' : policy === 'OnError' ? status === 'Error' : true);
  if (!rs.expression) return (_code, status) => byPolicy(status);
  const terms = rs.expression.split('||').map((term) => {
    const code = /^\s*asInt\(\s*lastRetry\.exitCode\s*\)\s*==\s*(\d+)\s*$/.exec(term);
    if (code) return (c: number | null) => c === Number(code[1]);
    const status = /^\s*lastRetry\.status\s*==\s*"(\w+)"\s*$/.exec(term);
    if (status) return (_c: number | null, s: string) => s === status[1];
    throw new Error(`task ${task}: retryStrategy expression term "${term.trim()}" is not one this driver reads`);
  });
  return (c, s) => byPolicy(s) && terms.some((t) => t(c, s));
}

/** One attempt of a task: where it ran, how it ended, what it printed last. */
export interface Attempt {
  readonly task: string;
  readonly attempt: number;
  readonly engine: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last stdout line, parsed (the node's result), or null. */
  readonly result: Record<string, unknown> | null;
  readonly ms: number;
  /** Temp files (`*.tmp`) its state directory held when it ended. */
  readonly tempFiles: readonly string[];
  /** Set when the driver interrupted this attempt (RunOptions.interrupt). */
  readonly interrupted: boolean;
  readonly stderr: string;
}

export interface RunOptions {
  /** `DOCKER_HOST` of each engine (a node of the cluster). */
  readonly engines: readonly string[];
  /** The app's directory: the runner image's `workingDir`. */
  readonly cwd: string;
  /** How `imgsdk` (the container's command) runs here. */
  readonly imgsdk: readonly string[];
  /** Tasks running at once. @default 2 per engine */
  readonly parallelism?: number;
  /** Added to every task's environment. @default none */
  readonly env?: Readonly<Record<string, string>>;
  /** Interrupt (SIGTERM, as Kubernetes stops a pod) the first attempt of `task` when its stderr matches `when`. */
  readonly interrupt?: { readonly task: string; readonly when: RegExp };
  /** Each attempt as it ends. */
  readonly onAttempt?: (a: Attempt) => void;
}

export interface RunResult {
  /** Every task succeeded. */
  readonly ok: boolean;
  readonly attempts: readonly Attempt[];
  /** Each task's final state. */
  readonly tasks: ReadonlyMap<string, 'Succeeded' | 'Failed' | 'Omitted'>;
  readonly wallMs: number;
}

/** Runs the DAG's tasks as processes, each attempt on one of the engines; resolves when nothing more can run. */
export async function runWorkflow(tasks: readonly DriverTask[], opts: RunOptions): Promise<RunResult> {
  const start = Date.now();
  const parallelism = opts.parallelism ?? opts.engines.length * 2;
  const state = new Map<string, 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Omitted'>(tasks.map((t) => [t.name, 'Pending']));
  const busy = new Map(opts.engines.map((e) => [e, 0]));
  const attempts: Attempt[] = [];
  let interrupted = false;
  return new Promise((resolveRun) => {
    const schedule = () => {
      // Below a task that failed for good nothing runs (Argo marks it Omitted).
      for (const t of tasks)
        if (state.get(t.name) === 'Pending' && t.dependencies.some((d) => ['Failed', 'Omitted'].includes(state.get(d)!)))
          state.set(t.name, 'Omitted');
      let running = [...state.values()].filter((s) => s === 'Running').length;
      for (const t of tasks) {
        if (running >= parallelism) break;
        if (state.get(t.name) !== 'Pending' || !t.dependencies.every((d) => state.get(d) === 'Succeeded')) continue;
        state.set(t.name, 'Running');
        running++;
        void runTask(t).then((ok) => {
          state.set(t.name, ok ? 'Succeeded' : 'Failed');
          schedule();
        });
      }
      if (running === 0)
        resolveRun({
          ok: [...state.values()].every((s) => s === 'Succeeded'),
          attempts,
          tasks: state as ReadonlyMap<string, 'Succeeded' | 'Failed' | 'Omitted'>,
          wallMs: Date.now() - start,
        });
    };
    const runTask = async (t: DriverTask): Promise<boolean> => {
      for (let n = 1; ; n++) {
        const engine = [...busy.entries()].sort((a, b) => a[1] - b[1])[0][0];
        busy.set(engine, busy.get(engine)! + 1);
        const kill = !interrupted && opts.interrupt?.task === t.name ? opts.interrupt.when : null;
        if (kill) interrupted = true;
        const a = await runAttempt(t, n, engine, kill, opts).finally(() => busy.set(engine, busy.get(engine)! - 1));
        attempts.push(a);
        opts.onAttempt?.(a);
        if (a.exitCode === 0) return true;
        // A process killed by a signal is a pod that errored; one that exited non-zero failed.
        const status = a.signal ? 'Error' : 'Failed';
        if (n > t.retryLimit || !t.retryOn(a.exitCode, status)) return false;
      }
    };
    schedule();
  });
}

/** One attempt: a fresh state and assembly directory, the task's command, the engine as DOCKER_HOST. */
function runAttempt(t: DriverTask, n: number, engine: string, kill: RegExp | null, opts: RunOptions): Promise<Attempt> {
  const pod = mkdtempSync(join(tmpdir(), 'imgsdk-argo-pod-'));
  const [cmd, ...args] = t.argv;
  if (cmd !== 'imgsdk') throw new Error(`task ${t.name}: the container runs ${cmd}, not imgsdk`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...t.env,
    ...opts.env,
    DOCKER_HOST: engine,
    IMGSDK_STATE_DIR: join(pod, 'state'),
    IMGSDK_OUTDIR: join(pod, 'out'),
  };
  // The engines here are unix sockets: the template's TLS settings are for its tcp:// default.
  delete env.DOCKER_TLS_VERIFY;
  delete env.DOCKER_CERT_PATH;
  const t0 = Date.now();
  const child = spawn(opts.imgsdk[0], [...opts.imgsdk.slice(1), ...args], { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let killed = false;
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (kill && !killed && kill.test(stderr)) {
      killed = true;
      child.kill('SIGTERM');
    }
  });
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      let result: Record<string, unknown> | null = null;
      try {
        result = last.startsWith('{') ? (JSON.parse(last) as Record<string, unknown>) : null;
      } catch {
        result = null;
      }
      const tempFiles = listTemp(join(pod, 'state'));
      rmSync(pod, { recursive: true, force: true });
      resolve({
        task: t.name,
        attempt: n,
        engine,
        exitCode: code,
        signal,
        result,
        ms: Date.now() - t0,
        tempFiles,
        interrupted: killed,
        stderr: stderr.slice(-4000),
      });
    });
  });
}

function listTemp(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let items: string[];
    try {
      items = readdirSync(d);
    } catch {
      return;
    }
    for (const name of items) {
      const p = join(d, name);
      if (statSync(p, { throwIfNoEntry: false })?.isDirectory()) walk(p);
      else if (/\.(tmp|stale)$/.test(name)) out.push(p.slice(dir.length + 1));
    }
  };
  walk(dir);
  return out;
}
