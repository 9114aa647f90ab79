import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, deploy, image, type DeployEvent } from '../../src';
import { connectEngine } from '../../src/runtime/engine/docker';
import { buildElf } from '../runtime/rootfs/_elf-fixture';
import { bookworm, glibc, hello, removeImages, runImage, tempDir } from './_app';
import { counting, engineOrSkip } from '../_kit/engine';

const IDS = ['imgsdk-e2e/glibc', 'imgsdk-e2e/hello', 'imgsdk-e2e/broken', 'imgsdk-e2e/copied'];

test('a parent and a child build from Debian packages, run, and a second deploy is all cache hits', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const state = tempDir('imgsdk-e2e-state-');
  const out = tempDir('imgsdk-e2e-out-');
  try {
    await removeImages(docker, IDS);
    const first = counting(await connectEngine());
    const events: DeployEvent[] = [];
    const r1 = await deploy(app(glibc, hello), {
      stateDir: state.dir,
      assemblyDir: out.dir,
      engine: first.engine,
      onEvent: (e) => events.push(e),
    });
    assert.ok(r1.ok, JSON.stringify(r1.images.map((i) => [i.id, i.status, i.reason])));
    assert.equal(
      r1.images.map((i) => [i.id, i.status]),
      [
        ['imgsdk-e2e/glibc', 'built'],
        ['imgsdk-e2e/hello', 'built'],
      ],
    );
    assert.ok(first.containers() >= 2, 'phase 1 ran in builder containers');
    // Where the time went: each step of each build, as events and in the result.
    for (const img of r1.images) {
      const timed = events.flatMap((e) => (e.type === 'timing' && e.id === img.id ? [e] : []));
      const steps = new Set(timed.map((e) => e.step));
      for (const s of [
        'builder',
        'container',
        'apt-update',
        'apt-download',
        'apt-install',
        'files',
        'rootfs-tar',
        'stream',
        'pipeline',
        'layer',
        'load',
      ] as const) {
        assert.ok(steps.has(s), `${img.id}: ${s} is timed (${[...steps].join(', ')})`);
      }
      assert.equal(
        Object.values(img.timings ?? {}).reduce((n, ms) => n + ms, 0),
        timed.reduce((n, e) => n + e.ms, 0),
        'the result sums the events',
      );
    }

    const parent = await runImage(docker, 'imgsdk-e2e/glibc:latest');
    assert.equal(parent.code, 0, parent.out);
    assert.match(parent.out, /GNU C Library/);
    assert.equal(parent.user, '65534:65534');
    const child = await runImage(docker, 'imgsdk-e2e/hello:latest');
    assert.equal(child.code, 0, child.out);
    assert.match(child.out, /Hello, world!/);

    // hello's own layer holds hello, not glibc again: libc6 came from the parent.
    const helloPkgs = r1.images[1];
    assert.ok((helloPkgs.size ?? 0) > 0);

    const second = counting(await connectEngine());
    const r2 = await deploy(app(glibc, hello), { stateDir: state.dir, assemblyDir: out.dir, engine: second.engine });
    assert.equal(
      r2.images.map((i) => [i.id, i.status]),
      [
        ['imgsdk-e2e/glibc', 'cached'],
        ['imgsdk-e2e/hello', 'cached'],
      ],
    );
    assert.equal(second.containers(), 0, 'a cached deploy starts no container');
    assert.equal(
      r2.images.map((i) => i.digest),
      r1.images.map((i) => i.digest),
    );
  } finally {
    state.remove();
    out.remove();
  }
});

test('two deploys from a clean state give identical image digests', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const digests: string[][] = [];
  for (let round = 0; round < 2; round++) {
    const state = tempDir('imgsdk-e2e-state-');
    const out = tempDir('imgsdk-e2e-out-');
    try {
      await removeImages(docker, IDS);
      const r = await deploy(app(glibc, hello), { stateDir: state.dir, assemblyDir: out.dir });
      assert.ok(r.ok, JSON.stringify(r.images.map((i) => [i.id, i.status, i.reason])));
      assert.ok(r.images.every((i) => i.status === 'built'));
      digests.push(r.images.map((i) => i.digest!));
    } finally {
      state.remove();
      out.remove();
    }
  }
  assert.equal(digests[1], digests[0]);
});

test('.copy() brings a binary from another image with its ELF closure, into a scratch image that runs', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const state = tempDir('imgsdk-e2e-state-');
  const out = tempDir('imgsdk-e2e-out-');
  const copied = image('imgsdk-e2e/copied')
    .builder(bookworm)
    .copy({ from: hello, paths: ['/usr/bin/hello'] })
    .user('nobody')
    .entrypoint('/usr/bin/hello');
  try {
    const r = await deploy(app(copied), { stateDir: state.dir, assemblyDir: out.dir });
    assert.ok(r.ok, JSON.stringify(r.images.map((i) => [i.id, i.status, i.reason])));
    const ran = await runImage(docker, 'imgsdk-e2e/copied:latest');
    assert.equal(ran.code, 0, ran.out);
    assert.match(ran.out, /Hello, world!/);
    const small = r.images.find((i) => i.id === 'imgsdk-e2e/copied')!.size!;
    const whole = r.images.find((i) => i.id === 'imgsdk-e2e/hello')!.size!;
    assert.ok(small < whole, `the copy (${small} B) holds less than the image it copies from (${whole} B)`);
  } finally {
    state.remove();
    out.remove();
    await removeImages(docker, IDS);
  }
});

test('a binary that needs a library no layer has fails the deploy, naming the binary and the soname', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const state = tempDir('imgsdk-e2e-state-');
  const out = tempDir('imgsdk-e2e-out-');
  const tool = buildElf({ class: 64, endian: 'little', interp: '/lib64/ld-linux-x86-64.so.2', needed: ['libstdc++.so.6', 'libc.so.6'] });
  const broken = image('imgsdk-e2e/broken').from(glibc).file('/usr/bin/tool', tool, { mode: 0o755 }).entrypoint('/usr/bin/tool');
  try {
    const r = await deploy(app(broken), { stateDir: state.dir, assemblyDir: out.dir });
    assert.not.ok(r.ok);
    const failed = r.images.find((i) => i.id === 'imgsdk-e2e/broken')!;
    assert.equal(failed.status, 'failed');
    assert.match(failed.reason, 'usr/bin/tool needs libstdc++.so.6');
    assert.not.match(failed.reason, 'libc.so.6,');
    const tags = (await docker.listImages()).flatMap((i) => i.RepoTags ?? []).filter((t) => t.startsWith('imgsdk-e2e/broken:'));
    assert.equal(tags, [], 'a failed image is not tagged');
  } finally {
    state.remove();
    out.remove();
    await removeImages(docker, IDS);
  }
});

test.run();
