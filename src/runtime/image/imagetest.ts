/**
 * `.test(cmd)` and `.healthcheck(...)` after a build: each test runs in a fresh
 * container of the new image (its entrypoint replaced by the command); the
 * health check starts the image as it would run and waits until the engine
 * reports it healthy. Containers are always removed (withContainer).
 */
import { connect } from 'node:net';
import type { ImageDef, ReadyDef } from '../../contract/assembly';
import { BuildError } from '../../contract/errors';
import type { Engine } from '../engine/engine';
import { LABEL_CHECK } from '../../contract/labels';

/** Options of {@link runImageChecks}. */
export interface CheckOptions {
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
  /** How often the health status is polled. @default 500 */
  readonly pollMs?: number;
}

/** Whether an image has anything to check after its build. */
export function hasChecks(def: ImageDef): boolean {
  return def.tests.length > 0 || def.config.healthcheck !== null || def.ready !== undefined;
}

/**
 * The argv of a test as `.test()` recorded it: a JSON array is taken as is; a
 * string with shell syntax runs under `/bin/sh -c` (the image needs a shell);
 * any other string is split on whitespace, so `/usr/sbin/nginx -t` runs in an
 * image without a shell.
 * @example testArgv('/usr/sbin/nginx -t') // ['/usr/sbin/nginx', '-t']
 */
export function testArgv(test: string): string[] {
  const t = test.trim();
  if (t.startsWith('[')) {
    try {
      const a = JSON.parse(t) as unknown;
      if (Array.isArray(a) && a.every((x) => typeof x === 'string')) return a as string[];
    } catch {
      // not JSON: a shell command that starts with '['
    }
  }
  if (/[|&;<>()$`\\"'*?[\]#~=%{}\n]/.test(t)) return ['/bin/sh', '-c', t];
  return t.split(/\s+/);
}

/**
 * Runs every test of `def` in a container of `ref`, then its health check; the
 * first failure throws a BuildError naming the image, the command and its output.
 */
export async function runImageChecks(engine: Engine, def: ImageDef, ref: string, opts: CheckOptions = {}): Promise<void> {
  const log = opts.log ?? (() => undefined);
  for (const t of def.tests) {
    const [entry, ...args] = testArgv(t);
    log(`test: ${t}`);
    let r;
    try {
      r = await engine.runContainer({
        image: ref,
        entrypoint: [entry],
        cmd: args,
        forImage: def.id,
        labels: { [LABEL_CHECK]: 'test' },
        signal: opts.signal,
      });
    } catch (err) {
      throw new BuildError(def.id, `test \`${t}\` could not run: ${(err as Error).message}`, { cause: err, phase: 'test' });
    }
    if (r.exitCode !== 0) throw new BuildError(def.id, `test \`${t}\` failed (exit ${r.exitCode}):\n${indent(r.tail)}`, { phase: 'test' });
    log(`test passed: ${t}`);
  }
  if (def.ready) await checkReady(engine, def, def.ready, ref, opts);
  const hc = def.config.healthcheck;
  if (!hc) return;
  // Docker's own schedule: the start period, then up to retries+1 probes (0 means Docker's default: 30 s, 30 s, 3).
  const [interval, timeout, retries] = [hc.interval || 30, hc.timeout || 30, hc.retries || 3];
  const limitMs = (hc.startPeriod + (interval + timeout) * (retries + 1)) * 1000 + 15_000;
  log(`healthcheck: ${hc.cmd.join(' ')} (waiting up to ${Math.round(limitMs / 1000)} s)`);
  await engine.withContainer(
    { image: ref, cmd: [], forImage: def.id, labels: { [LABEL_CHECK]: 'healthcheck' }, signal: opts.signal },
    async (c) => {
      await c.start();
      const deadline = Date.now() + limitMs;
      for (;;) {
        const s = await c.state();
        if (s.health === 'healthy') return;
        if (!s.running)
          throw new BuildError(def.id, `healthcheck: the container exited (${s.exitCode}) before it was healthy:\n${indent(c.tail())}`, {
            phase: 'healthcheck',
          });
        if (s.health === 'unhealthy')
          throw new BuildError(def.id, `healthcheck \`${hc.cmd.join(' ')}\` reports unhealthy:\n${indent(s.healthLog || c.tail())}`, {
            phase: 'healthcheck',
          });
        if (s.health === null)
          throw new BuildError(def.id, 'healthcheck: the engine reports no health status for the image', { phase: 'healthcheck' });
        if (Date.now() > deadline)
          throw new BuildError(
            def.id,
            `healthcheck: not healthy after ${Math.round(limitMs / 1000)} s:\n${indent(s.healthLog || c.tail())}`,
            { phase: 'healthcheck' },
          );
        await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
      }
    },
  );
  log('healthcheck: healthy');
}

/**
 * The started check (`.ready()`): starts the image as it will run and waits until
 * its port accepts a connection (from here, to the container's address) or its
 * probe, run in a container of the image that shares the server's network, exits 0.
 * The server exiting first, or the timeout, fails with the log's tail.
 */
async function checkReady(engine: Engine, def: ImageDef, ready: ReadyDef, ref: string, opts: CheckOptions): Promise<void> {
  const log = opts.log ?? (() => undefined);
  const what = ready.port !== undefined ? `port ${ready.port} accepts` : `\`${ready.cmd!.join(' ')}\` exits 0`;
  log(`ready: starting the image until ${what} (up to ${ready.timeout} s)`);
  await engine.withContainer(
    { image: ref, cmd: [], forImage: def.id, labels: { [LABEL_CHECK]: 'ready' }, signal: opts.signal },
    async (c) => {
      await c.start();
      const deadline = Date.now() + ready.timeout * 1000;
      let last = '';
      for (;;) {
        const s = await c.state();
        if (!s.running)
          throw new BuildError(def.id, `ready: the server exited (${s.exitCode}) before ${what}:\n${indent(c.tail() || '(no output)')}`, {
            phase: 'ready',
          });
        if (ready.port !== undefined) {
          if (!s.address)
            throw new BuildError(
              def.id,
              'ready: the engine reports no address for the container, so its port cannot be reached from here: use .ready({ cmd })',
              { phase: 'ready' },
            );
          if (await accepts(s.address, ready.port, 1000)) break;
        } else {
          const [entry, ...args] = ready.cmd!;
          const r = await engine.runContainer({
            image: ref,
            entrypoint: [entry],
            cmd: args,
            network: `container:${c.id}`,
            forImage: def.id,
            labels: { [LABEL_CHECK]: 'ready' },
            signal: opts.signal,
          });
          if (r.exitCode === 0) break;
          last = r.tail;
        }
        if (Date.now() > deadline) {
          throw new BuildError(
            def.id,
            `ready: not up after ${ready.timeout} s (${what} never held):\n${indent(c.tail() || '(no output)')}${last ? `\nthe probe's last output:\n${indent(last)}` : ''}`,
            { phase: 'ready' },
          );
        }
        await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
      }
    },
  );
  log('ready: up');
}

/** Whether a TCP connection to host:port opens within `ms`. */
function accepts(host: string, port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(ms, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => '  ' + l)
    .join('\n');
}
