import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ContainerOptions, Engine } from '../../../src/runtime/engine/engine';
import {
  labelledEngine,
  ownerAlive,
  ownerTag,
  removeDeadContainers,
  removeDeadTempFiles,
  stateIdentity,
  stateLabels,
} from '../../../src/runtime/deploy/leftovers';

function stateDir(): { root: string; remove: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'imgsdk-leftovers-'));
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

function aged(path: string, secondsAgo: number, body = 'x'): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, body);
  const t = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(path, t, t);
}

test('temp files from before the lock are removed, anywhere in the state directory; newer ones and real files stay', async () => {
  const s = stateDir();
  try {
    aged(join(s.root, 'rootfs', `${'a'.repeat(64)}.tar.1234.abcd1234.tmp`), 3600);
    aged(join(s.root, 'blobs', `${'b'.repeat(64)}.0a1b2c3d4e5f.tmp`), 3600);
    aged(join(s.root, 'layers', 'staging.tar.1234.abcd.tmp'), 3600);
    aged(join(s.root, 'lock.1a2b3c4d.stale'), 3600);
    aged(join(s.root, 'blobs', 'c'.repeat(64)), 3600);
    aged(join(s.root, 'images', 'a', 'b', 'k.json.99.ffff.tmp'), 0);
    const removed = await removeDeadTempFiles(s.root, Date.now() - 60_000);
    assert.equal(removed, [
      `blobs/${'b'.repeat(64)}.0a1b2c3d4e5f.tmp`,
      'layers/staging.tar.1234.abcd.tmp',
      'lock.1a2b3c4d.stale',
      `rootfs/${'a'.repeat(64)}.tar.1234.abcd1234.tmp`,
    ]);
    assert.ok(existsSync(join(s.root, 'blobs', 'c'.repeat(64))), 'a blob stays');
    assert.ok(existsSync(join(s.root, 'images', 'a', 'b', 'k.json.99.ffff.tmp')), 'a temp file newer than the lock stays');
  } finally {
    s.remove();
  }
});

test("a state directory's identity is stable and differs per directory", () => {
  const a = stateDir();
  const b = stateDir();
  try {
    assert.match(stateIdentity(a.root), /^[0-9a-f]{16}$/);
    assert.is(stateIdentity(a.root), stateIdentity(a.root + '/'));
    assert.is.not(stateIdentity(a.root), stateIdentity(b.root));
  } finally {
    a.remove();
    b.remove();
  }
});

/** An engine that records what it is asked; only the container calls work. */
function recorder(): Engine & { seen: ContainerOptions[]; removed: string[] } {
  const seen: ContainerOptions[] = [];
  const removed: string[] = [];
  const base = {
    host: 'fake',
    seen,
    removed,
    withContainer: async (opts: ContainerOptions, fn: (c: never) => Promise<unknown>) => (seen.push(opts), fn(undefined as never)),
    runContainer: async (opts: ContainerOptions) => (seen.push(opts), { exitCode: 0, tail: '' }),
    listContainers: async (o: { label?: string }) =>
      o.label === 'org.imgsdk.state=mine'
        ? [
            { id: 'dead1', names: ['imgsdk-dead1'], image: 'x', labels: {}, state: 'exited' },
            {
              id: 'dead2',
              names: ['imgsdk-dead2'],
              image: 'x',
              labels: { 'org.imgsdk.owner': `${process.pid}:not-its-start:` },
              state: 'created',
            },
            { id: 'live', names: ['imgsdk-live'], image: 'x', labels: { 'org.imgsdk.owner': ownerTag() }, state: 'running' },
          ]
        : [],
    removeContainer: async (id: string) => (removed.push(id), true),
  };
  return base as unknown as Engine & { seen: ContainerOptions[]; removed: string[] };
}

test('every container of a labelled engine carries the state label, besides its own labels', async () => {
  const e = recorder();
  const l = labelledEngine(e, { 'org.imgsdk.state': 'mine' });
  await l.withContainer({ image: 'x', cmd: [], labels: { a: '1' } }, async () => 'ok');
  await l.runContainer({ image: 'x', cmd: [] });
  assert.equal(
    e.seen.map((o) => o.labels),
    [{ a: '1', 'org.imgsdk.state': 'mine' }, { 'org.imgsdk.state': 'mine' }],
  );
  assert.is(l.host, 'fake');
});

test("the containers of this state directory whose owner is gone, and only those, are removed as leftovers; a live owner's stay", async () => {
  const e = recorder();
  assert.equal(await removeDeadContainers(e, 'mine'), ['imgsdk-dead1', 'imgsdk-dead2']);
  assert.equal(e.removed, ['dead1', 'dead2']);
  assert.equal(await removeDeadContainers(e, 'other'), []);
});

test('a container made for a state directory carries its identity and its owner, and the owner is this process while it runs', () => {
  const d = stateDir();
  try {
    const labels = stateLabels(d.root);
    assert.equal(Object.keys(labels).sort(), ['org.imgsdk.owner', 'org.imgsdk.state']);
    assert.is(labels['org.imgsdk.state'], stateIdentity(d.root));
    assert.ok(ownerAlive(labels['org.imgsdk.owner']));
    assert.not.ok(ownerAlive(undefined));
    assert.not.ok(ownerAlive('garbage'));
    assert.not.ok(ownerAlive(`${process.pid}:1:`), 'the same pid with another start time is another process');
  } finally {
    d.remove();
  }
});

test.run();
