/**
 * `imgsdk clean` against the real engine: only this app's images and this state
 * directory's containers go; another app's images stay. The test touches only
 * images it made (a namespace unique to the run).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { executeClean, planClean } from '../../src/runtime/deploy/clean';
import { engineFromDocker } from '../../src/runtime/engine/docker';
import { recordUses } from '../../src/runtime/store/users';
import { tempDir } from './_app';
import { engineOrSkip } from '../_kit/engine';
import { NS, removeNamespace } from './_ship';

async function tinyTar(): Promise<Buffer> {
  const p = pack();
  p.entry({ name: 'hello', mode: 0o644, uid: 0, gid: 0, mtime: new Date(0) }, 'hi\n');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test("clean removes this app's images and stale tags, and leaves another app's alone", async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const engine = engineFromDocker(docker);
  const state = tempDir('imgsdk-e2e-clean-');
  try {
    mkdirSync(join(state.dir, 'state'));
    const mine = `${NS}/mine`;
    const theirs = `${NS}/theirs`;
    const key = 'a'.repeat(64);
    for (const [id, k, tag] of [
      [mine, key, 'aaaaaaaaaaaa'],
      [mine, 'b'.repeat(64), 'bbbbbbbbbbbb'],
      [theirs, 'c'.repeat(64), 'cccccccccccc'],
    ]) {
      await engine.importImage(Readable.from(await tinyTar()), `${id}:${tag}`, {
        changes: [`LABEL org.imgsdk.id=${id} org.imgsdk.key=${k} org.imgsdk.test=${tag}`],
      });
    }
    await engine.tagImage(`${mine}:aaaaaaaaaaaa`, mine, 'latest');
    const scope = { ids: [mine], builders: [], keys: { [mine]: key } };

    const stale = await planClean(engine, { stateDir: join(state.dir, 'state'), scope, stale: true });
    assert.equal(stale.tags, [`${mine}:bbbbbbbbbbbb`]);
    await executeClean(engine, stale);
    assert.is(await engine.inspectImage(`${mine}:bbbbbbbbbbbb`), null, 'the stale key tag is gone');
    assert.ok(await engine.inspectImage(`${mine}:latest`), 'the current image stays');

    const plan = await planClean(engine, { stateDir: join(state.dir, 'state'), scope });
    assert.equal(plan.images.flatMap((i) => i.repoTags).sort(), [`${mine}:aaaaaaaaaaaa`, `${mine}:latest`]);
    const r = await executeClean(engine, plan);
    assert.equal(r.failed, []);
    assert.is(await engine.inspectImage(`${mine}:latest`), null);
    assert.ok(await engine.inspectImage(`${theirs}:cccccccccccc`), "another app's image stays");
  } finally {
    await removeNamespace(docker);
    state.remove();
  }
});

test("a shared volume stays while another app uses it: the dry run and the real run of the first app keep it, the last user's clean removes it", async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const engine = engineFromDocker(docker);
  const tmp = tempDir('imgsdk-e2e-clean-shared-');
  // A volume only this test knows: a builder volume's prefix and a random part.
  const shared = `imgsdk-portage-e2e-${randomBytes(4).toString('hex')}`;
  const untouched = `imgsdk-binpkgs-e2e-${randomBytes(4).toString('hex')}`;
  try {
    const users = join(tmp.dir, 'users');
    const [a, b] = [join(tmp.dir, 'a', '.imgsdk'), join(tmp.dir, 'b', '.imgsdk')];
    for (const d of [a, b]) mkdirSync(d, { recursive: true });
    await docker.createVolume({ Name: shared });
    await docker.createVolume({ Name: untouched });
    await recordUses(users, a, { volumes: [shared] });
    await recordUses(users, b, { volumes: [shared] });

    const dry = await planClean(engine, { stateDir: a, usersDir: users });
    assert.equal(dry.volumes, []);
    assert.equal(dry.kept, [`volume ${shared} (also used by ${b})`]);
    const ran = await executeClean(engine, await planClean(engine, { stateDir: a, usersDir: users }));
    assert.equal([ran.removed.volumes, ran.failed], [0, []]);
    const names = async () => (await engine.listVolumes({ prefix: 'imgsdk-' })).map((v) => v.name);
    assert.ok((await names()).includes(shared), "the other app's volume stays");

    const last = await planClean(engine, { stateDir: b, usersDir: users });
    assert.equal(
      last.volumes.map((v) => v.name),
      [shared],
    );
    await executeClean(engine, last);
    assert.not.ok((await names()).includes(shared), "the last user's clean removes it");
    assert.ok((await names()).includes(untouched), 'a volume nobody recorded is never removed');
  } finally {
    for (const v of [shared, untouched])
      await docker
        .getVolume(v)
        .remove()
        .catch(() => undefined);
    tmp.remove();
  }
});

test.run();
