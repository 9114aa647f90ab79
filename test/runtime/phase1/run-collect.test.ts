/**
 * What phase 1 keeps of the builder's /imgsdk/out: rootfs.tar is stored, hashed, and
 * read into entries in the same pass, so the pipeline never reads the tar again.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pack } from 'tar-stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ContainerHandle, Engine } from '../../../src/runtime/engine/engine';
import { runPhase1 } from '../../../src/runtime/phase1/run';
import { StateDir } from '../../../src/runtime/store/state';
import { gentoo } from '../../../src/sdk/builder';
import { image } from '../../../src/sdk/image';
import { synth } from '../../../src/sdk/synth';

type TarEntry = { name: string; type?: 'file' | 'directory' | 'symlink'; linkname?: string; body?: string; mode?: number };

async function tarOf(entries: readonly TarEntry[]): Promise<Buffer> {
  const p = pack();
  for (const e of entries)
    p.entry(
      { name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: e.mode ?? 0o644, uid: 0, gid: 0, mtime: new Date(0) },
      e.body ?? '',
    );
  p.finalize();
  return buffer(Readable.from(p));
}

/** Phase 1 of a (Gentoo) image whose builder leaves `rootfs` and files.tsv in /imgsdk/out. */
async function phase1Of(root: string, rootfs: readonly TarEntry[], filesTsv: string) {
  const bob = gentoo.builder('kubler/bob', { stage3: 'amd64-hardened-nomultilib' });
  const asm = await synth(image('kubler/tool').builder(bob).packages('app-misc/jq').user('nobody').entrypoint('/usr/bin/jq'), {
    outdir: join(root, 'out'),
  });
  const m = asm.manifest.images['kubler/tool'];
  const rootfsTar = await tarOf(rootfs);
  const out = await tarOf([
    { name: 'out/rootfs.tar', body: rootfsTar.toString('latin1') },
    {
      name: 'out/packages.json',
      body: '[{"name":"app-misc/jq","version":"1.7.1","arch":"amd64","source":"app-misc/jq","origin":"gentoo"}]',
    },
    { name: 'out/files.tsv', body: filesTsv },
  ]);
  const container = {
    putArchive: async () => undefined,
    run: async () => 0,
    tail: () => '',
    getArchive: async () => Readable.from(out),
  } as unknown as ContainerHandle;
  const engine = { withContainer: (_o: unknown, fn: (c: ContainerHandle) => Promise<unknown>) => fn(container) } as unknown as Engine;
  const state = new StateDir(join(root, 'state'));
  const rec = await runPhase1({
    engine,
    state,
    def: asm.images.get('kubler/tool')!,
    key: m.phase1Key!,
    builder: asm.builders.get('kubler/bob')!,
    builderRef: 'bob:1',
    imageDir: join(root, 'out', m.dir),
    parentPackages: [],
  });
  return { rec, state, rootfsTar };
}

test('the rootfs tar is stored under its hash and read into entries on the way: bodies in the blob store, each path with its package', async () => {
  const root = mkdtempSync(join(tmpdir(), 'imgsdk-phase1-collect-'));
  try {
    const jq = '#!/bin/sh\necho jq\n';
    const { rec, state, rootfsTar } = await phase1Of(
      root,
      [
        { name: './usr/', type: 'directory', mode: 0o755 },
        { name: './usr/bin/', type: 'directory', mode: 0o755 },
        { name: './usr/bin/jq', body: jq, mode: 0o755 },
        { name: './usr/bin/yq', type: 'symlink', linkname: 'jq' },
      ],
      '/usr/bin/jq\tapp-misc/jq\n',
    );
    assert.is(rec.sha256, createHash('sha256').update(rootfsTar).digest('hex'));
    assert.equal(readFileSync(state.rootfsPath(rec.key)), rootfsTar, 'the tar as the builder wrote it');
    assert.ok(rec.entriesSha256, 'the entries are kept with the record');
    const entries = await state.readRootfsEntries(rec);
    assert.equal(
      entries?.map((e) => [e.path, e.type, e.origin ?? null]),
      [
        ['usr', 'dir', null],
        ['usr/bin', 'dir', null],
        ['usr/bin/jq', 'file', 'app-misc/jq'],
        ['usr/bin/yq', 'symlink', null],
      ],
    );
    const body = entries!.find((e) => e.path === 'usr/bin/jq')!;
    assert.is(body.sha256, createHash('sha256').update(jq).digest('hex'));
    assert.is(body.shebang, '/bin/sh');
    assert.is(readFileSync(state.blobs.path(body.sha256!), 'utf8'), jq, 'the body is in the blob store');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('an unsafe rootfs tar is kept without entries: the pipeline reads it and names what is wrong', async () => {
  const root = mkdtempSync(join(tmpdir(), 'imgsdk-phase1-collect-'));
  try {
    const { rec, state } = await phase1Of(
      root,
      [
        { name: './usr/', type: 'directory' },
        { name: './usr/escape', type: 'symlink', linkname: '../../../etc/shadow' },
      ],
      '',
    );
    assert.is(rec.entriesSha256, undefined);
    assert.is(await state.readRootfsEntries(rec), null);
    assert.ok(await state.readRootfs(rec.key), 'the tar and its record are there');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
