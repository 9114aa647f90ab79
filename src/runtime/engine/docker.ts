/**
 * The Engine on top of dockerode. Every dockerode call is wrapped once here:
 * status codes become EngineErrors (404 becomes null or false where "not there"
 * is an answer), and progress streams are read to the end, because the engine
 * reports a failed pull, load or import inside a 200 response.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import { CancelledError, EngineError } from '../../contract/errors';
import { splitRepoTag } from '../../contract/names';
import { trackContainer } from './cleanup';
import { DockerContainer } from './container';
import { connectionLost, watchingAgent } from './watch';
import type { Agent } from 'node:http';
import {
  engineKindOf,
  type ContainerHandle,
  type EngineKind,
  type ContainerInfo,
  type ContainerOptions,
  type Engine,
  type ImageInfo,
  type PullProgress,
  type RegistryAuth,
  type RunOptions,
  type RunResult,
  type VolumeInfo,
} from './engine';
import { LABEL_IMAGE, LABEL_OWNED } from '../../contract/labels';

// Where it always was, for its importers.
export { engineKindOf };

/** How to find the engine. */
export interface ConnectOptions {
  /** `unix:///path`, `tcp://host:port`, `ssh://user@host`. @default $DOCKER_HOST, then the default sockets */
  readonly host?: string;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** How long one ping may take. @default 5000 */
  readonly pingTimeoutMs?: number;
}

/**
 * Connects to the engine named by `opts.host` or `DOCKER_HOST`; without either,
 * to the first of Docker's socket, rootless Docker's and Podman's that answers a
 * ping. Throws one EngineError naming every place it looked when none answers.
 */
export async function connectEngine(opts: ConnectOptions = {}): Promise<Engine> {
  const env = opts.env ?? process.env;
  const timeout = opts.pingTimeoutMs ?? 5000;
  const explicit = opts.host ?? env.DOCKER_HOST;
  const candidates = explicit ? [explicit] : defaultHosts(env);
  const misses: string[] = [];
  for (const host of candidates) {
    const socket = socketOf(host);
    if (!explicit && socket && !existsSync(socket)) {
      misses.push(`${host}: no such socket`);
      continue;
    }
    const engine = new DockerEngine(new Docker(dockerOptions(host, env)), host);
    try {
      await ping(engine.docker, timeout);
      return engine;
    } catch (err) {
      misses.push(`${host}: ${reason(err, timeout)}`);
    }
  }
  const from = opts.host ? '' : explicit ? ' (from DOCKER_HOST)' : '';
  throw new EngineError(
    (explicit
      ? `no container engine answered at ${misses[0]}${from}.\n`
      : `no container engine answered. Looked at:\n${misses.map((m) => `  ${m}\n`).join('')}`) +
      'Start one (`sudo systemctl start docker`, `sudo dockerd &`, or `systemctl --user start podman.socket`), ' +
      'or set DOCKER_HOST to an engine that runs (unix:///path/to/docker.sock, tcp://host:2376, ssh://user@host).',
  );
}

/** An Engine on an existing dockerode client (tests, callers with their own config). */
export function engineFromDocker(docker: Docker, host = 'dockerode'): Engine {
  return new DockerEngine(docker, host);
}

function defaultHosts(env: NodeJS.ProcessEnv): string[] {
  const hosts = ['unix:///var/run/docker.sock'];
  if (env.XDG_RUNTIME_DIR) {
    hosts.push(`unix://${env.XDG_RUNTIME_DIR}/docker.sock`, `unix://${env.XDG_RUNTIME_DIR}/podman/podman.sock`);
  }
  hosts.push('unix:///run/podman/podman.sock');
  return hosts;
}

function socketOf(host: string): string | null {
  if (host.startsWith('unix://')) return host.slice('unix://'.length);
  if (host.startsWith('/')) return host;
  return null;
}

