/**
 * The engine a deploy connects to over a unix socket with node:http: a fake engine
 * on a socket answers as dockerd does, and dockerode is not loaded for what a
 * deploy of cached images asks.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EngineError } from '../../../src/contract/errors';
import { connectEngine } from '../../../src/runtime/engine/light';
import { startFakeEngine } from './_fake-engine';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly body: Buffer;
}

/** A fake engine on a unix socket: `handle` answers, every request is recorded. */
async function fakeEngine(
  handle: (req: Seen, res: ServerResponse) => void,
): Promise<{ host: string; seen: Seen[]; close: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-light-'));
  const socket = join(dir, 'docker.sock');
  const seen: Seen[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const s = { method: req.method!, url: req.url!, body: Buffer.concat(chunks) };
      seen.push(s);
      if (s.url === '/_ping') return void res.end('OK');
      handle(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  return {
    host: `unix://${socket}`,
    seen,
    close: async () => {
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Whether dockerode is loaded after inspecting an image through `host`, in a fresh process (this one may have it from other tests). */
async function dockerodeLoadedFor(host: string): Promise<boolean> {
  const root = join(__dirname, '..', '..', '..');
  const script = `const { connectEngine } = require('./dist/runtime/engine/light');
connectEngine({ host: ${JSON.stringify(host)} }).then((e) => e.inspectImage('acme/web:latest')).then(() => {
  process.stdout.write(String(Object.keys(require.cache).some((p) => p.includes('node_modules/dockerode/'))));
});`;
  // Not spawnSync: the fake engine answers from this process's event loop.
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' });
  return stdout === 'true';
}

test('inspect, tag and list go over the socket; a missing image is null; dockerode stays unloaded (needs dist: npm run build)', async () => {
  const id = 'sha256:' + 'a'.repeat(64);
  const fake = await fakeEngine((s, res) => {
    if (s.url === '/images/acme%2Fweb%3Alatest/json')
      return json(res, 200, { Id: id, RepoTags: ['acme/web:latest'], Config: { Labels: { 'org.imgsdk.key': 'k' } }, Size: 42 });
    if (s.url.startsWith('/images/') && s.url.endsWith('/json')) return json(res, 404, { message: 'No such image' });
    if (s.method === 'POST' && s.url.startsWith('/images/')) return void res.writeHead(201).end();
    if (s.url.startsWith('/containers/json'))
      return json(res, 200, [{ Id: 'c1', Names: ['/imgsdk-x'], Image: 'img', Labels: { a: 'b' }, State: 'exited' }]);
    json(res, 500, { message: 'unexpected' });
  });
  try {
    const e = await connectEngine({ host: fake.host });
    assert.is(e.host, fake.host);
    assert.equal(await e.inspectImage('acme/web:latest'), {
      id,
      repoTags: ['acme/web:latest'],
      labels: { 'org.imgsdk.key': 'k' },
      size: 42,
    });
    assert.is(await e.inspectImage('acme/gone:latest'), null);
    assert.is(await e.imageExists('acme/gone:latest'), false);
    await e.tagImage(id, 'acme/web', 'abc');
    assert.ok(fake.seen.some((s) => s.method === 'POST' && s.url === `/images/${encodeURIComponent(id)}/tag?repo=acme%2Fweb&tag=abc`));
    assert.equal(await e.listContainers({ label: 'org.imgsdk.state=x', all: true }), [
      { id: 'c1', names: ['imgsdk-x'], image: 'img', labels: { a: 'b' }, state: 'exited' },
    ]);
    const list = fake.seen.find((s) => s.url.startsWith('/containers/json'))!;
    assert.equal(Object.fromEntries(new URL(list.url, 'http://x').searchParams), {
      all: '1',
      filters: JSON.stringify({ label: ['org.imgsdk.state=x'] }),
    });
    assert.is(await dockerodeLoadedFor(fake.host), false, 'dockerode was not loaded');
  } finally {
    await fake.close();
  }
});

test("an engine error is an EngineError with the engine's message and status", async () => {
  const fake = await fakeEngine((_s, res) => json(res, 500, { message: 'storage driver is sad' }));
  try {
    const e = await connectEngine({ host: fake.host });
    const err = await e.inspectImage('x').catch((x: unknown) => x);
    assert.instance(err, EngineError);
    assert.is((err as EngineError).message, 'inspect image x: storage driver is sad');
    assert.is((err as EngineError).statusCode, 500);
  } finally {
    await fake.close();
  }
});

test('load streams the tar in and returns what was loaded; an error inside the 200 response fails it', async () => {
  let answer = '{"stream":"Loaded image: acme/web:latest\\n"}\r\n{"stream":"Loaded image: acme/web:abc\\n"}\r\n';
  const fake = await fakeEngine((s, res) => {
    if (s.url === '/images/load?quiet=1') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(answer);
    }
    json(res, 404, { message: 'no' });
  });
  try {
    const e = await connectEngine({ host: fake.host });
    assert.equal(await e.loadImage(Readable.from([Buffer.from('tar bytes '), Buffer.from('of the archive')])), [
      'acme/web:latest',
      'acme/web:abc',
    ]);
    assert.is(fake.seen.find((s) => s.url === '/images/load?quiet=1')!.body.toString(), 'tar bytes of the archive');
    answer = '{"errorDetail":{"message":"invalid diffID for layer 0"},"error":"invalid diffID for layer 0"}\r\n';
    const err = await e.loadImage(Readable.from([Buffer.from('x')])).catch((x: unknown) => x);
    assert.instance(err, EngineError);
    assert.is((err as Error).message, 'load image: invalid diffID for layer 0');
  } finally {
    await fake.close();
  }
});

test('a tar stream that fails midway fails the load with its error', async () => {
  const fake = await fakeEngine((_s, res) => json(res, 200, {}));
  try {
    const e = await connectEngine({ host: fake.host });
    const broken = new Readable({
      read() {
        this.destroy(new Error('disk read failed'));
      },
    });
    const err = await e.loadImage(broken).catch((x: unknown) => x);
    assert.match(String((err as Error).message), 'disk read failed');
  } finally {
    await fake.close();
  }
});

test('an answer cut off in the middle of its body, and a load answer cut short, are errors, not hangs', async () => {
  const fake = await startFakeEngine((req, res, f) => {
    req.resume();
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '500' });
    res.write('{"Id":"sha256:');
    setTimeout(() => f.die(), 50);
  });
  try {
    const e = await connectEngine({ host: fake.host });
    const err = await e.inspectImage('a/b:c').catch((x: unknown) => x);
    assert.instance(err, EngineError);
    assert.match((err as Error).message, 'inspect image a/b:c: the engine at');
  } finally {
    await fake.close();
  }
  const again = await startFakeEngine((req, res, f) => {
    req.resume();
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '500' });
    res.write('{"stream":"Loading layer');
    setTimeout(() => f.die(), 50);
  });
  try {
    const e = await connectEngine({ host: again.host });
    const err = await e.loadImage(Readable.from([Buffer.from('tar')])).catch((x: unknown) => x);
    assert.instance(err, EngineError);
    assert.match((err as Error).message, 'load image: the engine at');
  } finally {
    await again.close();
  }
});

test("no engine on the socket: the same error dockerode's connect gives, naming the place", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-light-none-'));
  try {
    const err = await connectEngine({ host: `unix://${join(dir, 'none.sock')}`, pingTimeoutMs: 1000 }).catch((x: unknown) => x);
    assert.instance(err, EngineError);
    assert.match((err as Error).message, `no container engine answered at unix://${join(dir, 'none.sock')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
