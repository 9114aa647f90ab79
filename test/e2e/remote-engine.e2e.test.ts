import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, debian, deploy, image } from '../../src';
import { connectEngine } from '../../src/runtime/engine/docker';
import { runImage, tempDir } from './_app';
import { engineOrSkip } from '../_kit/engine';
import { hasDocker0, secondEngineUnavailable, startSecondEngine } from './_second-engine';

// The second engine has no bridge: the builder reaches the archive through the host's network.
const hostNet = debian.builder('imgsdk-e2e-remote/bookworm', { suite: 'bookworm', network: 'host' });
const base = image('imgsdk-e2e-remote/base').builder(hostNet).account({ user: 'app', uid: 10002, home: '/nonexistent' });
const tool = image('imgsdk-e2e-remote/busybox')
  .from(base)
  .packages('busybox-static')
  .file('/etc/motd', 'from another engine\n')
  .user('app')
  .entrypoint('/bin/busybox');

test('an engine with its own data root, exec root and socket, reached over tcp:// with TLS client certificates, builds and runs the app: nothing goes through the host filesystem', async () => {
  // The main engine must answer too (CI requires engines), but the build goes elsewhere.
  if (!(await engineOrSkip())) return;
  const why = secondEngineUnavailable();
  if (why) {
    if (process.env.IMGSDK_REQUIRE_ENGINE === '1') throw new Error(`${why} (IMGSDK_REQUIRE_ENGINE=1)`);
    console.log(`  skipped: ${why}`);
    return;
  }
  const docker0 = hasDocker0();
  const second = await startSecondEngine();
  const state = tempDir('imgsdk-e2e-remote-state-');
  const out = tempDir('imgsdk-e2e-remote-out-');
  try {
    // Without the client certificate the engine refuses the connection.
    const refused = await connectEngine({ host: second.tlsHost, env: {}, pingTimeoutMs: 3000 }).catch((e: unknown) => e);
    assert.instance(refused, Error);
    assert.match((refused as Error).message, second.tlsHost);
    const engine = await connectEngine({ host: second.tlsHost, env: { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: second.certPath } });
    assert.is(engine.host, second.tlsHost);
    const r = await deploy(app(base, tool), { stateDir: state.dir, assemblyDir: out.dir, engine });
    assert.ok(r.ok, JSON.stringify(r.images.map((i) => [i.id, i.status, i.reason])));
    const built = r.images.find((i) => i.id === 'imgsdk-e2e-remote/busybox')!;
    const info = await second.docker.getImage('imgsdk-e2e-remote/busybox:latest').inspect();
    assert.is(info.Id, built.digest, 'the image is in the second engine');
    const ran = await runImage(second.docker, 'imgsdk-e2e-remote/busybox:latest', ['cat', '/etc/motd']);
    assert.is(ran.code, 0, ran.out);
    assert.is(ran.out, 'from another engine\n');
    const id = await runImage(second.docker, 'imgsdk-e2e-remote/busybox:latest', ['id', '-u']);
    assert.is(id.out.trim(), '10002');
    // Nothing of the build stayed behind in the second engine.
    assert.equal(
      (await second.docker.listContainers({ all: true, filters: { label: ['org.imgsdk'] } })).map((c) => c.Names),
      [],
    );
  } finally {
    state.remove();
    out.remove();
    await second.stop();
  }
  // The main engine's default network is untouched (a dockerd with --bridge=none deletes docker0).
  assert.is(hasDocker0(), docker0, 'docker0 is as it was');
});

test.run();
