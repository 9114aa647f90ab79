/**
 * For the engine tests that deploy the repository's examples and run them the way a
 * user would: load an example's file as `imgsdk deploy --app` does, start servers
 * and talk to them over the engine's bridge network, run one-off commands (with
 * stdin), and measure each image beside a plain Debian install of its packages.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join, resolve } from 'node:path';
import type Docker from 'dockerode';
import { demux } from '../../corpus/run';
import { deploy, loadApp, type App, type DeployResult } from '../../src';
import type { ImageDef, Manifest } from '../../src/contract/assembly';
import { ensureDebianBuilder } from '../../src/runtime/phase1/builders/debian';
import { engineFromDocker } from '../../src/runtime/engine/docker';
import { removeImages, tempDir } from './_app';

export const EXAMPLES = resolve(__dirname, '..', '..', 'examples');

/**
 * The state directory of a suite: a temp dir removed at the end together with the
 * suite's images, or, with IMGSDK_E2E_KEEP=<dir> (for working on the suite), that
 * directory, kept with the images so a rerun is all cache hits.
 */
export function suiteState(name: string): { readonly dir: string; cleanUp(docker: Docker | null, ids: readonly string[]): Promise<void> } {
  const keep = process.env.IMGSDK_E2E_KEEP;
  if (keep) return { dir: join(resolve(keep), name), cleanUp: async () => undefined };
  const t = tempDir(`imgsdk-e2e-${name}-`);
  return {
    dir: t.dir,
    cleanUp: async (docker, ids) => {
      if (docker) await removeImages(docker, ids);
      t.remove();
    },
  };
}

/** An example's app, loaded as `imgsdk deploy --app examples/<file>` loads it (`imgsdk` is this copy). */
export function loadExample(file: string): App {
  return loadApp(join(EXAMPLES, file));
}

/** What a deploy built, and what a size comparison needs of it. */
export interface Deployed {
  readonly result: DeployResult;
  /** image id → its packages and its ancestors', and its builder. */
  readonly chains: ReadonlyMap<string, { readonly builder: string; readonly packages: readonly string[] }>;
  readonly builders: Manifest['builders'];
}

/** Deploys into `stateDir` through a throwaway assembly directory. */
export async function deployAll(theApp: App, stateDir: string): Promise<Deployed> {
  const out = tempDir('imgsdk-e2e-out-');
  try {
    const result = await deploy(theApp, { stateDir, assemblyDir: out.dir, concurrency: 2 });
    const manifest = JSON.parse(readFileSync(join(out.dir, 'manifest.json'), 'utf8')) as Manifest;
    const defs = new Map<string, ImageDef>();
    for (const [id, m] of Object.entries(manifest.images))
      defs.set(id, JSON.parse(readFileSync(join(out.dir, m.dir, 'image.json'), 'utf8')) as ImageDef);
    const chains = new Map<string, { builder: string; packages: string[] }>();
    for (const [id, def] of defs) {
      const packages: string[] = [];
      for (let d: ImageDef | undefined = def; d; d = d.parent ? defs.get(d.parent) : undefined) packages.unshift(...d.packages);
      chains.set(id, { builder: def.builder, packages: [...new Set(packages)] });
    }
    return { result, chains, builders: manifest.builders };
  } finally {
    out.remove();
  }
}

/** Every image that did not build, with its reason (for an assertion's message). */
export function failures(d: Deployed): string {
  return d.result.images
    .filter((i) => i.status !== 'built' && i.status !== 'cached')
    .map((i) => `${i.id}: ${i.status}: ${i.reason}`)
    .join('\n');
}

/** A running container of a test: its address on the bridge network, its logs, its removal (with its anonymous volumes). */
export interface Service {
  readonly container: Docker.Container;
  readonly ip: string;
  logs(): string;
  remove(): Promise<void>;
}

/** Starts an image with its own entrypoint and cmd (or `cmd`), detached. */
export async function startService(docker: Docker, ref: string, cmd?: string[]): Promise<Service> {
  const c = await docker.createContainer({ Image: ref, ...(cmd ? { Cmd: cmd } : {}), Labels: { 'org.imgsdk.test': '1' } });
  const out = await capture(docker, c);
  const remove = () =>
    c.remove({ force: true, v: true }).then(
      () => undefined,
      () => undefined,
    );
  try {
    await c.start();
    const info = await c.inspect();
    const ip = Object.values(info.NetworkSettings.Networks ?? {})[0]?.IPAddress;
    if (!ip) {
      // A server that exits at once loses its address before we ask: say why it exited.
      await new Promise((r) => setTimeout(r, 200));
      const why = info.State.Running ? 'is running' : `exited with ${info.State.ExitCode}`;
      throw new Error(`${ref}: the container has no IP address (it ${why}); its output:\n${out.stdout()}${out.stderr()}`);
    }
    return { container: c, ip, logs: () => out.stdout() + out.stderr(), remove };
  } catch (err) {
    await remove();
    throw err;
  }
}

