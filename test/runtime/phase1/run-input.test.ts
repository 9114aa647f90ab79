/**
 * What the builder container of phase 1 is given: only what the phase-1 key
 * covers, so a rootfs cached under that key can never miss something phase 1 read.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { extract, pack } from 'tar-stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { phase1View } from '../../../src/contract/assembly';
import type { ContainerHandle, Engine } from '../../../src/runtime/engine/engine';
import { runPhase1 } from '../../../src/runtime/phase1/run';
import { StateDir } from '../../../src/runtime/store/state';
import { gentoo } from '../../../src/sdk/builder';
import { image } from '../../../src/sdk/image';
import { synth } from '../../../src/sdk/synth';

/** The files of a tar, by name. */
async function untar(tar: Buffer): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const ex = extract();
  ex.on('entry', (h, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (d: unknown) => void chunks.push(d as Buffer));
    stream.on('end', () => {
      out.set(h.name, Buffer.concat(chunks).toString('utf8'));
      next();
    });
  });
  const done = new Promise<void>((r) => ex.on('finish', () => r()));
  ex.end(tar);
  await done;
  return out;
}

/** What a builder leaves in /imgsdk/out: an empty rootfs and no packages. */
async function outTar(): Promise<Readable> {
  const rootfs = await (async () => {
    const p = pack();
    p.finalize();
    return buffer(Readable.from(p));
  })();
  const p = pack();
  p.entry({ name: 'out/rootfs.tar' }, rootfs);
  p.entry({ name: 'out/packages.json' }, '[]');
  p.finalize();
  return Readable.from(await buffer(Readable.from(p)));
}

test('phase 1 gets the definition cut to its phase-1 part, no files/, and build.sh with the phase-1 key', async () => {
  const root = mkdtempSync(join(tmpdir(), 'imgsdk-phase1-input-'));
  try {
    const bob = gentoo.builder('kubler/bob', { stage3: 'amd64-hardened-nomultilib' });
    const tool = image('kubler/tool')
      .builder(bob)
      .packages('app-misc/jq')
      .use('app-misc/jq', '-oniguruma')
      .account({ user: 'tool', uid: 2000 })
      .file('/etc/tool.conf', 'secret=1\n')
      .env('A', '1')
      .entrypoint('/usr/bin/jq')
      .user('tool')
      .finishRootfs('rm -rf "$ROOT/usr/share/doc"');
    const asm = await synth(tool, { outdir: join(root, 'out') });
    const m = asm.manifest.images['kubler/tool'];
    const def = asm.images.get('kubler/tool')!;
    const put = new Map<string, Buffer>();
    const container = {
      putArchive: async (path: string, tar: Buffer | Readable) => void put.set(path, Buffer.isBuffer(tar) ? tar : await buffer(tar)),
      run: async () => 0,
      tail: () => '',
      getArchive: async () => outTar(),
    } as unknown as ContainerHandle;
    const engine = { withContainer: (_o: unknown, fn: (c: ContainerHandle) => Promise<unknown>) => fn(container) } as unknown as Engine;
    const state = new StateDir(join(root, 'state'));
    const rec = await runPhase1({
      engine,
      state,
      def,
      key: m.phase1Key!,
      builder: asm.builders.get('kubler/bob')!,
      builderRef: 'bob:1',
      imageDir: join(root, 'out', m.dir),
      parentPackages: ['sys-libs/glibc-2.39'],
    });
    assert.is(rec.key, m.phase1Key);

    const given = await untar(put.get('/imgsdk/in')!);
    assert.not.ok(
      [...given.keys()].some((n) => n.startsWith('files/')),
      `no files/: ${[...given.keys()].join(', ')}`,
    );
    const json = JSON.parse(given.get('image.json')!) as Record<string, unknown>;
    assert.equal(json, JSON.parse(JSON.stringify(phase1View(def, 'gentoo'))));
    assert.equal(Object.keys(json).sort(), ['accounts', 'hooks', 'id', 'packages', 'portage']);
    assert.match(given.get('build.sh')!, `IMGSDK_KEY='${m.phase1Key}'`);
    assert.not.match(given.get('build.sh')!, m.key);
    assert.is(given.get('parent-packages.list'), 'sys-libs/glibc-2.39\n');
    assert.ok(given.has('hooks/finish-rootfs.sh') && given.has('portage/package.use/imgsdk'), [...given.keys()].join(', '));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
