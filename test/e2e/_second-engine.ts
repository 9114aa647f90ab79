/**
 * A second Docker engine for the remote-engine test: its own dockerd with its own
 * --data-root, --exec-root, --pidfile and socket, so its files are not the main
 * engine's and nothing a build does can lean on a shared filesystem. It must not
 * disturb the main dockerd (shared by other test runs): no bridge, no iptables,
 * no IP forwarding or masquerading, its own cgroup parent, its own containerd
 * (under its exec root). Containers that need the network use `host`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';

export interface SecondEngine {
  /** `unix:///tmp/…/docker.sock` */
  readonly host: string;
  readonly docker: Docker;
  stop(): Promise<void>;
}

/** Why no second engine can start here (not root, no dockerd), or null. */
export function secondEngineUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'a second dockerd needs root';
  if (!['/usr/sbin/dockerd', '/usr/bin/dockerd'].some((p) => existsSync(p))) return 'no dockerd on this host';
  return null;
}

/** Starts the second engine and waits until it answers (up to 60 s). */
export async function startSecondEngine(): Promise<SecondEngine> {
  // Short: the socket path and containerd's sockets under the exec root must fit sun_path.
  const dir = mkdtempSync('/tmp/imgsdk-e2e-engine-');
  const socket = join(dir, 'docker.sock');
  const log = openSync(join(dir, 'dockerd.log'), 'a');
  const child: ChildProcess = spawn('dockerd', [
    '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid'),
    '--host', `unix://${socket}`, '--bridge=none', '--iptables=false', '--ip-forward=false', '--ip-masq=false',
    '--cgroup-parent=imgsdk-e2e-engine',
  ], { stdio: ['ignore', log, log] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    // dockerd leaves its default network namespace mounted under the exec root.
    const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '');
    for (const target of mounts.filter((t) => t.startsWith(dir + '/')).reverse()) spawnSync('umount', [target]);
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  const docker = new Docker({ socketPath: socket });
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) break;
    if (existsSync(socket) && (await docker.ping().then(() => true, () => false))) return { host: `unix://${socket}`, docker, stop };
    await new Promise((r) => setTimeout(r, 200));
  }
  const tail = readFileSync(join(dir, 'dockerd.log'), 'utf8').split('\n').slice(-15).join('\n');
  await stop();
  throw new Error(`the second dockerd did not come up on ${socket}:\n${tail}`);
}
