/**
 * The engine as a deploy connects to it: the calls a deploy of cached images makes
 * (ping, inspect, list containers, tag) go straight to the engine's unix socket
 * with node:http; dockerode (which loads ssh2 and gRPC, most of a no-op deploy's
 * start-up) is loaded only for the first call that builds something. Engines on
 * tcp:// or ssh:// get dockerode from the start.
 */
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import type { Readable } from 'node:stream';
import { EngineError } from '../../contract/errors';
import type { ConnectOptions } from './docker';
import {
  engineKindOf,
  type ContainerHandle,
  type ContainerInfo,
  type ContainerOptions,
  type Engine,
  type EngineKind,
  type ImageInfo,
  type PullProgress,
  type RegistryAuth,
  type RunOptions,
  type RunResult,
  type VolumeInfo,
} from './engine';

type Docker = typeof import('./docker');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const docker = (): Docker => require('./docker') as Docker;

/**
 * Like {@link import('./docker').connectEngine}, but on a unix socket without
 * loading dockerode until something is built. The same error when no engine answers.
 * @example const engine = await connectEngine(); await engine.inspectImage('imgsdk/nginx:latest');
 */
export async function connectEngine(opts: ConnectOptions = {}): Promise<Engine> {
  const env = opts.env ?? process.env;
  const explicit = opts.host ?? env.DOCKER_HOST;
  const candidates = explicit
    ? [explicit]
    : [
        'unix:///var/run/docker.sock',
        ...(env.XDG_RUNTIME_DIR ? [`unix://${env.XDG_RUNTIME_DIR}/docker.sock`, `unix://${env.XDG_RUNTIME_DIR}/podman/podman.sock`] : []),
        'unix:///run/podman/podman.sock',
      ];
  for (const host of candidates) {
    const socket = host.startsWith('unix://') ? host.slice('unix://'.length) : host.startsWith('/') ? host : null;
    if (!socket) break;
    if (!existsSync(socket)) continue;
    const engine = new SocketEngine(socket, host, opts);
    if (
      await engine.ping(opts.pingTimeoutMs ?? 5000).then(
        () => true,
        () => false,
      )
    )
      return engine;
  }
  // Anything else (tcp, ssh, nothing answering): dockerode's connect, with its messages.
  return docker().connectEngine(opts);
}

/** An engine on a unix socket: a few calls over node:http, the rest through dockerode, loaded when first needed. */
class SocketEngine implements Engine {
  private full: Promise<Engine> | undefined;
  private kindP: Promise<EngineKind> | undefined;
  constructor(
    private readonly socket: string,
    readonly host: string,
    private readonly opts: ConnectOptions,
  ) {}

  /** The dockerode engine, connected on first use. */
  private heavy(): Promise<Engine> {
    return (this.full ??= docker().connectEngine({ ...this.opts, host: this.host }));
  }