/** dockerode passes `agent` on to docker-modem; its types do not list it. */
function dockerOptions(host: string, env: NodeJS.ProcessEnv): Docker.DockerOptions & { agent?: Agent } {
  const socket = socketOf(host);
  // Every connection but ssh's (docker-modem makes its own agent there) goes through
  // an agent that turns a response cut short by a dying engine into an error.
  if (socket) return { socketPath: socket, agent: watchingAgent(false) };
  const url = new URL(host);
  if (url.protocol === 'ssh:') {
    return {
      protocol: 'ssh',
      host: url.hostname,
      port: url.port || 22,
      username: url.username || undefined,
      sshOptions: env.SSH_AUTH_SOCK ? { agent: env.SSH_AUTH_SOCK } : {},
    };
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EngineError(`unsupported engine address ${host}: use unix://, tcp://, http(s):// or ssh://`);
  }
  const tls = url.protocol === 'https:' || (!!env.DOCKER_TLS_VERIFY && env.DOCKER_TLS_VERIFY !== '0');
  const port = url.port || (tls ? '2376' : '2375');
  if (!tls) return { protocol: 'http', host: url.hostname, port, agent: watchingAgent(false) };
  const dir = env.DOCKER_CERT_PATH || join(homedir(), '.docker');
  const read = (f: string) => {
    try {
      return readFileSync(join(dir, f));
    } catch (err) {
      throw new EngineError(`TLS to ${host}: cannot read ${join(dir, f)} (set DOCKER_CERT_PATH)`, { cause: err });
    }
  };
  return {
    protocol: 'https',
    host: url.hostname,
    port,
    ca: read('ca.pem'),
    cert: read('cert.pem'),
    key: read('key.pem'),
    agent: watchingAgent(true),
  };
}

async function ping(docker: Docker, timeoutMs: number): Promise<void> {
  // dockerode's types miss the options overload of ping.
  const withOpts = docker.ping as unknown as (opts: { abortSignal: AbortSignal }) => Promise<unknown>;
  await withOpts.call(docker, { abortSignal: AbortSignal.timeout(timeoutMs) });
}

function reason(err: unknown, timeoutMs: number): string {
  const e = err as { code?: string; name?: string; message?: string };
  switch (e.code) {
    case 'ENOENT':
      return 'no such socket';
    case 'EACCES':
      return 'permission denied (add your user to the docker group, or use sudo)';
    case 'ECONNREFUSED':
      return 'connection refused (the engine is not running)';
  }
  if (e.name === 'AbortError' || e.name === 'TimeoutError' || e.code === 'ABORT_ERR') {
    return `no answer within ${timeoutMs / 1000} s`;
  }
  return e.message ?? String(err);
}

/** The message of a dockerode error, without its `(HTTP code 404) no such image - ` prefix. */
function detail(err: unknown): string {
  const e = err as { json?: { message?: string } | null; message?: string; code?: string };
  if (e.json && typeof e.json === 'object' && e.json.message) return e.json.message.trim();
  const m = /^\(HTTP code \d+\) [^-]*- (.*)$/s.exec(e.message ?? '');
  return (m ? m[1] : (e.message ?? String(err))).trim();
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}

/**
 * A reference as Docker spells it: Podman answers with fully qualified names
 * (`docker.io/imgsdk/nginx:latest`, `localhost/x:1`) where Docker says
 * `imgsdk/nginx:latest`, `x:1`.
 * @example familiarName('docker.io/library/debian:12') // 'debian:12'
 */
export function familiarName(ref: string): string {
  for (const prefix of ['docker.io/library/', 'docker.io/', 'localhost/']) {
    if (ref.startsWith(prefix)) return ref.slice(prefix.length);
  }
  return ref;
}

/**
 * The names a `load` reported: Docker sends one `Loaded image: x` (or
 * `Loaded image ID: sha256:…`) line per image, Podman one
 * `Loaded image(s): a,b` line (sometimes `Loaded image: a,b`).
 */
export function loadedNames(events: readonly Record<string, unknown>[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    for (const line of String(e.stream ?? '').split('\n')) {
      const m = /^Loaded image(?:\(s\)| ID)?: (.+)$/.exec(line.trim());
      if (m)
        out.push(
          ...m[1]
            .split(',')
            .map((n) => familiarName(n.trim()))
            .filter(Boolean),
        );
    }
  }
  return out;
}

