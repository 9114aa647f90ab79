import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nodeExitCode } from '../../src/cli/node';

// The built CLI, as a workflow runs it (`npm test` compiles dist/ first).
const ROOT = resolve(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'imgsdk.js');
const APP = join(ROOT, 'test', 'fixtures', 'app.ts');

function run(args: string[], dir: string) {
  const env = { ...process.env, IMGSDK_OUTDIR: join(dir, 'out'), IMGSDK_STATE_DIR: join(dir, 'state') };
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function deadPort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

let dir: string;
test.before(() => {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is not built: run `npx tsc -p .` (npm test does)');
});
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'imgsdk-cli-node-'));
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

test("exit codes of a node: 0 done, 75 for anything retryable, the error code's own exit otherwise (never 0 or 75)", () => {
  assert.is(nodeExitCode({}), 0);
  assert.is(nodeExitCode({ error: { code: 'UNAVAILABLE', retryable: true, message: 'x' } }), 75);
  assert.is(nodeExitCode({ error: { code: 'CANCELLED', retryable: true, message: 'x' } }), 75, 'interrupted: retried, not 130');
  assert.is(nodeExitCode({ error: { code: 'ENGINE', retryable: true, message: 'x' } }), 75);
  assert.is(nodeExitCode({ error: { code: 'USAGE', retryable: false, message: 'x' } }), 2);
  assert.is(nodeExitCode({ error: { code: 'BUILD', retryable: false, message: 'x' } }), 1);
  assert.is(nodeExitCode({ error: { code: 'UNAVAILABLE', retryable: false, message: 'x' } }), 1, 'a permanent failure never exits 75');
  assert.is(nodeExitCode({ error: { code: 'NOT-A-CODE', retryable: false, message: 'x' } }), 1);
});

test('imgsdk node with a registry cache that does not answer exits 75 and prints (and writes) one JSON result naming the image, platform and key', async () => {
  const port = await deadPort();
  const result = join(dir, 'result.json');
  const r = run(['node', 'acme/web', '--app', APP, '--cache', `127.0.0.1:${port}/ci`, '--result', result], dir);
  assert.is(r.code, 75, r.stderr);
  const last = r.stdout.trim().split('\n').pop()!;
  const out = JSON.parse(last);
  assert.equal(Object.keys(out), ['image', 'platform', 'key', 'digest', 'status', 'error']);
  assert.equal(
    [out.image, out.platform, out.digest, out.status, out.error.code, out.error.retryable],
    ['acme/web', null, null, 'failed', 'UNAVAILABLE', true],
  );
  assert.match(out.key, /^[0-9a-f]{64}$/);
  assert.is(readFileSync(result, 'utf8'), last + '\n', '--result holds the same line');
  assert.match(r.stderr, `imgsdk node: --cache 127.0.0.1:${port}/ci: the registry at http://127.0.0.1:${port} does not answer`);
});

test('imgsdk node of an unknown image is a permanent failure: exit 2 and retryable false', () => {
  const r = run(['node', 'acme/nope', '--app', APP, '--cache', '127.0.0.1:1/ci'], dir);
  assert.is(r.code, 2, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal([out.status, out.error.code, out.error.retryable], ['failed', 'USAGE', false]);
});

test('imgsdk node without --cache, or with --push outside --publish, is a usage error before anything runs', () => {
  const a = run(['node', 'acme/web', '--app', APP], dir);
  assert.is(a.code, 2);
  assert.match(a.stderr, 'node needs --cache REGISTRY/PREFIX');
  const b = run(['node', 'acme/web', '--app', APP, '--cache', '127.0.0.1:1/ci', '--push', '127.0.0.1:1'], dir);
  assert.is(b.code, 2);
  assert.match(b.stderr, '--push goes with --publish');
});

test.run();
