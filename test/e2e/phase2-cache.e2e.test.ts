/**
 * The two-level cache on a real engine: after a `.file()`, env or entrypoint edit,
 * a redeploy reruns the rootfs pipeline and phase 2 from the cached phase-1 rootfs,
 * without any container, and the image is the one a full build makes.
 */
import type { Readable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, deploy, image, type DeployEvent } from '../../src';
import { connectEngine } from '../../src/runtime/engine/docker';
import { readSingleFile } from '../../src/util/tar';
import { bookworm, removeImages, runImage, tempDir } from './_app';
import { counting, engineOrSkip } from '../_kit/engine';

const ID = 'imgsdk-e2e-plan/hello';

const hello = (greeting: string, env: string) =>
  image(ID)
    .builder(bookworm)
    .packages('hello')
    .file('/etc/greeting', greeting)
    .env('GREETING_VERSION', env)
    .user('nobody')
    .entrypoint('/usr/bin/hello');

test('a .file() and env edit reruns only the pipeline and phase 2, with no container, and gives the image a full build gives', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const state = tempDir('imgsdk-e2e-plan-state-');
  const fresh = tempDir('imgsdk-e2e-plan-fresh-');
  const out = tempDir('imgsdk-e2e-plan-out-');
  try {
    await removeImages(docker, [ID]);
    const first = counting(await connectEngine());
    const r1 = await deploy(app(hello('one\n', '1')), { stateDir: state.dir, assemblyDir: out.dir, engine: first.engine });
    assert.ok(r1.ok, JSON.stringify(r1.images.map((i) => [i.id, i.status, i.reason])));
    assert.ok(first.containers() >= 1, 'phase 1 ran in a builder container');

    const second = counting(await connectEngine());
    const events: DeployEvent[] = [];
    const r2 = await deploy(app(hello('two\n', '2')), {
      stateDir: state.dir,
      assemblyDir: out.dir,
      engine: second.engine,
      onEvent: (e) => events.push(e),
    });
    assert.ok(r2.ok, JSON.stringify(r2.images.map((i) => [i.id, i.status, i.reason])));
    assert.is(r2.images[0].status, 'built');
    assert.is.not(r2.images[0].digest, r1.images[0].digest);
    assert.is(second.containers(), 0, 'no builder container: phase 1 came from the cache');
    const phases = events.flatMap((e) => (e.type === 'building' ? [e.phase] : []));
    assert.equal([...new Set(phases)], ['pipeline', 'phase2']);
    assert.is(r2.images[0].reason, 'files changed (/etc/greeting); config (entrypoint, env, user, labels, …)');

    // The new image is right: the new file, the new env, and hello still runs.
    const run = await runImage(docker, `${ID}:latest`);
    assert.is(run.code, 0, run.out);
    assert.match(run.out, /Hello, world!/);
    const info = await docker.getImage(`${ID}:latest`).inspect();
    assert.ok(info.Config.Env.includes('GREETING_VERSION=2'), info.Config.Env.join(' '));
    // The .file() is a layer of its own: the rootfs layer below it is the first build's, the top one is new.
    const before = (await docker.getImage(r1.images[0].digest!).inspect()).RootFS.Layers!;
    const after = info.RootFS.Layers!;
    assert.is(after.length, before.length);
    assert.equal(after.slice(0, -1), before.slice(0, -1));
    assert.is.not(after[after.length - 1], before[before.length - 1]);
    const c = await docker.createContainer({ Image: `${ID}:latest`, Labels: { 'org.imgsdk.test': '1' } });
    try {
      assert.is(await readSingleFile((await c.getArchive({ path: '/etc/greeting' })) as unknown as Readable), 'two\n');
    } finally {
      await c.remove({ force: true });
    }

    // A full build of the edited app in an empty state directory makes the very same image.
    const full = counting(await connectEngine());
    const r3 = await deploy(app(hello('two\n', '2')), { stateDir: fresh.dir, assemblyDir: out.dir, engine: full.engine, force: true });
    assert.ok(r3.ok, JSON.stringify(r3.images.map((i) => [i.id, i.status, i.reason])));
    assert.ok(full.containers() >= 1, 'the full build ran phase 1');
    assert.is(r3.images[0].digest, r2.images[0].digest);
  } finally {
    await removeImages(docker, [ID]);
    state.remove();
    fresh.remove();
    out.remove();
  }
});

test.run();
