/**
 * Gentoo end to end: the kubler-nmap, nmap-musl-static and staves-bash examples
 * built for real through deploy(). Gentoo mirrors cannot be reached from the CI
 * machines, so this runs only where a stage3 image is given:
 *
 *   IMGSDK_GENTOO_STAGE3=<glibc stage3 image>        (e.g. gentoo/stage3:amd64-hardened-nomultilib-openrc)
 *   IMGSDK_GENTOO_STAGE3_MUSL=<musl stage3 image>    (optional: nmap-musl-static, staves/bash-musl)
 *   IMGSDK_GENTOO_PORTAGE=<gentoo/portage image>     (optional; default: the mirror's snapshot)
 *
 * Every builder of the examples is pointed at the given image (`from:`); emerge
 * still needs the network for distfiles and overlays. Otherwise the test says it
 * was not run. One test locks a small app (`imgsdk lock`: emerge --pretend) and
 * deploys it with --frozen-lock: the image holds exactly the locked versions.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ManifestBuilder } from '../../src/contract/assembly';
import { readAssembly, type LoadedAssembly } from '../../src/contract/read';
import { deploy } from '../../src/app/deploy';
import { StateDir } from '../../src/runtime/store/state';
import { engineFromDocker } from '../../src/runtime/engine/docker';
import { gentoo, image, lock } from '../../src';
import { App, type AppInput } from '../../src/sdk/app';
import { assemble, writeAssembly } from '../../src/sdk/synth';
import { engineOrSkip } from '../_kit/engine';

const STAGE3 = process.env.IMGSDK_GENTOO_STAGE3;
const STAGE3_MUSL = process.env.IMGSDK_GENTOO_STAGE3_MUSL;
const PORTAGE = process.env.IMGSDK_GENTOO_PORTAGE;

/** Synthesizes `roots` and points every Gentoo builder at the given stage3 image. */
async function assembly(dir: string, roots: AppInput[]): Promise<LoadedAssembly> {
  await writeAssembly(assemble(App.of(roots)), dir);
  const asm = await readAssembly(dir);
  const builders: Record<string, ManifestBuilder> = {};
  for (const [id, b] of Object.entries(asm.manifest.builders)) {
    const from = b.libc === 'musl' ? STAGE3_MUSL : STAGE3;
    if (b.kind !== 'gentoo' || !from) {
      builders[id] = b;
      continue;
    }
    const gentoo = { ...b.def.gentoo!, from, portage: PORTAGE ?? b.def.gentoo!.portage };
    // A builder from another stage3 is another builder: its key says so.
    const key = createHash('sha256').update(`${b.key}\0${from}\0${gentoo.portage}`).digest('hex');
    builders[id] = { ...b, key, def: { ...b.def, gentoo } };
  }
  return { ...asm, manifest: { ...asm.manifest, builders } };
}

