import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, deploy, image } from '../../src';
import { candidateTag } from '../../src/runtime/image/load';
import { tempDir } from './_app';
import { engineOrSkip } from '../_kit/engine';
import { busybox, leftoverContainers, NS, removeNamespace } from './_ship';

const ID = `${NS}/checked`;
// Children of busybox that only add a file: no builder container, the tests are what runs.
const version = (v: string) =>
  image(ID)
    .from(busybox)
    .file('/version', `${v}\n`)
    .test(['/bin/busybox', 'grep', '-qx', '1', '/version'])
    .test('/bin/busybox test -s /version');

test('a passing .test() tags the image; a failing one fails the deploy, removes the new tag and leaves the previous image under latest', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const state = tempDir('imgsdk-e2e-state-');
  const out = tempDir('imgsdk-e2e-out-');
  try {
    const good = await deploy(app(version('1')), { stateDir: state.dir, assemblyDir: out.dir });
    assert.ok(good.ok, JSON.stringify(good.images.map((i) => [i.id, i.reason])));
    const v1 = good.images.find((i) => i.id === ID)!;
    assert.is((await docker.getImage(`${ID}:latest`).inspect()).Id, v1.digest);

    const bad = await deploy(app(version('2')), { stateDir: state.dir, assemblyDir: out.dir });
    assert.not.ok(bad.ok);
    const v2 = bad.images.find((i) => i.id === ID)!;
    assert.is(v2.status, 'failed');
    assert.match(v2.reason, `${ID}: test \`["/bin/busybox","grep","-qx","1","/version"]\` failed (exit 1)`);
    assert.is((await docker.getImage(`${ID}:latest`).inspect()).Id, v1.digest, 'latest still points at the previous image');
    const key12 = v2.tags[1].split(':')[1];
    const tags = (await docker.listImages()).flatMap((i) => i.RepoTags ?? []).filter((t) => t.startsWith(`${ID}:`));
    assert.not.ok(tags.includes(`${ID}:${key12}`), 'the new key tag is gone');
    assert.not.ok(
      tags.some((t) => t.includes('imgsdk-candidate')),
      `no candidate tag left: ${tags}`,
    );
    assert.not.ok(tags.includes(candidateTag(ID, key12)));
    assert.equal(await leftoverContainers(docker), [], 'test containers are removed');
  } finally {
    await removeNamespace(docker);
    state.remove();
    out.remove();
  }
});

test('.healthcheck() starts the image and waits until healthy; an unhealthy image fails the deploy and is not tagged', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const state = tempDir('imgsdk-e2e-state-');
  const out = tempDir('imgsdk-e2e-out-');
  const server = (id: string, probe: string) =>
    image(`${NS}/${id}`)
      .from(busybox)
      .entrypoint('/bin/busybox', 'sleep', '120')
      .healthcheck({ cmd: ['/bin/busybox', probe], interval: 1, timeout: 2, retries: 1, startPeriod: 0 });
  try {
    const r = await deploy(app(server('healthy', 'true'), server('sick', 'false')), { stateDir: state.dir, assemblyDir: out.dir });
    const healthy = r.images.find((i) => i.id === `${NS}/healthy`)!;
    const sick = r.images.find((i) => i.id === `${NS}/sick`)!;
    assert.is(healthy.status, 'built', healthy.reason);
    assert.is((await docker.getImage(`${NS}/healthy:latest`).inspect()).Id, healthy.digest);
    assert.is(sick.status, 'failed');
    assert.match(sick.reason, `${NS}/sick: healthcheck \`/bin/busybox false\` reports unhealthy`);
    const tags = (await docker.listImages()).flatMap((i) => i.RepoTags ?? []).filter((t) => t.startsWith(`${NS}/sick:`));
    assert.equal(tags, []);
    assert.equal(await leftoverContainers(docker), [], 'health check containers are removed');
  } finally {
    await removeNamespace(docker);
    state.remove();
    out.remove();
  }
});

test.run();
