import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { extract, pack } from 'tar-stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CancelledError, EngineError } from '../../../src/contract/errors';
import { connectEngine, engineFromDocker } from '../../../src/runtime/engine/docker';
import type { Engine } from '../../../src/runtime/engine/engine';
import { testBuilderImage } from '../../_kit/builder';
import { engineOrSkip } from '../../_kit/engine';
import { startRegistry } from '../../e2e/_ship';

// Every container of this run carries this label, so "it is gone" is one query.
const nonce = randomBytes(6).toString('hex');
const RUN_LABEL = 'org.imgsdk.test-run';
const labels = { [RUN_LABEL]: nonce };

let docker: Docker | null = null;
let engine: Engine;
let image: string;

test.before(async () => {
  docker = await engineOrSkip();
  if (!docker) return;
  engine = engineFromDocker(docker);
  image = await testBuilderImage(docker);
});

test.after(async () => {
  if (!docker) return;
  for (const c of await engine.listContainers({ all: true, label: `${RUN_LABEL}=${nonce}` })) await engine.removeContainer(c.id);
  for (const i of await engine.listImages({ label: `${RUN_LABEL}=${nonce}` })) await engine.removeImage(i.id, { force: true });
});

async function leftovers(): Promise<string[]> {
  return (await engine.listContainers({ all: true, label: `${RUN_LABEL}=${nonce}` })).map((c) => c.names[0]);
}