/** Runs an image to the end: its entrypoint (or `entrypoint`) with `cmd`, `stdin` written and closed. At most `timeoutMs`. */
export async function runOnce(
  docker: Docker,
  ref: string,
  opts: { readonly cmd?: string[]; readonly entrypoint?: string[]; readonly stdin?: string; readonly timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const withStdin = opts.stdin !== undefined;
  const c = await docker.createContainer({
    Image: ref,
    ...(opts.entrypoint ? { Entrypoint: opts.entrypoint } : {}),
    Cmd: opts.cmd ?? [],
    ...(withStdin ? { OpenStdin: true, StdinOnce: true, AttachStdin: true } : {}),
    Labels: { 'org.imgsdk.test': '1' },
  });
  try {
    const stream = (await c.attach({
      stream: true,
      stdin: withStdin,
      stdout: true,
      stderr: true,
      hijack: withStdin,
    })) as NodeJS.ReadWriteStream;
    const out = demux(docker, stream);
    await c.start();
    if (withStdin) stream.end(opts.stdin);
    const timer = setTimeout(() => void c.kill().catch(() => undefined), opts.timeoutMs ?? 120_000);
    const { StatusCode } = (await c.wait()) as { StatusCode: number };
    clearTimeout(timer);
    await new Promise((r) => setTimeout(r, 100));
    return { code: StatusCode, stdout: out.stdout(), stderr: out.stderr() };
  } finally {
    await c.remove({ force: true, v: true }).catch(() => undefined);
  }
}

async function capture(docker: Docker, c: Docker.Container): Promise<{ stdout: () => string; stderr: () => string }> {
  return demux(docker, (await c.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream);
}

/** The uid of every process in a running container. */
export async function processUids(c: Docker.Container): Promise<string[]> {
  // The engine needs the PID column to map processes to the container.
  const top = (await c.top({ ps_args: '-o pid,uid,comm' })) as { Titles: string[]; Processes: string[][] };
  const col = top.Titles.indexOf('UID');
  return top.Processes.map((p) => p[col]);
}

/** Retries `attempt` until it resolves or `timeoutMs` passes; the last error names `what`. */
export async function eventually<T>(what: string, attempt: () => Promise<T>, timeoutMs = 60_000, logs?: () => string): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (Date.now() > until)
        throw new Error(
          `${what}: no answer in ${timeoutMs / 1000} s (${(err as Error).message})${logs ? `\ncontainer output:\n${logs()}` : ''}`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** One HTTP GET: status, headers and body. */
export function httpGet(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((res, rej) => {
    const req = http.get(url, { timeout: 5000 }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (d: Buffer) => chunks.push(d));
      r.on('end', () => res({ status: r.statusCode ?? 0, headers: r.headers, body: Buffer.concat(chunks).toString('utf8') }));
      r.on('error', rej);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', rej);
  });
}

/** Sends one Redis command in RESP and returns the first line of the answer (`+PONG`). */
export function redisCommand(host: string, port: number, ...args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    const s = net.connect({ host, port });
    const resp = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
    let got = '';
    s.setTimeout(5000, () => s.destroy(new Error('timed out')));
    s.on('connect', () => s.write(resp));
    s.on('data', (d: Buffer) => {
      got += d.toString('utf8');
      const nl = got.indexOf('\r\n');
      if (nl >= 0) {
        s.end();
        res(got.slice(0, nl));
      }
    });
    s.on('error', rej);
    s.on('close', () => rej(new Error(`connection closed after ${JSON.stringify(got)}`)));
  });
}

/** An image's size next to the plain Debian install of the same packages. */
export interface SizeLine {
  readonly id: string;
  readonly size: number;
  readonly plain: number;
}

/**
 * The size of each image (all its layers, as the engine counts them) beside plain
 * Debian: the image's builder plus the Installed-Size of every package
 * `apt-get install --no-install-recommends` adds to it for the image's packages and
 * its ancestors' (as the corpus measures it). One container per builder.
 */
export async function measureSizes(docker: Docker, deployed: readonly Deployed[], ids: readonly string[]): Promise<SizeLine[]> {
  // Images by builder, each with the deploy that built it.
  const byBuilder = new Map<string, { builders: Manifest['builders']; images: { id: string; packages: readonly string[] }[] }>();
  for (const id of ids) {
    const d = deployed.find((x) => x.result.images.some((i) => i.id === id && (i.status === 'built' || i.status === 'cached')));
    if (!d) continue;
    const chain = d.chains.get(id)!;
    const group = byBuilder.get(chain.builder) ?? { builders: d.builders, images: [] };
    group.images.push({ id, packages: chain.packages });
    byBuilder.set(chain.builder, group);
  }
  const lines: SizeLine[] = [];
  for (const [builder, group] of byBuilder) {
    const { def } = group.builders[builder];
    const ref = await ensureDebianBuilder(engineFromDocker(docker), def);
    const base = (await docker.getImage(ref).inspect()).Size;
    const input = group.images.map((i) => `${i.id} ${i.packages.join(' ')}`).join('\n');
    const script = [
      'set -e',
      'apt-get update -q >/dev/null',
      'while read -r id pkgs; do',
      // $pkgs unquoted: a list of names
      "  kib=$(apt-get install -s --no-install-recommends $pkgs | awk '/^Inst /{print $2}' | sort -u | xargs -r apt-cache show --no-all-versions | awk '/^Installed-Size:/{s+=$2} END{print s+0}')",
      '  echo "$id $kib"',
      'done',
    ].join('\n');
    const r = await runOnce(docker, ref, { entrypoint: ['/bin/sh', '-c', script], stdin: `${input}\n`, timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`plain Debian sizes in ${ref} failed (exit ${r.code}): ${r.stderr}`);
    const kib = new Map(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(' ') as [string, string]),
    );
    for (const { id } of group.images) {
      const size = (await docker.getImage(`${id}:latest`).inspect()).Size;
      lines.push({ id, size, plain: base + Number(kib.get(id) ?? NaN) * 1024 });
    }
  }
  return lines;
}

/** `size examples/debian-nginx: 9.9 MB (plain Debian 180.2 MB, 5.5%)` */
export function formatSize(l: SizeLine): string {
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  return `size ${l.id}: ${mb(l.size)} (plain Debian ${mb(l.plain)}, ${((100 * l.size) / l.plain).toFixed(1)}%)`;
}