  /** One request; the parsed JSON body (null for none), or null on 404 when `missing` allows it. */
  private call<T>(method: string, path: string, what: string, timeoutMs?: number): Promise<{ status: number; body: T | null }> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socket,
          method,
          path,
          headers: { host: 'docker' },
          ...(timeoutMs ? { signal: AbortSignal.timeout(timeoutMs) } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('error', (err) => reject(this.fail(what, err)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            let body: unknown = null;
            try {
              body = text && /json/.test(res.headers['content-type'] ?? '') ? JSON.parse(text) : null;
            } catch {
              body = null;
            }
            if (status >= 400 && status !== 404) {
              const message = (body as { message?: string } | null)?.message ?? text.trim();
              return reject(new EngineError(`${what}: ${message}`, { statusCode: status }));
            }
            resolve({ status, body: body as T | null });
          });
        },
      );
      req.on('error', (err) => reject(this.fail(what, err)));
      req.end();
    });
  }

  private fail(what: string, err: unknown): EngineError {
    const code = (err as { code?: string }).code ?? (err as Error).name;
    if (/^(ECONNRESET|EPIPE)$/.test(code))
      return new EngineError(`${what}: the engine at ${this.host} went away mid-request (${code}): was it stopped or restarted?`, {
        cause: err,
      });
    return new EngineError(`${what}: the engine at ${this.host} did not answer (${code})`, { cause: err });
  }

  async ping(timeoutMs?: number): Promise<void> {
    const r = await this.call('GET', '/_ping', 'ping', timeoutMs);
    if (r.status !== 200) throw new EngineError(`ping: the engine at ${this.host} answered ${r.status}`);
  }

  async inspectImage(ref: string): Promise<ImageInfo | null> {
    const r = await this.call<{
      Id: string;
      RepoTags?: string[] | null;
      Config?: { Labels?: Record<string, string> | null } | null;
      Size: number;
      RootFS?: { Layers?: string[] | null } | null;
    }>('GET', `/images/${encodeURIComponent(ref)}/json`, `inspect image ${ref}`);
    if (r.status === 404 || !r.body) return null;
    const i = r.body;
    return {
      id: i.Id,
      repoTags: i.RepoTags ?? [],
      labels: i.Config?.Labels ?? {},
      size: i.Size,
      ...(i.RootFS?.Layers ? { layers: i.RootFS.Layers } : {}),
    };
  }

  /** Docker or Podman, asked once (as the dockerode engine does). */
  kind(): Promise<EngineKind> {
    return (this.kindP ??= this.call<{ Components?: { Name?: string }[] | null }>('GET', '/version', 'version').then(
      (r) => engineKindOf(r.body ?? {}),
      (err: unknown) => {
        this.kindP = undefined;
        throw err;
      },
    ));
  }

  async imageExists(ref: string): Promise<boolean> {
    return (await this.inspectImage(ref)) !== null;
  }

  async tagImage(ref: string, repo: string, tag: string): Promise<void> {
    const r = await this.call(
      'POST',
      `/images/${encodeURIComponent(ref)}/tag?${new URLSearchParams({ repo, tag })}`,
      `tag ${ref} as ${repo}:${tag}`,
    );
    if (r.status === 404) throw new EngineError(`tag ${ref} as ${repo}:${tag}: no such image`, { statusCode: 404 });
  }

  async listContainers(opts: { readonly label?: string; readonly all?: boolean } = {}): Promise<ContainerInfo[]> {
    const q = new URLSearchParams({
      all: opts.all ? '1' : '0',
      ...(opts.label ? { filters: JSON.stringify({ label: [opts.label] }) } : {}),
    });
    const r = await this.call<{ Id: string; Names: string[]; Image: string; Labels?: Record<string, string> | null; State: string }[]>(
      'GET',
      `/containers/json?${q}`,
      'list containers',
    );
    return (r.body ?? []).map((c) => ({
      id: c.Id,
      names: c.Names.map((n) => n.replace(/^\//, '')),
      image: c.Image,
      labels: c.Labels ?? {},
      state: c.State,
    }));
  }

  async removeImage(ref: string, opts?: { readonly force?: boolean; readonly noprune?: boolean }): Promise<boolean> {
    return (await this.heavy()).removeImage(ref, opts);
  }
  /** `docker load`, the tar streamed in; a failure reported inside the 200 response rejects too. */
  loadImage(tar: Readable): Promise<string[]> {
    const what = 'load image';
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (e: unknown) => {
        if (!settled) ((settled = true), reject(e instanceof EngineError ? e : this.fail(what, e)));
      };
      const req = request(
        {
          socketPath: this.socket,
          method: 'POST',
          path: '/images/load?quiet=1',
          headers: { host: 'docker', 'content-type': 'application/x-tar' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('error', fail);
          res.on('close', () => {
            if (!res.complete) return fail(Object.assign(new Error('the response was cut short'), { code: 'ECONNRESET' }));
            const text = Buffer.concat(chunks).toString('utf8');
            if ((res.statusCode ?? 0) >= 400) {
              let message = text.trim();
              try {
                message = (JSON.parse(text) as { message?: string }).message ?? message;
              } catch {
                // not JSON: the text as it is
              }
              return fail(new EngineError(`${what}: ${message}`, { statusCode: res.statusCode }));
            }
            const loaded: string[] = [];
            for (const line of text.split('\n')) {
              if (!line.trim()) continue;
              let e: { stream?: string; error?: string; errorDetail?: unknown };
              try {
                e = JSON.parse(line) as typeof e;
              } catch {
                continue;
              }
              if (e.error || e.errorDetail) return fail(new EngineError(`${what}: ${String(e.error ?? JSON.stringify(e.errorDetail))}`));
              const m = /^Loaded image(?: ID)?: (\S+)/.exec(String(e.stream ?? ''));
              if (m) loaded.push(m[1]);
            }
            if (!settled) ((settled = true), resolve(loaded));
          });
        },
      );
      req.on('error', fail);
      // A tar that fails midway aborts the request: the engine loads nothing.
      tar.on('error', (err) => {
        fail(new EngineError(`${what}: reading the archive failed: ${err.message}`, { cause: err }));
        req.destroy(err);
      });
      tar.pipe(req);
    });
  }
  async importImage(tar: Readable, repoTag: string | null, opts?: { readonly changes?: readonly string[] }): Promise<string> {
    return (await this.heavy()).importImage(tar, repoTag, opts);
  }
  async pullImage(ref: string, onProgress?: (event: PullProgress) => void): Promise<void> {
    return (await this.heavy()).pullImage(ref, onProgress);
  }
  async pushImage(
    ref: string,
    opts?: { readonly auth?: RegistryAuth; readonly onProgress?: (event: PullProgress) => void },
  ): Promise<{ readonly digest: string | null }> {
    return (await this.heavy()).pushImage(ref, opts);
  }
  async listImages(opts?: { readonly label?: string }): Promise<ImageInfo[]> {
    return (await this.heavy()).listImages(opts);
  }
  async removeContainer(id: string): Promise<boolean> {
    return (await this.heavy()).removeContainer(id);
  }
  async listVolumes(opts?: { readonly prefix?: string; readonly unused?: boolean }): Promise<VolumeInfo[]> {
    return (await this.heavy()).listVolumes(opts);
  }
  async removeVolume(name: string): Promise<boolean> {
    return (await this.heavy()).removeVolume(name);
  }
  async withContainer<T>(opts: ContainerOptions, fn: (c: ContainerHandle) => Promise<T>): Promise<T> {
    return (await this.heavy()).withContainer(opts, fn);
  }
  async runContainer(opts: RunOptions): Promise<RunResult> {
    return (await this.heavy()).runContainer(opts);
  }
}
