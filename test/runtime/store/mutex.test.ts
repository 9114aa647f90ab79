import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { holderState, parseHolder, processStart, self, withMutex } from '../../../src/runtime/store/mutex';

function mutexPath(): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-mutex-'));
  return { path: join(dir, 'lock'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Rejects when `p` has not settled within `ms`. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

test('a mutex naming a live pid that never took it (echo 1 > mutex) is taken over once stale, and the wait names the pid', async () => {
  const l = mutexPath();
  try {
    writeFileSync(l.path, '1\n');
    const told: string[] = [];
    const r = await within(
      withMutex(l.path, async () => 'ran', { staleMs: 500, onWait: (h) => told.push(h) }),
      5000,
    );
    assert.is(r, 'ran');
    assert.is(told.length, 1);
    assert.match(told[0], /^pid 1, which cannot be checked from here; it is taken over once it has not been refreshed for 0.5 s$/);
  } finally {
    l.remove();
  }
});

test('a mutex whose pid is alive but started at another time (a reused pid) is taken over at once', async () => {
  const l = mutexPath();
  try {
    writeFileSync(l.path, JSON.stringify({ ...self('imgsdk deploy'), pid: 1, start: 'not-its-start' }));
    let waited = false;
    assert.is(
      await within(
        withMutex(l.path, async () => 'ran', { onWait: () => (waited = true) }),
        2000,
      ),
      'ran',
    );
    assert.not.ok(waited);
  } finally {
    l.remove();
  }
});

test('a mutex from before the last boot is taken over at once', () => {
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

test('a live holder is waited for, named with what it runs, and its mutex is released after', async () => {
  const l = mutexPath();
  try {
    const order: string[] = [];
    const first = withMutex(
      l.path,
      async () => {
        order.push('first');
        await new Promise((r) => setTimeout(r, 400));
      },
      { command: 'imgsdk deploy', refreshMs: 50 },
    );
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(JSON.parse(readFileSync(l.path, 'utf8')).host, hostname());
    const told: string[] = [];
    // A short staleMs does not matter: this holder can be checked, and it is alive.
    await withMutex(l.path, async () => void order.push('second'), { staleMs: 100, onWait: (h) => told.push(h) });
    await first;
    assert.equal(order, ['first', 'second']);
    assert.match(told[0], new RegExp(`^pid ${process.pid} \\("imgsdk deploy", since \\d{4}-`));
  } finally {
    l.remove();
  }
});

test('a directory where the mutex file goes is one clear error at once, not a spin', async () => {
  const l = mutexPath();
  try {
    mkdirSync(l.path);
    await within(
      withMutex(l.path, async () => 'ran').then(
        () => assert.unreachable('took a directory as its mutex'),
        (e: Error) => {
          assert.match(e.message, new RegExp(`^${l.path.replace(/[/.]/g, '\\$&')} is a directory, not imgsdk's mutex file`));
        },
      ),
      2000,
    );
  } finally {
    l.remove();
  }
});

test('a garbage mutex file stamped in the future is taken over once it has not changed for staleMs', async () => {
  for (const text of ['garbage', '{"pid": "x"}', '']) {
    const l = mutexPath();
    try {
      writeFileSync(l.path, text);
      const future = new Date(Date.now() + 365 * 86400_000);
      utimesSync(l.path, future, future);
      assert.is(
        await within(
          withMutex(l.path, async () => 'ran', { staleMs: 400 }),
          3000,
        ),
        'ran',
        JSON.stringify(text),
      );
    } finally {
      l.remove();
    }
  }
});

test('the wait for a live holder is bounded, and the error names the holder', async () => {
  const l = mutexPath();
  try {
    writeFileSync(l.path, JSON.stringify(self('imgsdk deploy --held')));
    await within(
      withMutex(l.path, async () => 'ran', { maxWaitMs: 300 }).then(
        () => assert.unreachable(),
        (e: Error) => {
          assert.match(
            e.message,
            new RegExp(
              `^gave up after waiting \\d+ s for the state directory's mutex .*, held by pid ${process.pid} \\("imgsdk deploy --held"`,
            ),
          );
        },
      ),
      3000,
    );
  } finally {
    l.remove();
  }
});

test('an abort ends the wait, also while the mutex keeps vanishing and coming back', async () => {
  const l = mutexPath();
  const ac = new AbortController();
  const flicker = setInterval(() => {
    try {
      writeFileSync(l.path, JSON.stringify(self('other')));
      rmSync(l.path, { force: true });
    } catch {
      // the directory is gone at the end
    }
  }, 1);
  try {
    writeFileSync(l.path, JSON.stringify(self('other')));
    setTimeout(() => ac.abort(), 200);
    await within(
      withMutex(l.path, async () => 'ran', { signal: ac.signal }).then(
        (r) => assert.is(r, 'ran'), // it may win the race; then it ran
        (e: Error) => assert.match(e.message, /cancelled while waiting for the state directory's mutex/),
      ),
      3000,
    );
  } finally {
    clearInterval(flicker);
    l.remove();
  }
});

test.run();
