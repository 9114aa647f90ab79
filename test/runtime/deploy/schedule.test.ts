import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { schedule } from '../../../src/runtime/deploy/schedule';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('tasks run after what they depend on', async () => {
  const order: string[] = [];
  const r = await schedule({ a: [], b: ['a'], c: ['b'] }, async (id) => {
    order.push(id);
    await sleep(5);
    return id;
  });
  assert.equal(order, ['a', 'b', 'c']);
  assert.equal(
    [...r.values()].map((o) => o.status),
    ['ok', 'ok', 'ok'],
  );
});

test('independent tasks run in parallel, at most concurrency at a time', async () => {
  let running = 0;
  let peak = 0;
  await schedule(
    { a: [], b: [], c: [], d: [] },
    async () => {
      peak = Math.max(peak, ++running);
      await sleep(20);
      running--;
    },
    { concurrency: 2 },
  );
  assert.is(peak, 2);
});

test('a failure stops its dependents and unrelated tasks finish', async () => {
  const r = await schedule({ base: [], child: ['base'], grandchild: ['child'], other: [] }, async (id) => {
    if (id === 'base') throw new Error('boom');
    return id;
  });
  assert.is(r.get('base')!.status, 'failed');
  assert.equal(r.get('child'), { status: 'skipped', reason: 'base failed' });
  assert.equal(r.get('grandchild'), { status: 'skipped', reason: 'child was skipped' });
  assert.equal(r.get('other'), { status: 'ok', value: 'other' });
});

test('an aborted signal skips what has not started', async () => {
  const ac = new AbortController();
  const r = await schedule(
    { a: [], b: ['a'] },
    async (id) => {
      ac.abort();
      return id;
    },
    { signal: ac.signal },
  );
  assert.is(r.get('a')!.status, 'ok');
  assert.equal(r.get('b'), { status: 'skipped', reason: 'cancelled' });
});

test.run();
