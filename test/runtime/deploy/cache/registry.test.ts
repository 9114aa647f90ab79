import { createServer } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UnavailableError, UsageError, isRetryable } from '../../../../src/contract/errors';
import { buildTag, cacheRepository, openCache } from '../../../../src/runtime/deploy/cache/registry';

test('a cache entry lives in PREFIX/<id>: the image under the key, the build artifact under <key>.build', () => {
  assert.is(cacheRepository({ registry: '127.0.0.1:5000/ci/cache' }, 'imgsdk/nginx'), 'ci/cache/imgsdk/nginx');
  assert.is(cacheRepository({ registry: 'registry.example.com' }, 'imgsdk/nginx'), 'imgsdk/nginx');
  assert.is(buildTag('ab'.repeat(32)), `${'ab'.repeat(32)}.build`);
});

test('--cache that is not host[:port]/prefix is a usage error naming it', async () => {
  const err = await openCache('not a registry!').catch((e: unknown) => e);
  assert.instance(err, UsageError);
  assert.match((err as Error).message, '--cache "not a registry!" is not a registry (host[:port][/prefix])');
});

test('a cache registry that does not answer is a retryable error (exit 75) naming it, before anything is built', async () => {
  // A port nothing listens on: taken, then released.
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const err = await openCache(`127.0.0.1:${port}/ci`).catch((e: unknown) => e);
  assert.instance(err, UnavailableError);
  assert.ok(isRetryable(err));
  assert.is((err as UnavailableError).exitCode, 75);
  assert.match((err as Error).message, `--cache 127.0.0.1:${port}/ci: the registry at http://127.0.0.1:${port} does not answer`);
});

test.run();
