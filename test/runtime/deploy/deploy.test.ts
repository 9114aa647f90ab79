/**
 * deploy() without an engine: images that need no builder container (files and
 * accounts only), with `load: false`, so phase 2 runs from the state directory alone.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, debian, deploy, image } from '../../../src';
import { CancelledError, UsageError } from '../../../src/contract/errors';
import type { Engine } from '../../../src/runtime/engine/engine';
import { sha256 } from '../../../src/util/hash';
import { StateDir } from '../../../src/runtime/store/state';

const deb = debian.builder('unit/bookworm', { suite: 'bookworm' });
const note = image('unit/note').builder(deb).file('/note.txt', 'hello from a note\n').user('nobody');

function dirs() {
  const root = mkdtempSync(join(tmpdir(), 'imgsdk-deploy-'));
  return { state: join(root, 'state'), out: join(root, 'out'), remove: () => rmSync(root, { recursive: true, force: true }) };
}

test('every image of a deploy gets one queued event before anything else of it, cached ones and dependencies too', async () => {
  const d = dirs();
  try {
    const child = image('unit/child').from(note).file('/child.txt', 'child\n');
    const other = image('unit/other').builder(deb).file('/other.txt', 'other\n').user('nobody');
    for (const round of ['built', 'cached']) {
      const events: { type: string; id: string }[] = [];
      const r = await deploy(app(child, other), {
        stateDir: d.state,
        assemblyDir: d.out,
        load: false,
        select: ['unit/child', 'unit/other'],
        onEvent: (e) => events.push(e),
      });
      assert.ok(r.ok, round);
      for (const id of ['unit/note', 'unit/child', 'unit/other']) {
        const mine = events.filter((e) => e.id === id);
        assert.is(mine.filter((e) => e.type === 'queued').length, 1, `${round} ${id}`);
        assert.is(mine[0].type, 'queued', `${round} ${id}: ${mine.map((e) => e.type)}`);
      }
    }
  } finally {
    d.remove();
  }
});

test('a blob damaged in the state directory is dropped and the layer rebuilt to the clean digest', async () => {
  const d = dirs();
  try {
    const first = await deploy(app(note), { stateDir: d.state, assemblyDir: d.out, load: false });
    assert.ok(first.ok, first.images[0].reason);
    const clean = first.images[0].digest;
    const blobs = new StateDir(d.state).blobs;
    const sha = sha256('hello from a note\n');
    const b = readFileSync(blobs.path(sha));
    b[0] ^= 1;
    writeFileSync(blobs.path(sha), b);

    const again = await deploy(app(note), { stateDir: d.state, assemblyDir: d.out, load: false, force: true });
    assert.ok(again.ok, again.images[0].reason);
    assert.is(again.images[0].status, 'built');
    assert.is(again.images[0].digest, clean, 'the image is the clean one');
    assert.is(readFileSync(blobs.path(sha), 'utf8'), 'hello from a note\n', 'the blob was written again');
  } finally {
    d.remove();
  }
});

test('SOURCE_DATE_EPOCH is in the key: a cached image is built again with the new date', async () => {
  const d = dirs();
  try {
    const first = await deploy(app(note), { stateDir: d.state, assemblyDir: d.out, load: false, epoch: 0 });
    assert.ok(first.ok, first.images[0].reason);
    const later = await deploy(app(note), { stateDir: d.state, assemblyDir: d.out, load: false, epoch: 1_700_000_000 });
    assert.ok(later.ok, later.images[0].reason);
    assert.is(later.images[0].status, 'built', 'not the cached image of epoch 0');
    assert.is.not(later.images[0].digest, first.images[0].digest);
    const m = JSON.parse(readFileSync(join(d.out, 'manifest.json'), 'utf8')) as { epoch: number; images: Record<string, { key: string }> };
    assert.is(m.epoch, 1_700_000_000);
    const rec = JSON.parse(readFileSync(join(d.state, 'images', 'unit', 'note', `${m.images['unit/note'].key}.json`), 'utf8')) as {
      configJson: string;
    };
    assert.is(JSON.parse(rec.configJson).created, '2023-11-14T22:13:20Z');
  } finally {
    d.remove();
  }
});

test('an epoch past what a tar header holds is a usage error, and so is one the assembly was not made with', async () => {
  const d = dirs();
  try {
    const err = await deploy(app(note), { stateDir: d.state, assemblyDir: d.out, load: false, epoch: 8_589_934_592 }).catch(
      (e: unknown) => e,
    );
    assert.instance(err, UsageError);
    assert.match((err as Error).message, 'at most 8589934591');
    await deploy(app(note), { stateDir: d.state, assemblyDir: d.out, load: false, epoch: 5 });
    const other = await deploy(d.out, { stateDir: d.state, load: false, epoch: 6 }).catch((e: unknown) => e);
    assert.instance(other, UsageError);
    assert.match((other as Error).message, 'synthesized with 5');
  } finally {
    d.remove();
  }
});

test('damaged entries of a parent are caught by their hash and the parent is rebuilt, so its child builds', async () => {
  const d = dirs();
  try {
    const child = image('unit/child').from(note).file('/child.txt', 'one\n');
    const first = await deploy(app(child), { stateDir: d.state, assemblyDir: d.out, load: false });
    assert.ok(first.ok, first.images.map((i) => i.reason).join('\n'));
    const m = JSON.parse(readFileSync(join(d.out, 'manifest.json'), 'utf8')) as { images: Record<string, { key: string }> };
    const entries = join(d.state, 'images', 'unit', 'note', `${m.images['unit/note'].key}.entries.json`);
    writeFileSync(
      entries,
      JSON.stringify([
        { path: 'note.txt', type: 'file', mode: 420, uid: 0, gid: 0, size: 3, linkname: null, sha256: 'ab'.repeat(32), elf: null },
      ]),
    );

    const changed = image('unit/child').from(note).file('/child.txt', 'two\n');
    const again = await deploy(app(changed), { stateDir: d.state, assemblyDir: d.out, load: false });
    assert.ok(again.ok, again.images.map((i) => i.reason).join('\n'));
    assert.equal(
      again.images.map((i) => [i.id, i.status]),
      [
        ['unit/note', 'built'],
        ['unit/child', 'built'],
      ],
    );
    assert.is(again.images[0].digest, first.images[0].digest, 'the parent is rebuilt to the same image');
    const rewritten = JSON.parse(readFileSync(entries, 'utf8')) as { path: string; sha256: string }[];
    assert.is(rewritten.find((e) => e.path === 'note.txt')!.sha256, sha256('hello from a note\n'));
  } finally {
    d.remove();
  }
});

test('a push whose registry/id would pass 255 characters is a usage error before anything is built', async () => {
  const d = dirs();
  try {
    const long = image(`unit/${'n'.repeat(240)}`)
      .builder(deb)
      .file('/x', 'x')
      .user('nobody');
    const err = await deploy(app(long), { stateDir: d.state, assemblyDir: d.out, push: 'registry.example.com:5000/team' }).catch(
      (e: unknown) => e,
    );
    assert.instance(err, UsageError);
    assert.match((err as Error).message, 'longer than the 255 characters a registry takes');
  } finally {
    d.remove();
  }
});

test('temp files a killed deploy left in the state directory are removed by the next deploy', async () => {
  const d = dirs();
  try {
    const partial = join(d.state, 'rootfs', `${'a'.repeat(64)}.tar.4242.deadbeef.tmp`);
    mkdirSync(join(d.state, 'rootfs'), { recursive: true });
    writeFileSync(partial, Buffer.alloc(4096));
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(partial, hourAgo, hourAgo);
    const lines: string[] = [];
    const r = await deploy(app(note), {
      stateDir: d.state,
      assemblyDir: d.out,
      load: false,
      onEvent: (e) => e.type === 'log' && lines.push(e.line),
    });
    assert.ok(r.ok, r.images[0].reason);
    assert.not.ok(existsSync(partial), 'the partial rootfs is gone');
    assert.ok(
      lines.some((l) => l.startsWith('removed 1 temp file of a deploy that died: rootfs/')),
      lines.join('\n'),
    );
  } finally {
    d.remove();
  }
});

/** An engine for images that need no container: it records loads and tags, and has no images. */
function recordingEngine(): Engine & { calls: string[] } {
  const calls: string[] = [];
  const e = {
    host: 'fake',
    calls,
    inspectImage: async () => null,
    listContainers: async () => [],
    loadImage: async (tar: NodeJS.ReadableStream) => {
      calls.push('load');
      for await (const _ of tar) void _;
      return [];
    },
    tagImage: async (_ref: string, repo: string, tag: string) => void calls.push(`tag ${repo}:${tag}`),
  };
  return e as unknown as Engine & { calls: string[] };
}

for (const phase of ['pipeline', 'phase2'] as const) {
  test(`Ctrl-C during the ${phase === 'pipeline' ? 'rootfs pipeline' : 'phase 2'} stops at the next step: nothing is loaded, tagged or recorded`, async () => {
    const d = dirs();
    try {
      const engine = recordingEngine();
      const ctl = new AbortController();
      const err = await deploy(app(note), {
        stateDir: d.state,
        assemblyDir: d.out,
        engine,
        signal: ctl.signal,
        onEvent: (e) => e.type === 'building' && e.phase === phase && ctl.abort(),
      }).catch((e: unknown) => e);
      assert.instance(err, CancelledError);
      assert.equal(engine.calls, [], 'no load, no tag');
      const m = JSON.parse(readFileSync(join(d.out, 'manifest.json'), 'utf8')) as { images: Record<string, { key: string }> };
      assert.not.ok(existsSync(join(d.state, 'images', 'unit', 'note', `${m.images['unit/note'].key}.json`)), 'no build record');
    } finally {
      d.remove();
    }
  });
}

test.run();
