/**
 * After a SIGKILLed deploy: its builder container stays (Exited), because nothing
 * was left to remove it. The next deploy of the same state directory removes it,
 * and leaves other state directories' containers alone.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, deploy, image } from '../../src';
import { stateIdentity } from '../../src/runtime/deploy/leftovers';
import { bookworm, tempDir } from './_app';
import { testBuilderImage } from '../_kit/builder';
import { engineOrSkip } from '../_kit/engine';
import { NS, removeNamespace } from './_ship';

test('the next deploy removes the containers a killed deploy of this state directory left, and no other', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const state = tempDir('imgsdk-e2e-leftover-state-');
  const other = tempDir('imgsdk-e2e-leftover-other-');
  const out = tempDir('imgsdk-e2e-leftover-out-');
  const made: string[] = [];
  try {
    const img = await testBuilderImage(docker);
    // What a SIGKILLed deploy leaves: its labelled build container, stopped.
    for (const dir of [state.dir, other.dir]) {
      const c = await docker.createContainer({
        Image: img,
        Cmd: ['true'],
        Labels: { 'org.imgsdk': '1', 'org.imgsdk.image': `${NS}/dead`, 'org.imgsdk.state': stateIdentity(dir) },
      });
      made.push(c.id);
      await c.start();
      await c.wait();
    }
    const note = image(`${NS}/after-kill`).builder(bookworm).file('/note', 'x\n').user('nobody');
    const r = await deploy(app(note), { stateDir: state.dir, assemblyDir: out.dir });
    assert.ok(r.ok, r.images[0].reason);
    const left = (await docker.listContainers({ all: true })).map((c) => c.Id);
    assert.not.ok(left.includes(made[0]), 'the leftover of this state directory is gone');
    assert.ok(left.includes(made[1]), "another state directory's container stays");
  } finally {
    for (const id of made)
      await docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => undefined);
    await removeNamespace(docker);
    state.remove();
    other.remove();
    out.remove();
  }
});

test.run();
