import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { holderState, parseHolder, processStart, self, withLock } from '../../../src/runtime/store/lock';

function lockPath(): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-lock-'));
  return { path: join(dir, 'lock'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Rejects when `p` has not settled within `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

test('a lock naming a live pid that never took it (echo 1 > lock) is taken over once stale, and the wait names the pid', async () => {
  const l = lockPath();
  try {
    writeFileSync(l.path, '1\n');
    const told: string[] = [];
    const r = await within(withLock(l.path, async () => 'ran', { staleMs: 500, onWait: (h) => told.push(h) }), 5000);
    assert.is(r, 'ran');
    assert.is(told.length, 1);
    assert.match(told[0], /^pid 1, which cannot be checked from here; it is taken over once it has not been refreshed for 0.5 s$/);
  } finally {
    l.remove();
  }
});

test('a lock whose pid is alive but started at another time (a reused pid) is taken over at once', async () => {
  const l = lockPath();
  try {
    writeFileSync(l.path, JSON.stringify({ ...self('imgsdk deploy'), pid: 1, start: 'not-its-start' }));
    let waited = false;
    assert.is(await within(withLock(l.path, async () => 'ran', { onWait: () => (waited = true) }), 2000), 'ran');
    assert.not.ok(waited);
  } finally {
    l.remove();
  }
});

test('a lock from before the last boot is taken over at once', () => {
  assert.is(holderState({ ...self(), boot: 'another-boot' }), 'dead');
});

test('the holder is this very process only with its pid and its start time', () => {
  assert.is(holderState(self()), 'alive');
  assert.ok(processStart(process.pid));
  assert.is(holderState({ ...self(), start: '1' }), 'dead');
  assert.is(holderState({ ...self(), host: 'elsewhere.example' }), 'unknown');
  assert.is(holderState(parseHolder(String(process.pid))), 'unknown');
  assert.equal(parseHolder('garbage'), null);
});

test('a live holder is waited for, named with what it runs, and its lock is released after', async () => {
  const l = lockPath();
  try {
    const order: string[] = [];
    const first = withLock(l.path, async () => {
      order.push('first');
      await new Promise((r) => setTimeout(r, 400));
    }, { command: 'imgsdk deploy', refreshMs: 50 });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(JSON.parse(readFileSync(l.path, 'utf8')).host, hostname());
    const told: string[] = [];
    // A short staleMs does not matter: this holder can be checked, and it is alive.
    await withLock(l.path, async () => void order.push('second'), { staleMs: 100, onWait: (h) => told.push(h) });
    await first;
    assert.equal(order, ['first', 'second']);
    assert.match(told[0], new RegExp(`^pid ${process.pid} \\("imgsdk deploy", since \\d{4}-`));
  } finally {
    l.remove();
  }
});

test.run();
