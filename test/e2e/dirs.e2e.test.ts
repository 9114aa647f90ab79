/**
 * A user's own directories on a real engine: an app directory and a node_modules-like
 * one, each a layer of its own; an edit of one file redeploys without a container and
 * changes only that directory's layer; the image runs and reads the new file. And an
 * entrypoint that is not in the image fails the deploy, with nothing tagged.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, deploy, image } from '../../src';
import { connectEngine } from '../../src/runtime/engine/docker';
import { bookworm, runImage, tempDir } from './_app';
import { counting, engineOrSkip } from '../_kit/engine';
import { NS, removeNamespace } from './_ship';

const ID = `${NS}/dirs`;

test("an edit in one .dir() reruns no container and changes only that directory's layer; the image reads the new file", async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const src = tempDir('imgsdk-e2e-dirs-src-');
  const state = tempDir('imgsdk-e2e-dirs-state-');
  const out = tempDir('imgsdk-e2e-dirs-out-');
  const code = join(src.dir, 'app');
  mkdirSync(join(code, 'lib'), { recursive: true });
  mkdirSync(join(code, 'node_modules', 'left-pad'), { recursive: true });
  writeFileSync(join(code, 'server.js'), 'version one\n');
  writeFileSync(join(code, 'lib', 'util.js'), 'module.exports = 1;\n');
  writeFileSync(join(code, 'debug.log'), 'never shipped\n');
  writeFileSync(join(code, '.dockerignore'), '*.log\nnode_modules\n');
  writeFileSync(join(code, 'node_modules', 'left-pad', 'index.js'), 'module.exports = (s) => s;\n');
  const img = () =>
    image(ID)
      .builder(bookworm)
      .packages('coreutils')
      .dir('/app/node_modules', { src: join(code, 'node_modules') })
      .dir('/app', { src: code })
      .user('nobody')
      .entrypoint('/usr/bin/cat', '/app/server.js');
  try {
    const r1 = await deploy(app(img()), { stateDir: state.dir, assemblyDir: out.dir });
    assert.ok(r1.ok, JSON.stringify(r1.images.map((i) => [i.id, i.status, i.reason])));
    const first = await runImage(docker, `${ID}:latest`);
    assert.equal([first.code, first.out], [0, 'version one\n']);
    const listed = await runImage(docker, `${ID}:latest`, ['/app/node_modules/left-pad/index.js', '/app/lib/util.js']);
    assert.is(listed.code, 0, listed.out);
    const missing = await runImage(docker, `${ID}:latest`, ['/app/debug.log']);
    assert.is.not(missing.code, 0, 'the .dockerignore left debug.log out');

    writeFileSync(join(code, 'server.js'), 'version two\n');
    const engine = counting(await connectEngine());
    const r2 = await deploy(app(img()), { stateDir: state.dir, assemblyDir: out.dir, engine: engine.engine });
    assert.ok(r2.ok, JSON.stringify(r2.images.map((i) => [i.id, i.status, i.reason])));
    assert.is(r2.images[0].status, 'built');
    assert.is(r2.images[0].reason, 'directory /app changed');
    assert.is(engine.containers(), 0, 'no builder container: only the pipeline and phase 2 ran');

    const before = (await docker.getImage(r1.images[0].digest!).inspect()).RootFS.Layers!;
    const after = (await docker.getImage(`${ID}:latest`).inspect()).RootFS.Layers!;
    assert.is(after.length, before.length);
    assert.equal(after.slice(0, -1), before.slice(0, -1), 'the rootfs and node_modules layers stay');
    assert.is.not(after[after.length - 1], before[before.length - 1], 'the /app layer is new');
    const second = await runImage(docker, `${ID}:latest`);
    assert.equal([second.code, second.out], [0, 'version two\n']);
  } finally {
    src.remove();
    state.remove();
    out.remove();
    await removeNamespace(docker);
  }
});

test('an entrypoint that is not in the image fails the deploy, naming the image and the path; nothing is tagged', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const state = tempDir('imgsdk-e2e-dirs-state-');
  const out = tempDir('imgsdk-e2e-dirs-out-');
  const typo = image(`${NS}/typo`).builder(bookworm).packages('coreutils').user('nobody').entrypoint('/usr/bin/catt');
  try {
    const r = await deploy(app(typo), { stateDir: state.dir, assemblyDir: out.dir });
    assert.not.ok(r.ok);
    assert.is(r.images[0].status, 'failed');
    assert.match(r.images[0].reason, 'entrypoint "/usr/bin/catt": /usr/bin/catt is not in the image');
    const tags = (await docker.listImages()).flatMap((i) => i.RepoTags ?? []).filter((t) => t.startsWith(`${NS}/typo:`));
    assert.equal(tags, [], 'a failed image is not tagged');
  } finally {
    state.remove();
    out.remove();
    await removeNamespace(docker);
  }
});

test.run();