async function build(
  name: string,
  roots: AppInput[],
  check: (asm: LoadedAssembly, run: (ref: string, cmd: string[]) => Promise<string>) => Promise<void>,
): Promise<void> {
  const docker = await engineOrSkip();
  if (!docker) return;
  const engine = engineFromDocker(docker);
  const dir = await mkdtemp(join(tmpdir(), `imgsdk-gentoo-e2e-${name}-`));
  const before = new Set((await docker.listVolumes()).Volumes?.map((v) => v.Name) ?? []);
  const made: string[] = [];
  try {
    const asm = await assembly(join(dir, 'out'), roots);
    const r = await deploy(asm, {
      stateDir: join(dir, 'state'),
      engine,
      concurrency: 1,
      onEvent: (e) => e.type === 'log' || console.log(`  ${e.type} ${e.id}${'reason' in e ? ` (${e.reason.split('\n')[0]})` : ''}`),
    });
    for (const i of r.images) made.push(...i.tags);
    for (const b of Object.values(asm.manifest.builders)) made.push(`imgsdk-builder/${b.def.id.replace(/\//g, '-')}:${b.key.slice(0, 12)}`);
    assert.ok(r.ok, r.images.map((i) => `${i.id}: ${i.status} ${i.reason}`).join('\n'));
    const run = async (ref: string, cmd: string[]) => {
      let out = '';
      const res = await engine.runContainer({ image: ref, cmd, onOutput: (c) => void (out += c.toString()) });
      assert.is(res.exitCode, 0, out);
      return out;
    };
    for (const id of Object.keys(asm.manifest.images)) {
      // PACKAGES.md as Kubler lays it out, from packages.json: Portage packages with their USE flags.
      const md = await readFile(join(dir, 'state', 'images', id, 'PACKAGES.md'), 'utf8');
      assert.match(md, /#### Installed\n\n\| Package \| Version \| Details \|[\s\S]*\| [a-z0-9-]+\/[A-Za-z0-9_+-]+ \|/, id);
      assert.match(md, /#### Inherited[\s\S]*\*\*FROM scratch\*\*[\s\S]*#### Purged/, id);
    }
    await check(asm, run);
  } finally {
    for (const ref of made) await engine.removeImage(ref, { force: true }).catch(() => false);
    if (process.env.IMGSDK_KEEP_VOLUMES !== '1') {
      for (const v of (await docker.listVolumes()).Volumes ?? [])
        if (!before.has(v.Name) && v.Name.startsWith('imgsdk-'))
          await docker
            .getVolume(v.Name)
            .remove()
            .catch(() => undefined);
    }
    await rm(dir, { recursive: true, force: true });
  }
}

if (!STAGE3) {
  test('gentoo e2e: not run', () => {
    console.log(
      '  gentoo e2e: not run -- set IMGSDK_GENTOO_STAGE3=<stage3 image> (and IMGSDK_GENTOO_STAGE3_MUSL) on a machine that reaches a Gentoo mirror',
    );
  });
} else {
  test('gentoo e2e: kubler/glibc and mynamespace/nmap build, and nmap runs as uid 1000', async () => {
    const ex = await import('../../examples/kubler-nmap/images');
    await build('nmap', [ex.nmap], async (_asm, run) => {
      assert.match(await run('mynamespace/nmap:latest', ['--version']), /Nmap version/);
    });
  });

  test('gentoo e2e: staves/bash builds and runs bash -c', async () => {
    const ex = await import('../../examples/staves-bash/images');
    await build('staves', [ex.glibcBash], async (_asm, run) => {
      assert.match(await run('staves/bash:latest', ['echo $BASH_VERSION']), /^\d+\.\d+/);
    });
  });

  test('gentoo e2e: imgsdk lock resolves with emerge --pretend, deploy --frozen-lock installs exactly the locked versions', async () => {
    const docker = await engineOrSkip();
    if (!docker) return;
    const engine = engineFromDocker(docker);
    const dir = await mkdtemp(join(tmpdir(), 'imgsdk-gentoo-e2e-lock-'));
    const before = new Set((await docker.listVolumes()).Volumes?.map((v) => v.Name) ?? []);
    const bob = gentoo.builder('gentoo-e2e/bob', { stage3: 'amd64-openrc', from: STAGE3, portage: PORTAGE ?? 'latest' });
    const jq = image('gentoo-e2e/jq').builder(bob).packages('app-misc/jq').entrypoint('/usr/bin/jq').user('nobody');
    const theApp = App.of([jq]);
    const lockFile = join(dir, 'imgsdk.lock');
    const made: string[] = [];
    try {
      const first = await lock(theApp, { lockFile, engine, log: (l) => console.log(`  ${l}`) });
      const text = await readFile(lockFile, 'utf8');
      const entry = first.lock.images['gentoo-e2e/jq'];
      const locked = entry.packages.find((p) => p.name === 'app-misc/jq')!;
      assert.ok(locked && locked.use && locked.suite === 'gentoo', text);
      assert.is((first.lock.builders['gentoo-e2e/bob'] as { snapshot?: string }).snapshot !== undefined, true);
      assert.is((await lock(theApp, { lockFile, engine })).written, false, 'two lock runs on the same snapshot write the same bytes');
      assert.is(await readFile(lockFile, 'utf8'), text);
      const r = await deploy(theApp, {
        lockFile,
        frozenLock: true,
        assemblyDir: join(dir, 'out'),
        stateDir: join(dir, 'state'),
        engine,
        concurrency: 1,
      });
      for (const i of r.images) made.push(...i.tags);
      made.push(`imgsdk-builder/gentoo-e2e-bob:${assemble(theApp).manifest.builders['gentoo-e2e/bob'].key.slice(0, 12)}`);
      assert.ok(r.ok, r.images.map((i) => `${i.id}: ${i.status} ${i.reason}`).join('\n'));
      // What phase 1 installed is what the lock says, package by package.
      const key = (await readAssembly(join(dir, 'out'))).manifest.images['gentoo-e2e/jq'].key;
      const installed = (await new StateDir(join(dir, 'state')).readBuild('gentoo-e2e/jq', key))!.packages;
      for (const p of entry.packages)
        assert.ok(
          installed.some((q) => q.name === p.name && q.version === p.version),
          `${p.name}-${p.version} not installed: ${JSON.stringify(installed)}`,
        );
      let out = '';
      await engine.runContainer({ image: 'gentoo-e2e/jq:latest', cmd: ['--version'], onOutput: (c) => void (out += c.toString()) });
      assert.match(out, new RegExp(`jq-${locked.version.replace(/-r\d+$/, '').replace(/\./g, '\\.')}`));
    } finally {
      for (const ref of made) await engine.removeImage(ref, { force: true }).catch(() => false);
      if (process.env.IMGSDK_KEEP_VOLUMES !== '1') {
        for (const v of (await docker.listVolumes()).Volumes ?? [])
          if (!before.has(v.Name) && v.Name.startsWith('imgsdk-'))
            await docker
              .getVolume(v.Name)
              .remove()
              .catch(() => undefined);
      }
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('gentoo e2e: the musl chain and the static nmap build', async () => {
    if (!STAGE3_MUSL) return console.log('  gentoo e2e (musl): not run -- set IMGSDK_GENTOO_STAGE3_MUSL=<musl stage3 image>');
    const ex = await import('../../examples/nmap-musl-static/images');
    const bash = await import('../../examples/staves-bash/images');
    await build('musl', [ex.nmapMuslStatic, bash.muslBash], async (_asm, run) => {
      assert.match(await run('mynamespace/nmap-musl-static:latest', ['--version']), /Nmap version/);
      assert.match(await run('staves/bash-musl:latest', ['echo ok']), /ok/);
    });
  });
}

test.run();
