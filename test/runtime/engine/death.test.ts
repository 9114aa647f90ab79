import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EngineError } from '../../../src/contract/errors';
import { connectEngine } from '../../../src/runtime/engine/docker';
import { json, startFakeEngine, type FakeEngine } from './_fake-engine';

/** Rejects when `p` has not settled within `ms`: a hang is the bug these tests are about. */
function settles<T>(p: Promise<T>, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms)));
  return Promise.race([p, hang]).finally(() => clearTimeout(timer));
}

async function failure(p: Promise<unknown>): Promise<EngineError> {
  const err = await settles(
    p.then(
      () => null,
      (e: unknown) => e,
    ),
  );
  assert.instance(err, EngineError, `expected an EngineError, got ${String(err)}`);
  return err as EngineError;
}

let fake: FakeEngine | undefined;
test.after.each(async () => {
  await fake?.close();
  fake = undefined;
});

test('an engine that dies while a container is waited for fails the wait instead of leaving it pending', async () => {
  fake = await startFakeEngine((req, res, f) => {
    if (req.url!.includes('/containers/create')) return json(res, 201, { Id: 'c'.repeat(64) });
    if (req.url!.includes('/wait')) {
      // As dockerd does: the headers at once, the body when the container exits.
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      setTimeout(() => f.die(), 100);
      return;
    }
    json(res, 404, { message: 'no such thing' });
  });
  const engine = await connectEngine({ host: fake.host });
  const err = await failure(engine.withContainer({ image: 'x', cmd: [] }, (c) => c.wait()));
  assert.match(err.message, /^wait for imgsdk-[0-9a-f]+: the engine at unix:\/\/.* went away mid-request \(ECONNRESET\)/);
});

test('an answer cut off in the middle of its body is an error', async () => {
  fake = await startFakeEngine((_req, res, f) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '500' });
    res.write('{"Id":"sha256:');
    setTimeout(() => f.die(), 50);
  });
  const engine = await connectEngine({ host: fake.host });
  const err = await failure(engine.inspectImage('a/b:c'));
  assert.match(err.message, 'inspect image a/b:c: the engine at');
});

test('a progress stream that stops early fails the pull, though it ended without an error event', async () => {
  fake = await startFakeEngine((_req, res, f) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write('{"status":"Pulling fs layer","id":"1"}\n');
    setTimeout(() => f.die(), 50);
  });
  const engine = await connectEngine({ host: fake.host });
  const err = await failure(engine.pullImage('a/b:c'));
  assert.match(err.message, /^pull a\/b:c: the engine at .* went away/);
});

test('an archive stream that stops early ends in an EngineError, not a short clean end', async () => {
  fake = await startFakeEngine((req, res, f) => {
    if (req.url!.includes('/containers/create')) return json(res, 201, { Id: 'c'.repeat(64) });
    if (req.method === 'GET' && req.url!.includes('/archive')) {
      res.writeHead(200, { 'Content-Type': 'application/x-tar' });
      res.write(Buffer.alloc(1024, 1));
      setTimeout(() => f.die(), 50);
      return;
    }
    json(res, 404, { message: 'no such thing' });
  });
  const engine = await connectEngine({ host: fake.host });
  const err = await failure(
    engine.withContainer({ image: 'x', cmd: [] }, async (c) => {
      const s = await c.getArchive('/imgsdk/out');
      for await (const _ of s) void _;
      return 'read to the end';
    }),
  );
  assert.match(err.message, /^get archive \/imgsdk\/out from imgsdk-[0-9a-f]+: the engine at .* went away/);
});

test('a call after the engine is gone fails at once, naming where it looked', async () => {
  fake = await startFakeEngine((_req, res) => json(res, 404, { message: 'no' }));
  const engine = await connectEngine({ host: fake.host });
  fake.die();
  const err = await failure(engine.listContainers());
  assert.ok(err.message.startsWith(`list containers: the engine at ${fake.host} `), err.message);
  assert.match(err.message, /did not answer \(ENOENT\)|went away/);
});

test.run();
