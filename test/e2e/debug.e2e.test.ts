import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, deploy, image } from '../../src';
import { bookworm, tempDir } from './_app';
import { engineOrSkip } from '../_kit/engine';
import { NS, removeNamespace, run } from './_ship';

const ID = `${NS}/quiet`;
// No packages and no shell: only a file. Its debug variant brings Debian's busybox-static.
const quiet = image(ID).builder(bookworm).file('/etc/motd', 'nothing to run here\n').user('nobody').debug();

test('.debug() adds <id>:debug = the image plus a busybox layer; the default tags stay without a shell', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const state = tempDir('imgsdk-e2e-state-');
  const out = tempDir('imgsdk-e2e-out-');
  try {
    const r = await deploy(app(quiet), { stateDir: state.dir, assemblyDir: out.dir });
    assert.ok(r.ok, JSON.stringify(r.images.map((i) => [i.id, i.reason])));
    const img = r.images[0];
    assert.is(img.debug, `${ID}:debug`);
    assert.not.ok(img.tags.includes(`${ID}:debug`), 'debug is never a default tag');

    const base = await docker.getImage(`${ID}:latest`).inspect();
    const dbg = await docker.getImage(`${ID}:debug`).inspect();
    assert.is.not(dbg.Id, base.Id);
    assert.equal(dbg.RootFS.Layers!.slice(0, -1), base.RootFS.Layers, 'the image layers, then one more');
    assert.is(dbg.RootFS.Layers!.length, base.RootFS.Layers!.length + 1);
    assert.match(dbg.Config.Labels['org.imgsdk.debug'], /^busybox-static 1:/);
    assert.ok(dbg.Config.Env.some((e) => e.startsWith('PATH=') && e.endsWith(':/busybox')));

    const ran = await run(docker, `${ID}:debug`, ['-c', 'cat /etc/motd; id -u'], ['/busybox/sh']);
    assert.is(ran.code, 0, ran.out);
    assert.equal(ran.out.trim().split('\n'), ['nothing to run here', '65534']);
    const none = await run(docker, `${ID}:latest`, ['-c', 'true'], ['/busybox/sh']).catch((e: Error) => ({ code: -1, out: e.message }));
    assert.is.not(none.code, 0, 'latest has no busybox');

    // A second deploy is a cache hit and keeps :debug as it was.
    const again = await deploy(app(quiet), { stateDir: state.dir, assemblyDir: out.dir });
    assert.is(again.images[0].status, 'cached');
    assert.is((await docker.getImage(`${ID}:debug`).inspect()).Id, dbg.Id);
  } finally {
    await removeNamespace(docker);
    state.remove();
    out.remove();
  }
});

test.run();
