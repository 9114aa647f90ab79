/**
 * Shared by the ship tests (push, OCI, tests/health checks, debug): a tiny real
 * image (Debian's busybox-static on scratch, built in the shared e2e builder),
 * a loopback registry, and cleanup helpers. Ids are unique per run so parallel
 * runs and other suites never touch each other's tags.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request, createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { image } from '../../src';
import { bookworm, tempDir } from './_app';

/** Unique per process: `imgsdk-ship-<hex>`. */
export const NS = `imgsdk-ship-${randomBytes(4).toString('hex')}`;

/** busybox-static on scratch: `busybox` is the entrypoint, so `cmd` picks the applet. */
export const busybox = image(`${NS}/busybox`).builder(bookworm).packages('busybox-static').user('nobody').entrypoint('/bin/busybox');

/** Removes every image tagged or pulled (by digest) in `ns/`, registry-qualified or not, ignoring what is gone. */
export async function removeNamespace(docker: Docker, ns = NS): Promise<void> {
  const mine = (ref: string) => ref.startsWith(ns + '/') || ref.includes(`/${ns}/`);
  for (const img of await docker.listImages()) {
    for (const tag of img.RepoTags ?? [])
      if (mine(tag))
        await docker
          .getImage(tag)
          .remove({ force: true })
          .catch(() => undefined);
    if ((img.RepoDigests ?? []).some(mine))
      await docker
        .getImage(img.Id)
        .remove({ force: true })
        .catch(() => undefined);
  }
}

/** Containers (any state) created from or for images of `ns`. */
export async function leftoverContainers(docker: Docker, ns = NS): Promise<string[]> {
  const all = await docker.listContainers({ all: true });
  return all.filter((c) => c.Image.includes(ns) || Object.values(c.Labels ?? {}).some((v) => v.startsWith(ns + '/'))).map((c) => c.Id);
}

/** Runs `ref` with `cmd` as arguments to its entrypoint (or `entrypoint`), output and exit code; removed after. */
export { runImage as run } from './_app';

/** A loopback registry (Debian's docker-registry), stopped by its handle. */
export interface Registry {
  /** `127.0.0.1:<port>` */
  readonly address: string;
  /** Where it stores blobs and manifests (its size is what the registry holds). */
  readonly storage: string;
  stop(): Promise<void>;
}

/** Starts `/usr/bin/docker-registry` on a free loopback port with storage in a temp dir. */
export async function startRegistry(bin = process.env.IMGSDK_REGISTRY_BIN ?? '/usr/bin/docker-registry'): Promise<Registry> {
  const port = await freePort();
  const tmp = tempDir('imgsdk-e2e-registry-');
  const config = join(tmp.dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(tmp.dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child: ChildProcess = spawn(bin, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    tmp.remove();
  };
  const address = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    const ok = await fetch(`http://${address}/v2/`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { address, storage: join(tmp.dir, 'data'), stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`docker-registry did not come up on ${address}: ${err}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A Basic-auth gate in front of a registry: 401 with a Basic challenge unless the
 * request carries `user:password`, else proxied as is (Host kept, so the
 * registry's Location headers point back at the gate). Stopped by its handle.
 */
export async function startAuthGate(
  upstream: string,
  user: string,
  password: string,
): Promise<Omit<Registry, 'storage'> & { readonly denied: () => number }> {
  const want = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
  const [host, port] = upstream.split(':');
  let denied = 0;
  const server = createHttpServer((req, res) => {
    if (req.headers.authorization !== want) {
      denied++;
      res.writeHead(401, {
        'WWW-Authenticate': 'Basic realm="imgsdk-test"',
        'Docker-Distribution-API-Version': 'registry/2.0',
        'Content-Type': 'application/json',
      });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    const up = request({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return { address, denied: () => denied, stop: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) };
}
