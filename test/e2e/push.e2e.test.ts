import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, deploy, image } from '../../src';
import { bookworm, tempDir } from './_app';
import { engineOrSkip } from '../_kit/engine';
import { busybox, leftoverContainers, NS, removeNamespace, run, startAuthGate, startRegistry } from './_ship';

const note = image(`${NS}/note`).builder(bookworm).file('/note.txt', 'pushed and pulled\n').user('nobody').debug();

test('deploy --push sends every image with its tags to a loopback registry; pulled back by digest, it runs', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const registry = await startRegistry();
  const state = tempDir('imgsdk-e2e-state-');
  const out = tempDir('imgsdk-e2e-out-');
  try {
    const r = await deploy(app(busybox, note), { stateDir: state.dir, assemblyDir: out.dir, push: registry.address });
    assert.ok(r.ok, JSON.stringify(r.images.map((i) => [i.id, i.status, i.reason])));
    const bb = r.images.find((i) => i.id === `${NS}/busybox`)!;
    const key12 = bb.tags[1].split(':')[1];
    assert.equal(
      bb.pushed!.map((p) => p.ref),
      [`${registry.address}/${NS}/busybox:latest`, `${registry.address}/${NS}/busybox:${key12}`],
    );
    assert.ok(
      bb.pushed!.every((p) => /^sha256:[0-9a-f]{64}$/.test(p.digest ?? '')),
      JSON.stringify(bb.pushed),
    );
    // The debug variant goes too, under its own tag only.
    const noteRefs = r.images.find((i) => i.id === `${NS}/note`)!.pushed!.map((p) => p.ref.split(':').pop());
    assert.equal(noteRefs.slice(-1), ['debug']);

    const tags = (await (await fetch(`http://${registry.address}/v2/${NS}/busybox/tags/list`)).json()) as { tags: string[] };
    // The provenance is attached under cosign's tag for the pushed manifest (provenance.e2e.test.ts reads it).
    assert.equal(tags.tags.sort(), [key12, 'latest', `sha256-${bb.pushed![0].digest!.slice(7)}.att`].sort());

    const byDigest = `${registry.address}/${NS}/busybox@${bb.pushed![0].digest}`;
    await removeNamespace(docker);
    const stream = await docker.pull(byDigest);
    await new Promise<void>((res, rej) => docker.modem.followProgress(stream, (err: unknown) => (err ? rej(err) : res())));
    const pulled = await docker.getImage(byDigest).inspect();
    assert.is(pulled.Id, bb.digest, 'the pulled image is the built one');
    const ran = await run(docker, byDigest, ['echo', 'hello from the registry']);
    assert.is(ran.code, 0, ran.out);
    assert.is(ran.out.trim(), 'hello from the registry');
  } finally {
    await registry.stop();
    await removeNamespace(docker);
    await removeNamespace(docker, registry.address);
    state.remove();
    out.remove();
  }
});

test('a push that fails fails the deploy and names the image', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const registry = await startRegistry();
  const address = registry.address;
  await registry.stop(); // nothing listens there any more
  const state = tempDir('imgsdk-e2e-state-');
  const out = tempDir('imgsdk-e2e-out-');
  try {
    const r = await deploy(app(note), { stateDir: state.dir, assemblyDir: out.dir, push: address });
    assert.not.ok(r.ok);
    const failed = r.images.find((i) => i.id === `${NS}/note`)!;
    assert.is(failed.status, 'failed');
    assert.match(failed.reason, `${NS}/note: push of ${address}/${NS}/note:latest failed`);
    assert.equal(await leftoverContainers(docker), []);
  } finally {
    await removeNamespace(docker);
    state.remove();
    out.remove();
  }
});

test('credentials from IMGSDK_REGISTRY_USER/_PASSWORD reach a registry behind Basic auth; without them the push fails', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const registry = await startRegistry();
  const gate = await startAuthGate(registry.address, 'ci', 's3cret');
  const state = tempDir('imgsdk-e2e-state-');
  const out = tempDir('imgsdk-e2e-out-');
  const saved = { u: process.env.IMGSDK_REGISTRY_USER, p: process.env.IMGSDK_REGISTRY_PASSWORD, c: process.env.DOCKER_CONFIG };
  const restore = (k: string, v: string | undefined) => (v === undefined ? delete process.env[k] : (process.env[k] = v));
  try {
    process.env.DOCKER_CONFIG = out.dir; // no config.json there: only the environment counts
    delete process.env.IMGSDK_REGISTRY_USER;
    delete process.env.IMGSDK_REGISTRY_PASSWORD;
    const anonymous = await deploy(app(note), { stateDir: state.dir, assemblyDir: out.dir, push: gate.address });
    assert.not.ok(anonymous.ok);
    assert.match(anonymous.images[0].reason, `${NS}/note: push of ${gate.address}/${NS}/note:latest failed`);
    assert.ok(gate.denied() > 0);

    process.env.IMGSDK_REGISTRY_USER = 'ci';
    process.env.IMGSDK_REGISTRY_PASSWORD = 's3cret';
    const r = await deploy(app(note), { stateDir: state.dir, assemblyDir: out.dir, push: gate.address });
    assert.ok(r.ok, JSON.stringify(r.images.map((i) => [i.id, i.reason])));
    const tags = (await (await fetch(`http://${registry.address}/v2/${NS}/note/tags/list`)).json()) as { tags: string[] };
    assert.ok(tags.tags.includes('latest') && tags.tags.includes('debug'), JSON.stringify(tags));

    // The same from the Docker config's auths.
    delete process.env.IMGSDK_REGISTRY_USER;
    delete process.env.IMGSDK_REGISTRY_PASSWORD;
    writeFileSync(
      join(out.dir, 'config.json'),
      JSON.stringify({ auths: { [`http://${gate.address}`]: { auth: Buffer.from('ci:s3cret').toString('base64') } } }),
    );
    const fromConfig = await deploy(app(note), { stateDir: state.dir, assemblyDir: out.dir, push: gate.address });
    assert.ok(fromConfig.ok, JSON.stringify(fromConfig.images.map((i) => [i.id, i.reason])));
    assert.is(fromConfig.images[0].status, 'cached', 'a cached image is pushed too');
  } finally {
    restore('IMGSDK_REGISTRY_USER', saved.u);
    restore('IMGSDK_REGISTRY_PASSWORD', saved.p);
    restore('DOCKER_CONFIG', saved.c);
    await gate.stop();
    await registry.stop();
    await removeNamespace(docker);
    state.remove();
    out.remove();
  }
});

test.run();
