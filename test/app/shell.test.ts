/**
 * `imgsdk shell` decides what the interactive container gets before anything
 * starts: the builder (through the one builder dispatch deploy uses too), the image
 * dir, the parents' packages, the network. A fake engine answers the builder lookup.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract } from 'tar-stream';
import { Readable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { shellContainer } from '../../src/app/shell';
import { UsageError } from '../../src/contract/errors';
import { readAssembly } from '../../src/contract/read';
import { bootstrapKey, builderRef } from '../../src/runtime/phase1/builders/debian';
import { aptCacheMount } from '../../src/runtime/phase1/builders/apt-cache';
import type { Engine, ImageInfo } from '../../src/runtime/engine/engine';
import { LABEL_KEY } from '../../src/contract/labels';
import { app } from '../../src/sdk/app';
import { debian } from '../../src/sdk/builder';
import { image } from '../../src/sdk/image';
import { synth } from '../../src/sdk/synth';

const deb = debian.builder('shell/bookworm', { suite: 'bookworm', network: 'host' });
const base = image('shell/base').builder(deb).packages('libc6').user('nobody');
const web = image('shell/web').from(base).packages('hello').entrypoint('/usr/bin/hello');

/** An engine that has the builder image and fails on anything else. */
function engineWithBuilder(): { engine: Engine; asked: string[] } {
  const asked: string[] = [];
  const ref = builderRef(deb.def, bootstrapKey(deb.def));
  const engine = new Proxy({} as Engine, {
    get: (_t, name) =>
      name === 'inspectImage'
        ? async (r: string): Promise<ImageInfo | null> => (
            asked.push(r),
            r === ref ? { id: 'sha256:' + 'b'.repeat(64), repoTags: [r], labels: { [LABEL_KEY]: bootstrapKey(deb.def) }, size: 1 } : null
          )
        : name === 'then'
          ? undefined
          : () => {
              throw new Error(`the shell asked the engine for ${String(name)}`);
            },
  });
  return { engine, asked };
}

async function names(tar: Buffer): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const x = extract();
  const done = new Promise<void>((ok, fail) => {
    x.on('entry', (h, s, next) => {
      const chunks: Buffer[] = [];
      s.on('data', (c) => chunks.push(c as Buffer));
      s.on('end', () => ((out[h.name.replace(/^\.\//, '')] = Buffer.concat(chunks).toString()), next()));
    });
    x.on('finish', ok);
    x.on('error', fail);
  });
  Readable.from(tar).pipe(x);
  await done;
  return out;
}

test('a Debian image: its builder image, the builder network, the image dir with an empty parent list, and a log line for the parent not built', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-app-shell-'));
  try {
    await synth(app(web), { outdir: join(dir, 'out') });
    const assembly = await readAssembly(join(dir, 'out'));
    const { engine, asked } = engineWithBuilder();
    const log: string[] = [];
    const c = await shellContainer(engine, { assembly, stateDir: join(dir, 'state'), log: (l) => log.push(l) }, 'shell/web');
    assert.is(c.image, builderRef(deb.def, bootstrapKey(deb.def)));
    assert.equal(asked, [c.image], 'one lookup: the builder is up to date');
    assert.is(c.network, 'host');
    assert.is(c.forImage, 'shell/web');
    assert.equal(c.mounts, [aptCacheMount(bootstrapKey(deb.def))], "the builder's .deb cache");
    assert.match(c.cmd.join(' '), /sh \/imgsdk\/in\/build\.sh runs the build/);
    assert.equal(
      c.put?.map((p) => p.path),
      ['/imgsdk/in', '/imgsdk/scripts'],
    );
    const files = await names(c.put![0].tar);
    assert.is(files['parent-packages.list'], '');
    assert.ok(files['image.json'], 'the image dir of the assembly');
    assert.ok(
      log.some((l) => l.includes('shell/base is not built at its current key')),
      log.join('\n'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unknown image id is a usage error naming the images, before the engine is asked', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-app-shell-'));
  try {
    await synth(app(web), { outdir: join(dir, 'out') });
    const { engine, asked } = engineWithBuilder();
    const err = await shellContainer(
      engine,
      { assembly: await readAssembly(join(dir, 'out')), stateDir: join(dir, 'state') },
      'shell/nope',
    ).catch((e: unknown) => e);
    assert.instance(err, UsageError);
    assert.match((err as Error).message, 'no image "shell/nope" (images: shell/base, shell/web)');
    assert.equal(asked, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
