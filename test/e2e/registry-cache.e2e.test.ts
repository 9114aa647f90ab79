import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, deploy, image, type DeployEvent } from '../../src';
import { bookworm, removeImages, runImage, tempDir } from './_app';
import { engineOrSkip } from '../_kit/engine';
import { startRegistry, type Registry } from './_ship';

// Unique per run: the shared engine and registry never see another run's names.
const NS = `imgsdk-cache-${randomBytes(4).toString('hex')}`;
const glibc = image(`${NS}/glibc`).builder(bookworm).packages('libc6').user('nobody').entrypoint('/usr/lib/x86_64-linux-gnu/libc.so.6');
const hello = image(`${NS}/hello`).from(glibc).packages('hello').entrypoint('/usr/bin/hello');
const ids = [`${NS}/glibc`, `${NS}/hello`];

/** One "machine": its own state directory and assembly, its events. */
async function machine(cache: string, opts: { load?: boolean } = {}) {
  const state = tempDir('imgsdk-e2e-cache-state-');
  const out = tempDir('imgsdk-e2e-cache-out-');
  const events: DeployEvent[] = [];
  try {
    const r = await deploy(app(glibc, hello), {
      stateDir: state.dir,
      assemblyDir: out.dir,
      cache,
      load: opts.load,
      onEvent: (e) => events.push(e),
    });
    return { r, events, phase1: existsSync(join(state.dir, 'rootfs')) };
  } finally {
    state.remove();
    out.remove();
  }
}

// One registry for the file: the second test tampers with what the first published.
let registry: Registry | undefined;
let firstDigests: (string | undefined)[] = [];

test.after(async () => {
  await registry?.stop();
});

const building = (events: readonly DeployEvent[]) =>
  events.filter((e) => e.type === 'building').map((e) => `${e.id} ${(e as { phase: string }).phase}`);

test('two state directories sharing a registry cache: the second deploys the whole app with no builder container and the same digests', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  registry = await startRegistry();
  const cache = `${registry.address}/ci-cache`;
  try {
    const first = await machine(cache);
    firstDigests = first.r.images.map((i) => i.digest);
    assert.ok(first.r.ok, JSON.stringify(first.r.images.map((i) => [i.id, i.status, i.reason])));
    assert.equal(
      first.r.images.map((i) => i.status),
      ['built', 'built'],
    );
    assert.ok(building(first.events).includes(`${NS}/hello phase1`), 'the first machine builds');

    // Both entries of each key are in the registry: the image under the key, the build artifact next to it.
    for (const img of first.r.images) {
      const key = img.tags[1].split(':')[1];
      const tags = ((await (await fetch(`http://${registry.address}/v2/ci-cache/${img.id}/tags/list`)).json()) as { tags: string[] }).tags;
      assert.equal(tags.map((t) => t.slice(0, 12)).sort(), [key, key].sort(), `${img.id}: ${tags.join(', ')}`);
      assert.ok(
        tags.some((t) => t.endsWith('.build')),
        `${img.id}: ${tags.join(', ')}`,
      );
    }

    // The second machine's engine has none of the app's images.
    await removeImages(docker, ids);
    const second = await machine(cache);
    assert.ok(second.r.ok, JSON.stringify(second.r.images.map((i) => [i.id, i.status, i.reason])));
    assert.equal(building(second.events), [], 'no builder, phase 1, pipeline or phase 2 on the second machine');
    assert.not.ok(second.phase1, 'no rootfs was made on the second machine');
    assert.equal(
      second.r.images.map((i) => i.status),
      ['cached', 'cached'],
    );
    assert.match(second.r.images[1].reason, `is in the registry cache ${cache}`);
    assert.equal(
      second.r.images.map((i) => i.digest),
      first.r.images.map((i) => i.digest),
      'the same image ids',
    );
    assert.ok(second.r.images[1].report?.length, 'PACKAGES.md came along');

    const inspected = await docker.getImage(`${NS}/hello:latest`).inspect();
    assert.is(inspected.Id, first.r.images[1].digest);
    const ran = await runImage(docker, `${NS}/hello:latest`);
    assert.is(ran.code, 0, ran.out);
    assert.match(ran.out, 'Hello, world!');

    // --no-load: the state directory alone, still no builder.
    const third = await machine(cache, { load: false });
    assert.ok(third.r.ok, JSON.stringify(third.r.images.map((i) => [i.id, i.status, i.reason])));
    assert.equal(building(third.events), []);
    assert.equal(
      third.r.images.map((i) => i.digest),
      first.r.images.map((i) => i.digest),
    );
  } finally {
    await removeImages(docker, ids);
  }
});

test('a cache entry that names another key is refused, naming the image and the registry entry', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  assert.ok(registry && firstDigests.length, 'the first test published the app');
  const base = `http://${registry!.address}/v2/ci-cache/${NS}/glibc`;
  const cache = `${registry!.address}/ci-cache`;
  const tags = ((await (await fetch(`${base}/tags/list`)).json()) as { tags: string[] }).tags;
  // One key per image in this registry: glibc's build entry.
  const tag = tags.find((t) => t.endsWith('.build'))!;
  const type = 'application/vnd.oci.image.manifest.v1+json';
  const manifest = (await (await fetch(`${base}/manifests/${tag}`, { headers: { Accept: type } })).json()) as {
    annotations: Record<string, string>;
  };
  manifest.annotations['org.imgsdk.key'] = 'f'.repeat(64);
  const put = await fetch(`${base}/manifests/${tag}`, { method: 'PUT', headers: { 'Content-Type': type }, body: JSON.stringify(manifest) });
  assert.is(put.status, 201);

  const second = await machine(cache, { load: false });
  assert.not.ok(second.r.ok);
  const failed = second.r.images[0];
  assert.is(failed.status, 'failed');
  assert.match(failed.reason, `${NS}/glibc: registry cache entry ${cache}/${NS}/glibc:${tag}: carries key ${'f'.repeat(64)}`);
  assert.equal(building(second.events), [], 'nothing was built from a refused entry');
});

test.run();
