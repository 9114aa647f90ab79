/**
 * The repository's own images under Podman, through its Docker-compatible API
 * (DOCKER_HOST=unix:///…/podman.sock): CI runs this file with Podman's socket
 * (scripts/podman-service.sh) and IMGSDK_REQUIRE_PODMAN=1. Against Docker it is
 * skipped: the rest of the suite covers Docker.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { engineKindOf } from '../../src/runtime/engine/docker';
import { tempDir } from './_app';
import { engineLocation, engineOrSkip } from './_engine';

const ROOT = resolve(__dirname, '..', '..');

function deployCli(state: string, out: string) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'imgsdk.js'), 'deploy', '--app', join(ROOT, 'images.ts'), '--state', state, '-o', out, '--lock', join(state, 'imgsdk.lock')], {
    cwd: ROOT, encoding: 'utf8', timeout: 15 * 60_000, env: process.env,
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

test('with Podman as DOCKER_HOST, images.ts deploys, deploys again from cache, and its nginx answers HTTP 200', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  if (engineKindOf(await docker.version()) !== 'podman') {
    if (process.env.IMGSDK_REQUIRE_PODMAN === '1') throw new Error(`IMGSDK_REQUIRE_PODMAN=1, but the engine at ${engineLocation()} is not Podman`);
    console.log(`  skipped: the engine at ${engineLocation()} is not Podman`);
    return;
  }
  const state = tempDir('imgsdk-e2e-podman-state-');
  const out = tempDir('imgsdk-e2e-podman-out-');
  let container: import('dockerode').Container | undefined;
  try {
    const first = deployCli(state.dir, out.dir);
    assert.is(first.code, 0, first.out);
    assert.match(first.out, /2 images: \d built, \d cached, 0 failed/);
    // Podman answers with docker.io/ and localhost/ names; imgsdk still finds its images and builder.
    const again = deployCli(state.dir, out.dir);
    assert.is(again.code, 0, again.out);
    assert.match(again.out, '2 images: 0 built, 2 cached, 0 failed');

    container = await docker.createContainer({
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
      status = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.status, () => 0);
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    assert.is(status, 200);
    assert.is(info.Config.User, '10001:10001', 'non-root, as images.ts says (web is uid 10001)');
  } finally {
    await container?.remove({ force: true }).catch(() => undefined);
    state.remove();
    out.remove();
  }
});

test.run();