/**
 * A Dockerfile change as Podman takes it. Podman reads `LABEL k=rest of line` as one
 * label (dropping only quotes around the whole value), so Docker's `LABEL a="1" b=c`
 * becomes one LABEL per pair, each value quoted once.
 * @example podmanChange('LABEL a="1" b="two words"') // ['LABEL a="1"', 'LABEL b="two words"']
 */
export function podmanChange(change: string): string[] {
  const m = /^LABEL\s+(.*)$/is.exec(change.trim());
  if (!m) return [change];
  const out: string[] = [];
  const re = /([^\s=]+)=(?:"((?:[^"\\]|\\.)*)"|(\S*))\s*/gy;
  let pair: RegExpExecArray | null;
  let end = 0;
  while ((pair = re.exec(m[1]))) {
    const value = pair[2] !== undefined ? pair[2].replace(/\\(.)/g, '$1') : pair[3];
    out.push(`LABEL ${pair[1]}="${value}"`);
    end = re.lastIndex;
  }
  // Not key=value pairs throughout (`LABEL key value`): as written.
  return end === m[1].length && out.length ? out : [change];
}

class DockerEngine implements Engine {
  private kindP: Promise<EngineKind> | undefined;

  constructor(
    readonly docker: Docker,
    readonly host: string,
  ) {}

  kind(): Promise<EngineKind> {
    return (this.kindP ??= this.docker.version().then(
      (v) => engineKindOf(v as { Components?: { Name?: string }[] }),
      (err: unknown) => {
        this.kindP = undefined;
        throw this.fail('version', err);
      },
    ));
  }

  /**
   * Whether Podman answers. An engine that does not answer the version request is
   * taken for Docker here (and asked again next time): the request that follows
   * fails with its own, more telling error.
   */
  private isPodman(): Promise<boolean> {
    return this.kind().then(
      (k) => k === 'podman',
      () => false,
    );
  }