async function tarOf(files: Record<string, { body: string; mode?: number }>): Promise<Buffer> {
  const p = pack();
  for (const [name, f] of Object.entries(files)) {
    p.entry({ name, mode: f.mode ?? 0o644, uid: 0, gid: 0, mtime: new Date(0) }, f.body);
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function untar(stream: Readable): Promise<Map<string, { body: string; mode: number }>> {
  const out = new Map<string, { body: string; mode: number }>();
  const ex = extract();
  stream.pipe(ex);
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    out.set(entry.header.name, { body: Buffer.concat(chunks).toString(), mode: (entry.header.mode ?? 0) & 0o7777 });
  }
  return out;
}

test('an unreachable DOCKER_HOST is one error naming it and how to fix it', async () => {
  const err = await connectEngine({ host: 'unix:///nonexistent.sock' }).catch((e: unknown) => e);
  assert.instance(err, EngineError);
  const msg = (err as Error).message;
  assert.match(msg, 'unix:///nonexistent.sock');
  assert.match(msg, 'no such socket');
  assert.match(msg, 'DOCKER_HOST');
  assert.match(msg, 'dockerd');
});

test('a refused tcp engine says the engine is not running', async () => {
  const err = await connectEngine({ host: 'tcp://127.0.0.1:1', env: {} }).catch((e: unknown) => e);
  assert.instance(err, EngineError);
  assert.match((err as Error).message, /tcp:\/\/127\.0\.0\.1:1: connection refused/);
});

test('connects to the engine and pings it', async () => {
  if (!docker) return;
  const e = await connectEngine();
  await e.ping();
  assert.ok(e.host.length > 0);
});

test('images: inspect of a missing image is null, import with changes, tag, list by label, remove', async () => {
  if (!docker) return;
  assert.is(await engine.inspectImage(`imgsdk-test/missing-${nonce}:x`), null);
  const ref = `imgsdk-test/import-${nonce}:a`;
  const id = await engine.importImage(Readable.from(await tarOf({ 'hello.txt': { body: 'hi\n' } })), ref, {
    changes: [`LABEL ${RUN_LABEL}=${nonce} org.imgsdk.note="two words"`, 'CMD ["/hello.txt"]'],
  });
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  const info = await engine.inspectImage(ref);
  assert.is(info?.id, id);
  assert.is(info?.labels['org.imgsdk.note'], 'two words');
  await engine.tagImage(ref, `imgsdk-test/import-${nonce}`, 'b');
  const listed = await engine.listImages({ label: `${RUN_LABEL}=${nonce}` });
  assert.equal(
    listed.map((i) => [...i.repoTags].sort()),
    [[`imgsdk-test/import-${nonce}:a`, `imgsdk-test/import-${nonce}:b`]],
  );
  const tagMissing = await engine.tagImage(`imgsdk-test/missing-${nonce}:x`, 'a', 'b').catch((e: unknown) => e);
  assert.instance(tagMissing, EngineError);
  assert.is((tagMissing as EngineError).statusCode, 404);
  assert.ok(await engine.removeImage(id, { force: true }));
  assert.not.ok(await engine.removeImage(id, { force: true }));
  assert.not.ok(await engine.imageExists(ref));
});

test('volumes: listed by name prefix, the unused ones apart, removed; a missing one is false and one in use an EngineError', async () => {
  if (!docker) return;
  // Names of this run only: the engine is shared, so nothing else is listed or removed.
  const prefix = `imgsdk-test-vol-${nonce}-`;
  const [a, b] = [`${prefix}a`, `${prefix}b`];
  try {
    await docker.createVolume({ Name: a });
    await docker.createVolume({ Name: b, Labels: { [RUN_LABEL]: nonce } });
    assert.equal(await engine.listVolumes({ prefix }), [
      { name: a, labels: {} },
      { name: b, labels: { [RUN_LABEL]: nonce } },
    ]);
    await engine.withContainer({ image, cmd: ['/bin/true'], labels, mounts: [{ volume: b, target: '/data' }] }, async () => {
      assert.equal(
        (await engine.listVolumes({ prefix, unused: true })).map((v) => v.name),
        [a],
      );
      const err = await engine.removeVolume(b).catch((e: unknown) => e);
      assert.instance(err, EngineError);
      assert.match((err as Error).message, /remove volume imgsdk-test-vol-[0-9a-f]+-b: a container uses it/);
    });
    assert.is(await engine.removeVolume(a), true);
    assert.is(await engine.removeVolume(a), false);
    assert.is(await engine.removeVolume(b), true);
    assert.equal(await engine.listVolumes({ prefix }), []);
  } finally {
    for (const v of [a, b])
      await docker
        .getVolume(v)
        .remove()
        .catch(() => undefined);
  }
});

test('an import whose tar stream fails tags nothing', async () => {
  if (!docker) return;
  const ref = `imgsdk-test/broken-${nonce}:x`;
  const good = await tarOf({ 'a.txt': { body: 'x'.repeat(100_000) } });
  let sent = false;
  const broken = new Readable({
    read() {
      if (sent) return;
      sent = true;
      this.push(good.subarray(0, 20_000));
      setTimeout(() => this.destroy(new Error('source failed')), 50);
    },
  });
  const err = await engine.importImage(broken, ref).catch((e: unknown) => e);
  assert.instance(err, EngineError);
  assert.not.ok(await engine.imageExists(ref));
});

test('a pull that cannot reach its registry is an EngineError', async () => {
  if (!docker) return;
  const err = await engine.pullImage('127.0.0.1:1/imgsdk/nothing:latest').catch((e: unknown) => e);
  assert.instance(err, EngineError);
});

test('push to a loopback registry reports the manifest digest; a pull by that digest gives the same image (plain http, Docker and Podman)', async () => {
  if (!docker) return;
  const registry = await startRegistry();
  const repo = `${registry.address}/imgsdk-test/push-${nonce}`;
  try {
    const id = await engine.importImage(Readable.from(await tarOf({ 'pushed.txt': { body: 'pushed\n' } })), `${repo}:v1`, {
      changes: [`LABEL ${RUN_LABEL}=${nonce}`],
    });
    const { digest } = await engine.pushImage(`${repo}:v1`);
    assert.match(digest ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.ok(await engine.removeImage(id, { force: true }));
    await engine.pullImage(`${repo}@${digest}`);
    assert.is((await engine.inspectImage(`${repo}@${digest}`))?.id, id);
  } finally {
    for (const i of await engine.listImages({ label: `${RUN_LABEL}=${nonce}` }))
      await engine.removeImage(i.id, { force: true }).catch(() => false);
    await registry.stop();
  }
});

test('a container is labelled, its output demultiplexed, and it is removed after success', async () => {
  if (!docker) return;
  const out: string[] = [];
  const err: string[] = [];
  let seen: Record<string, string> = {};
  const result = await engine.withContainer(
    { image, cmd: ['sh', '-c', 'echo to-out; echo to-err >&2'], labels, forImage: 'test/ns' },
    async (c) => {
      seen = (await engine.listContainers({ all: true, label: `${RUN_LABEL}=${nonce}` })).find((x) => x.id === c.id)?.labels ?? {};
      return c.run({ onOutput: (chunk, s) => (s === 'stdout' ? out : err).push(chunk.toString()) });
    },
  );
  assert.is(result, 0);
  assert.is(out.join(''), 'to-out\n');
  assert.is(err.join(''), 'to-err\n');
  assert.is(seen['org.imgsdk'], '1');
  assert.is(seen['org.imgsdk.image'], 'test/ns');
  assert.equal(await leftovers(), []);
});

test('a container is removed after a non-zero exit and after its callback throws', async () => {
  if (!docker) return;
  const r = await engine.runContainer({ image, cmd: ['sh', '-c', 'echo last words; exit 3'], labels });
  assert.is(r.exitCode, 3);
  assert.is(r.tail, 'last words');
  const err = await engine
    .withContainer({ image, cmd: ['true'], labels }, async () => {
      throw new Error('callback failed');
    })
    .catch((e: unknown) => e);
  assert.is((err as Error).message, 'callback failed');
  const missing = await engine.runContainer({ image: `imgsdk-test/missing-${nonce}:x`, cmd: ['true'], labels }).catch((e: unknown) => e);
  assert.instance(missing, EngineError);
  assert.match((missing as Error).message, 'no such image');
  assert.equal(await leftovers(), []);
});

test('an abort removes the running container at once and rejects with CancelledError', async () => {
  if (!docker) return;
  const ac = new AbortController();
  const started = Date.now();
  const err = await engine
    .runContainer({
      image,
      cmd: ['sh', '-c', 'echo started; exec sleep 300'],
      labels,
      signal: ac.signal,
      onOutput: (chunk) => chunk.toString().includes('started') && ac.abort(),
    })
    .catch((e: unknown) => e);
  assert.instance(err, CancelledError);
  assert.ok(Date.now() - started < 20_000, 'the abort did not wait for the container');
  assert.equal(await leftovers(), []);
  const pre = await engine.runContainer({ image, cmd: ['true'], labels, signal: AbortSignal.abort() }).catch((e: unknown) => e);
  assert.instance(pre, CancelledError);
});

test('putArchive creates the target directory; getArchive returns what the container wrote', async () => {
  if (!docker) return;
  const tar = await tarOf({ 'a.txt': { body: 'alpha\n' }, 'run.sh': { body: 'cat /imgsdk/in/a.txt > /imgsdk/o.txt\n', mode: 0o750 } });
  const got = await engine.withContainer({ image, cmd: ['sh', '/imgsdk/in/run.sh'], labels }, async (c) => {
    await c.putArchive('/imgsdk/in', tar);
    const back = await untar(await c.getArchive('/imgsdk/in/run.sh'));
    assert.is(back.get('run.sh')?.mode, 0o750);
    assert.is(await c.run(), 0);
    return untar(await c.getArchive('/imgsdk/o.txt'));
  });
  assert.is(got.get('o.txt')?.body, 'alpha\n');
  assert.equal(await leftovers(), []);
});

test('SIGINT of the process removes its live containers and exits 130', async () => {
  if (!docker) return;
  const child = spawn(process.execPath, ['-r', 'ts-node/register', join(__dirname, '_sigint-child.ts'), image, nonce], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const name = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      const m = /running (\S+)/.exec(d.toString());
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`child exited ${code} early: ${stderr}`)));
  });
  assert.ok((await leftovers()).includes(name), 'the container runs before the signal');
  const code = await new Promise<number | null>((resolve) => {
    child.on('exit', (c) => resolve(c));
    child.kill('SIGINT');
  });
  assert.is(code, 130, stderr);
  assert.match(stderr, 'removing 1 build container');
  assert.equal(await leftovers(), []);
});

test.run();
