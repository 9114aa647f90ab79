/**
 * A second Docker engine for the remote-engine test: its own dockerd with its own
 * --data-root, --exec-root, --pidfile and socket, so its files are not the main
 * engine's and nothing a build does can lean on a shared filesystem. It must not
 * disturb the main dockerd (shared by other test runs): no iptables, no IP
 * forwarding or masquerading, its own cgroup parent, its own containerd (under its
 * exec root), and its own bridge. Not `--bridge=none`: a dockerd started with that
 * deletes the host's docker0, the main engine's default network. Its bridge has no
 * NAT, so containers that need the network use `host`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Docker from 'dockerode';

/** Whether the host has the main engine's default bridge (docker0). */
export function hasDocker0(): boolean {
  return spawnSync('ip', ['link', 'show', 'docker0']).status === 0;
}

export interface SecondEngine {
  /** `unix:///tmp/…/docker.sock` */
  readonly host: string;
  /** `tcp://127.0.0.1:<port>`, TLS with client certificates (DOCKER_TLS_VERIFY=1). */
  readonly tlsHost: string;
  /** DOCKER_CERT_PATH for `tlsHost`: ca.pem, cert.pem, key.pem. */
  readonly certPath: string;
  readonly docker: Docker;
  stop(): Promise<void>;
}

/** Why no second engine can start here (not root, no dockerd), or null. */
export function secondEngineUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'a second dockerd needs root';
  if (!['/usr/sbin/dockerd', '/usr/bin/dockerd'].some((p) => existsSync(p))) return 'no dockerd on this host';
  if (!['/usr/bin/openssl', '/bin/openssl'].some((p) => existsSync(p))) return 'no openssl for the TLS certificates';
  return null;
}

/**
 * Starts the second engine and waits until it answers (up to 60 s). Several at once
 * in one process each need their own `index` (their bridges and subnets differ).
 */
export async function startSecondEngine(index = 0): Promise<SecondEngine> {
  // Short: the socket path and containerd's sockets under the exec root must fit sun_path.
  const dir = mkdtempSync('/tmp/imgsdk-e2e-engine-');
  const socket = join(dir, 'docker.sock');
  const log = openSync(join(dir, 'dockerd.log'), 'a');
  const certs = makeCertificates(join(dir, 'tls'));
  const port = await freePort();
  const bridge = makeBridge(index);
  // Not the host's /etc/docker/daemon.json: its settings are the main engine's.
  writeFileSync(join(dir, 'daemon.json'), '{}\n');
  const child: ChildProcess = spawn(
    'dockerd',
    [
      '--tlsverify',
      '--tlscacert',
      join(certs, 'ca.pem'),
      '--tlscert',
      join(certs, 'server-cert.pem'),
      '--tlskey',
      join(certs, 'server-key.pem'),
      '--host',
      `tcp://127.0.0.1:${port}`,
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'exec'),
      '--pidfile',
      join(dir, 'docker.pid'),
      '--host',
      `unix://${socket}`,
      `--bridge=${bridge}`,
      '--iptables=false',
      '--ip6tables=false',
      '--ip-forward=false',
      '--ip-masq=false',
      '--cgroup-parent=imgsdk-e2e-engine',
      '--config-file',
      join(dir, 'daemon.json'),
    ],
    { stdio: ['ignore', log, log] },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    // dockerd leaves its default network namespace mounted under the exec root.
    const mounts = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '');
    for (const target of mounts.filter((t) => t.startsWith(dir + '/')).reverse()) spawnSync('umount', [target]);
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    spawnSync('ip', ['link', 'delete', bridge]);
  };
  const docker = new Docker({ socketPath: socket });
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) break;
    if (
      existsSync(socket) &&
      (await docker.ping().then(
        () => true,
        () => false,
      ))
    )
      return { host: `unix://${socket}`, tlsHost: `tcp://127.0.0.1:${port}`, certPath: join(certs, 'client'), docker, stop };
    await new Promise((r) => setTimeout(r, 200));
  }
  const tail = readFileSync(join(dir, 'dockerd.log'), 'utf8').split('\n').slice(-15).join('\n');
  await stop();
  throw new Error(`the second dockerd did not come up on ${socket}:\n${tail}`);
}

/** A throwaway CA, a server certificate for 127.0.0.1 and a client certificate; the directory. */
function makeCertificates(dir: string): string {
  mkdirSync(join(dir, 'client'), { recursive: true });
  const ssl = (...args: string[]) => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  };
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca-key.pem',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=imgsdk-e2e-ca',
  );
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server-key.pem', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  ssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca-key.pem',
    '-CAcreateserial',
    '-out',
    'server-cert.pem',
    '-days',
    '2',
    '-extfile',
    'server.ext',
  );
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client/key.pem', '-out', 'client.csr', '-subj', '/CN=imgsdk-e2e-client');
  ssl(
    'x509',
    '-req',
    '-in',
    'client.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca-key.pem',
    '-CAcreateserial',
    '-out',
    'client/cert.pem',
    '-days',
    '2',
    '-extfile',
    'client.ext',
  );
  writeFileSync(join(dir, 'client', 'ca.pem'), readFileSync(join(dir, 'ca.pem')));
  return dir;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * A bridge of its own for the second engine, on a /24 of 10.213.0.0/16 (the next
 * /16 for each further index; none is among Docker's default address pools); its
 * name, unique per process and index (at most 15 characters, the kernel's limit).
 */
function makeBridge(index: number): string {
  const name = `imgsdk${process.pid % 100000}${index ? `e${index}` : ''}`;
  const ip = (...args: string[]) => {
    const r = spawnSync('ip', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  };
  spawnSync('ip', ['link', 'delete', name]);
  ip('link', 'add', 'name', name, 'type', 'bridge');
  ip('addr', 'add', `10.${213 + index}.${process.pid % 250}.1/24`, 'dev', name);
  ip('link', 'set', name, 'up');
  return name;
}