  /**
   * All containers, on Podman: its list fails with `container not known` when a
   * container goes away while it is being listed; asked again then (three times).
   */
  private async podmanContainers(): Promise<Docker.ContainerInfo[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.docker.listContainers({ all: true });
      } catch (err) {
        if (attempt >= 3 || !/container not known|no such container/i.test(detail(err))) throw err;
      }
    }
  }

  /**
   * Docker speaks plain http to a registry on a loopback address (127.0.0.0/8 is an
   * insecure registry by default); Podman only when told, with `tlsVerify=false`.
   */
  private async registryQuery(ref: string): Promise<Record<string, unknown>> {
    const host = ref.split('/')[0];
    const loopback = ref.includes('/') && /^(localhost|127\.[\d.]+|\[::1\])(:\d+)?$/.test(host);
    return loopback && (await this.isPodman()) ? { tlsVerify: false } : {};
  }

  /** Podman's own pull (`/libpod/images/pull`) from a plain-http registry; its progress stream. */
  private libpodPull(ref: string): Promise<NodeJS.ReadableStream> {
    return new Promise((resolve, reject) => {
      this.docker.modem.dial(
        {
          path: '/v4.0.0/libpod/images/pull?',
          method: 'POST',
          options: { reference: ref, tlsVerify: false },
          isStream: true,
          statusCodes: { 200: true, 400: 'bad parameter', 404: 'no such image', 500: 'server error' },
        },
        (err: unknown, data: unknown) => (err ? reject(err) : resolve(data as NodeJS.ReadableStream)),
      );
    });
  }

  /** repoTags as Docker spells them, whichever engine answered. */
  private async names(tags: readonly string[] | null | undefined): Promise<string[]> {
    const list = (tags ?? []).filter((t) => t !== '<none>:<none>');
    return (await this.isPodman()) ? list.map(familiarName) : list;
  }

  private fail(what: string, err: unknown): EngineError {
    if (err instanceof EngineError || err instanceof CancelledError) return err;
    const code = (err as { code?: string }).code;
    if (code && /^(ECONNRESET|EPIPE|ERR_STREAM_PREMATURE_CLOSE)$/.test(code)) {
      return new EngineError(`${what}: the engine at ${this.host} went away mid-request (${code}): was it stopped or restarted?`, {
        cause: err,
      });
    }
    if (code && /^(ECONNREFUSED|ENOENT|EACCES)$/.test(code)) {
      return new EngineError(`${what}: the engine at ${this.host} did not answer (${code})`, { cause: err });
    }
    return new EngineError(`${what}: ${detail(err)}`, { cause: err, statusCode: statusOf(err) });
  }

  /** Reads a progress stream to the end; an `error` event in it is a failure. */
  private follow(stream: NodeJS.ReadableStream, what: string, onEvent?: (e: Record<string, unknown>) => void) {
    return new Promise<Record<string, unknown>[]>((resolve, reject) => {
      // followProgress takes a `close` without an `end` for the end of the stream.
      let ended = false;
      stream.once('end', () => (ended = true));
      this.docker.modem.followProgress(
        stream,
        (err: unknown, out: Record<string, unknown>[]) => {
          if (err) return reject(this.fail(what, err));
          if (!ended) return reject(this.fail(what, connectionLost()));
          const bad = out.find((e) => e.error || e.errorDetail);
          if (bad) return reject(new EngineError(`${what}: ${String(bad.error ?? JSON.stringify(bad.errorDetail))}`));
          resolve(out);
        },
        onEvent,
      );
    });
  }

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      throw this.fail('ping', err);
    }
  }

  async inspectImage(ref: string): Promise<ImageInfo | null> {
    try {
      const i = await this.docker.getImage(ref).inspect();
      return {
        id: i.Id,
        repoTags: await this.names(i.RepoTags),
        labels: i.Config?.Labels ?? {},
        size: i.Size,
        ...(i.RootFS?.Layers ? { layers: i.RootFS.Layers } : {}),
      };
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw this.fail(`inspect image ${ref}`, err);
    }
  }

  async imageExists(ref: string): Promise<boolean> {
    return (await this.inspectImage(ref)) !== null;
  }

  async removeImage(ref: string, opts: { force?: boolean; noprune?: boolean } = {}): Promise<boolean> {
    try {
      await this.docker.getImage(ref).remove({ force: opts.force ?? false, noprune: opts.noprune ?? false });
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw this.fail(`remove image ${ref}`, err);
    }
  }

  async tagImage(ref: string, repo: string, tag: string): Promise<void> {
    try {
      await this.docker.getImage(ref).tag({ repo, tag });
    } catch (err) {
      if (statusOf(err) === 404) throw new EngineError(`tag ${ref} as ${repo}:${tag}: no such image`, { statusCode: 404 });
      throw this.fail(`tag ${ref} as ${repo}:${tag}`, err);
    }
  }

  async loadImage(tar: Readable): Promise<string[]> {
    let events: Record<string, unknown>[];
    try {
      events = await this.follow(await this.docker.loadImage(tar, { quiet: true }), 'load image');
    } catch (err) {
      throw this.fail('load image', err);
    }
    return loadedNames(events);
  }

  async importImage(tar: Readable, repoTag: string | null, opts: { changes?: readonly string[]; platform?: string } = {}): Promise<string> {
    const what = `import image${repoTag ? ' ' + repoTag : ''}`;
    const podman = await this.isPodman();
    const changes = podman ? (opts.changes ?? []).flatMap(podmanChange) : [...(opts.changes ?? [])];
    const query: Record<string, unknown> = { changes };
    if (opts.platform) query.platform = opts.platform;
    // Podman 4 drops an import's tag (it names the image `repo:latest`, moving
    // that tag): it imports untagged, and the tag follows once the import is whole.
    if (repoTag && !podman) Object.assign(query, splitRepoTag(repoTag));
    try {
      const events = await this.follow(await this.docker.importImage(tar, query), what);
      const reported = events.map((e) => String(e.status ?? '').trim()).find((s) => /^sha256:[0-9a-f]{64}$/.test(s));
      const info = !reported && repoTag && !podman ? await this.inspectImage(repoTag) : null;
      const id = reported ?? info?.id;
      if (!id) throw new EngineError(`${what}: the engine did not report an image id`);
      if (repoTag && podman) {
        const { repo, tag } = splitRepoTag(repoTag);
        await this.tagImage(id, repo, tag);
      }
      return id;
    } catch (err) {
      throw this.fail(what, err);
    }
  }

  async pullImage(ref: string, onProgress?: (event: PullProgress) => void): Promise<void> {
    try {
      const insecure = await this.registryQuery(ref);
      // Podman's Docker-compatible pull has no tlsVerify: its own pull endpoint has.
      const stream = insecure.tlsVerify === false ? await this.libpodPull(ref) : await this.docker.pull(ref);
      await this.follow(stream, `pull ${ref}`, onProgress);
    } catch (err) {
      if (statusOf(err) === 404) throw new EngineError(`pull ${ref}: no such image in the registry`, { statusCode: 404 });
      throw this.fail(`pull ${ref}`, err);
    }
  }

  async pushImage(
    ref: string,
    opts: { auth?: RegistryAuth; onProgress?: (event: PullProgress) => void } = {},
  ): Promise<{ digest: string | null }> {
    const { repo, tag } = splitRepoTag(ref);
    let digest: string | null = null;
    try {
      // Docker wants X-Registry-Auth even for an anonymous push; `{}` is "no credentials".
      const stream = await this.docker
        .getImage(repo)
        .push({ tag, authconfig: opts.auth ?? {}, ...(await this.registryQuery(ref)) } as Docker.ImagePushOptions);
      await this.follow(stream, `push ${ref}`, (e) => {
        const aux = e.aux as { Digest?: string } | undefined;
        if (aux?.Digest) digest = aux.Digest;
        // Podman sends no aux, only Docker's closing status line.
        const status = /^\S+: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(String(e.status ?? ''));
        if (status && !digest) digest = status[1];
        opts.onProgress?.(e as PullProgress);
      });
      return { digest };
    } catch (err) {
      if (statusOf(err) === 404) throw new EngineError(`push ${ref}: no such image`, { statusCode: 404 });
      throw this.fail(`push ${ref}`, err);
    }
  }

  async listImages(opts: { label?: string } = {}): Promise<ImageInfo[]> {
    try {
      const list = await this.docker.listImages(opts.label ? { filters: { label: [opts.label] } } : {});
      const out: ImageInfo[] = [];
      for (const i of list) out.push({ id: i.Id, repoTags: await this.names(i.RepoTags), labels: i.Labels ?? {}, size: i.Size });
      return out;
    } catch (err) {
      throw this.fail('list images', err);
    }
  }

  async listContainers(opts: { label?: string; all?: boolean } = {}): Promise<ContainerInfo[]> {
    try {
      const list = await this.docker.listContainers({
        all: opts.all ?? false,
        ...(opts.label ? { filters: { label: [opts.label] } } : {}),
      });
      return list.map((c) => ({
        id: c.Id,
        names: c.Names.map((n) => n.replace(/^\//, '')),
        image: c.Image,
        labels: c.Labels ?? {},
        state: c.State,
      }));
    } catch (err) {
      throw this.fail('list containers', err);
    }
  }

  async listVolumes(opts: { prefix?: string; unused?: boolean } = {}): Promise<VolumeInfo[]> {
    const filters: Record<string, string[]> = {};
    // The engine's name filter matches anywhere in the name: the prefix is checked below.
    if (opts.prefix) filters.name = [opts.prefix];
    // Podman's dangling filter overlooks containers that were created but never
    // started: there, the volumes every container mounts are left out here instead.
    const podman = opts.unused && (await this.isPodman());
    if (opts.unused && !podman) filters.dangling = ['true'];
    try {
      const r = await this.docker.listVolumes({ filters });
      const used = new Set<string>();
      if (podman) {
        for (const c of await this.podmanContainers()) for (const m of c.Mounts ?? []) if (m.Name) used.add(m.Name);
      }
      return (r.Volumes ?? [])
        .filter((v) => (!opts.prefix || v.Name.startsWith(opts.prefix)) && !used.has(v.Name))
        .map((v) => ({ name: v.Name, labels: (v.Labels as Record<string, string> | null) ?? {} }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (err) {
      throw this.fail('list volumes', err);
    }
  }

  async removeVolume(name: string): Promise<boolean> {
    try {
      await this.docker.getVolume(name).remove();
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      if (statusOf(err) === 409) throw new EngineError(`remove volume ${name}: a container uses it`, { cause: err, statusCode: 409 });
      throw this.fail(`remove volume ${name}`, err);
    }
  }

  async removeContainer(id: string): Promise<boolean> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
      return true;
    } catch (err) {
      // 409: a removal is already in progress, which is what we want.
      if (statusOf(err) === 404 || statusOf(err) === 409) return statusOf(err) === 409;
      throw this.fail(`remove container ${id}`, err);
    }
  }

  async withContainer<T>(opts: ContainerOptions, fn: (c: ContainerHandle) => Promise<T>): Promise<T> {
    const { signal } = opts;
    const cancelled = () => new CancelledError(`cancelled: container for ${opts.forImage ?? opts.image}`);
    if (signal?.aborted) throw cancelled();
    // Named before creation, so a signal that arrives while the create request
    // is in flight still finds the container.
    const name = `imgsdk-${randomBytes(8).toString('hex')}`;
    // One DELETE shared by the abort, the signal handler and the finally: a second
    // request would get 409 (in progress) and return before the container is gone.
    let removing: Promise<boolean> | undefined;
    const remove = () => (removing ??= this.removeContainer(name).catch(() => false));
    let settled = false;
    const untrack = trackContainer(name, remove);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        void remove();
        reject(cancelled());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    try {
      const work = (async () => {
        const container = await this.create(name, opts);
        if (settled) {
          // Aborted while the create was in flight: the shared removal found nothing.
          await this.removeContainer(name).catch(() => false);
          throw cancelled();
        }
        return fn(new DockerContainer((what, err) => this.fail(what, err), container, name));
      })();
      // The work goes on in the background after an abort; its errors are moot.
      work.catch(() => undefined);
      return await Promise.race([work, aborted]);
    } catch (err) {
      if (signal?.aborted) throw cancelled();
      throw err;
    } finally {
      settled = true;
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      await remove();
      untrack();
    }
  }

  async runContainer(opts: RunOptions): Promise<RunResult> {
    return this.withContainer(opts, async (c) => {
      for (const p of opts.put ?? []) await c.putArchive(p.path, p.tar);
      const exitCode = await c.run({ onOutput: opts.onOutput });
      return { exitCode, tail: c.tail() };
    });
  }

  private async create(name: string, opts: ContainerOptions): Promise<Docker.Container> {
    const labels: Record<string, string> = { ...opts.labels, [LABEL_OWNED]: '1' };
    if (opts.forImage) labels[LABEL_IMAGE] = opts.forImage;
    try {
      return await this.docker.createContainer({
        name,
        Image: opts.image,
        Entrypoint: opts.entrypoint ? [...opts.entrypoint] : undefined,
        Cmd: [...opts.cmd],
        Env: Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`),
        WorkingDir: opts.workdir,
        User: opts.user,
        Labels: labels,
        Tty: false,
        AttachStdout: true,
        AttachStderr: true,
        HostConfig: {
          NetworkMode: opts.network,
          Mounts: (opts.mounts ?? []).map((m) => ({
            Type: 'volume' as const,
            Source: m.volume,
            Target: m.target,
            ReadOnly: m.readOnly ?? false,
            // The API takes VolumeOptions fields one by one; the types ask for all (NoCopy, DriverConfig).
            ...(m.labels ? { VolumeOptions: { Labels: { ...m.labels } } as Docker.MountSettings['VolumeOptions'] } : {}),
          })),
        },
      });
    } catch (err) {
      if (statusOf(err) === 404) throw new EngineError(`run ${opts.image}: no such image`, { cause: err, statusCode: 404 });
      throw this.fail(`create container from ${opts.image}`, err);
    }
  }
}
