/**
 * The repository's own images under Podman, through its Docker-compatible API.
 * The test starts rootful Podman's service itself on its own storage
 * (scripts/podman-service.sh, stopped by its pid afterwards) unless DOCKER_HOST
 * already names a Podman socket. Where `podman` is not installed the file is
 * skipped, and fails instead under IMGSDK_REQUIRE_PODMAN=1 (CI sets it).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Docker from 'dockerode';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { engineKindOf } from '../../src/runtime/engine/docker';
import { tempDir } from './_app';

const ROOT = resolve(__dirname, '..', '..');

interface Podman {
  readonly host: string;
  readonly docker: Docker;
  stop(): void;
}

function skipOrFail(why: string): null {
  if (process.env.IMGSDK_REQUIRE_PODMAN === '1') throw new Error(`${why} (IMGSDK_REQUIRE_PODMAN=1, so this fails instead of skipping)`);
  console.log(`  skipped: ${why}`);
  return null;
}

/** Podman at DOCKER_HOST when that is Podman, else a service of our own; null (skipped) without podman. */
async function podman(): Promise<Podman | null> {
  if (process.env.DOCKER_HOST) {
    const docker = new Docker();
    if (engineKindOf(await docker.version()) === 'podman') return { host: process.env.DOCKER_HOST, docker, stop: () => undefined };
  }
  if (spawnSync('podman', ['--version']).status !== 0) return skipOrFail('podman is not installed (Debian: apt-get install podman)');
  if (process.getuid?.() !== 0) return skipOrFail('the Podman test starts rootful Podman: run it as root');
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-e2e-podman-'));
  const started = spawnSync(join(ROOT, 'scripts', 'podman-service.sh'), [dir], { encoding: 'utf8' });
  const pid = Number(readFileSync(join(dir, 'service.pid'), 'utf8').trim() || 0);
  const stop = () => {
    if (pid) {
      try {
        process.kill(pid);
      } catch {
        // already gone
      }
      spawnSync('sh', ['-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$0" 2>/dev/null || exit 0; sleep 0.3; done', String(pid)]);
    }
    // Podman leaves its storage's overlay mounts behind.
    const mounts = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1])
      .filter((m) => m?.startsWith(dir + '/'))
      .sort()
      .reverse();
    for (const m of mounts) spawnSync('umount', [m]);
    rmSync(dir, { recursive: true, force: true });
  };
  if (started.status !== 0) {
    stop();
    throw new Error(`scripts/podman-service.sh failed: ${started.stderr}`);
  }
  const host = `unix://${dir}/podman.sock`;
  return { host, docker: new Docker({ socketPath: join(dir, 'podman.sock') }), stop };
}

function imgsdk(host: string, args: readonly string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'imgsdk.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 15 * 60_000,
    env: { ...process.env, DOCKER_HOST: host },
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

test('with Podman as DOCKER_HOST, the engine tests pass, images.ts deploys and deploys again from cache, and its nginx answers HTTP 200 under Podman', async () => {
  const p = await podman();
  if (!p) return;
  const state = tempDir('imgsdk-e2e-podman-state-');
  const out = tempDir('imgsdk-e2e-podman-out-');
  let container: Docker.Container | undefined;
  try {
    // The engine layer's own tests (import, tag, labels, volumes, containers, archives, push), against Podman.
    const uvu = join(ROOT, 'node_modules', 'uvu', 'bin.js');
    const engineTests = spawnSync(process.execPath, [uvu, '-r', 'ts-node/register', 'test/runtime/engine', 'docker.test.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 15 * 60_000,
      env: { ...process.env, DOCKER_HOST: p.host, IMGSDK_REQUIRE_ENGINE: '1' },
    });
    assert.is(
      engineTests.status,
      0,
      `engine tests against Podman at ${p.host}:\n${engineTests.stdout.slice(-3000)}${engineTests.stderr.slice(-2000)}`,
    );

    const deploy = [
      'deploy',
      '--app',
      join(ROOT, 'images.ts'),
      '--state',
      state.dir,
      '-o',
      out.dir,
      '--lock',
      join(state.dir, 'imgsdk.lock'),
    ];
    const first = imgsdk(p.host, deploy);
    assert.is(first.code, 0, first.out);
    assert.match(first.out, /2 images: \d built, \d cached, 0 failed/);
    // Podman answers with docker.io/ and localhost/ names; imgsdk still finds its images and builder.
    const again = imgsdk(p.host, deploy);
    assert.is(again.code, 0, again.out);
    assert.match(again.out, '2 images: 0 built, 2 cached, 0 failed');

    container = await p.docker.createContainer({
      Image: 'imgsdk/nginx:latest',
      Labels: { 'org.imgsdk.test': '1' },
      ExposedPorts: { '8080/tcp': {} },
      HostConfig: { PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
    });
    await container.start();
    const info = await container.inspect();
    const port = info.NetworkSettings.Ports['8080/tcp']?.[0]?.HostPort;
    assert.ok(port, JSON.stringify(info.NetworkSettings.Ports));
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = await fetch(`http://127.0.0.1:${port}/`).then(
        (r) => r.status,
        () => 0,
      );
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    assert.is(status, 200);
    assert.is(info.Config.User, '10001', 'non-root, as images.ts says (web is uid 10001)');
  } finally {
    await container?.remove({ force: true }).catch(() => undefined);
    state.remove();
    out.remove();
    p.stop();
  }
});

test.run();
