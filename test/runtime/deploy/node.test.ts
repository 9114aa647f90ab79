import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CancelledError, UnavailableError, ValidationError } from '../../../src/contract/errors';
import { hostPlatform } from '../../../src/contract/platform';
import type { LoadedAssembly } from '../../../src/contract/read';
import { dependencyClosure, describeFailure, onePlatform, platformOf, runNode } from '../../../src/runtime/deploy/node';
import { platformTargets } from '../../../src/runtime/deploy/targets';
import { debian } from '../../../src/sdk/builder';
import { image } from '../../../src/sdk/image';
import { assemble } from '../../../src/sdk/synth';

let dir: string;
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'imgsdk-node-'));
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

/** base ← web, base ← tools (copies from web), and a lone image; two platforms unless told. */
function loaded(platforms: string[] | null = ['linux/amd64', 'linux/arm64']): LoadedAssembly {
  const deb = debian.builder('acme/bookworm', { suite: 'bookworm', ...(platforms ? { platforms } : {}) });
  const base = image('acme/base').builder(deb).packages('libc6');
  const web = image('acme/web').from(base).packages('nginx-light');
  const tools = image('acme/tools')
    .from(base)
    .copy({ from: web, paths: ['/usr/sbin/nginx'] });
  const lone = image('acme/lone').builder(deb).packages('busybox-static');
  const asm = assemble([base, web, tools, lone]);
  return { dir, manifest: asm.manifest, images: asm.images };
}

/** A loopback port nothing listens on: taken, then released. */
function deadPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

test('a node restores every dependency first: parents, copy sources and their parents, in build order', () => {
  const asm = loaded();
  assert.equal(dependencyClosure(asm.manifest, 'acme/tools'), ['acme/base', 'acme/web']);
  assert.equal(dependencyClosure(asm.manifest, 'acme/web'), ['acme/base']);
  assert.equal(dependencyClosure(asm.manifest, 'acme/base'), []);
});

test("a node builds the platform asked for, the host's by default, and refuses one the image does not name", () => {
  const asm = loaded(['linux/amd64', 'linux/arm64']);
  assert.is(platformOf(asm, 'acme/web', 'linux/arm64'), 'linux/arm64');
  assert.is(platformOf(asm, 'acme/web', 'arm64'), 'linux/arm64', 'normalized as deploy --platform is');
  assert.is(platformOf(asm, 'acme/web', undefined), hostPlatform());
  assert.throws(
    () => platformOf(loaded(['linux/amd64']), 'acme/web', 'linux/arm64'),
    /acme\/web is not built for linux\/arm64 \(its platforms: linux\/amd64\)/,
  );
  assert.throws(() => platformOf(asm, 'acme/web', 'sparc'), /--platform "sparc" is not a platform imgsdk knows/);
});

test('an image that names no platforms builds for the host: platform null, and another platform is refused naming the image', () => {
  const asm = loaded(null);
  assert.is(platformOf(asm, 'acme/web', undefined), null);
  assert.is(platformOf(asm, 'acme/web', hostPlatform()), null);
  const other = hostPlatform() === 'linux/amd64' ? 'linux/arm64' : 'linux/amd64';
  assert.throws(
    () => platformOf(asm, 'acme/web', other),
    new RegExp(`acme/web names no platforms, so it builds for the host \\(${hostPlatform()}\\), not ${other}`),
  );
});

test("a node of one platform sees only that platform's build of each image, under the same keys", () => {
  const asm = loaded();
  const view = onePlatform(asm, 'linux/arm64');
  const [only, ...more] = platformTargets(view, 'acme/web', 'linux/arm64');
  assert.is(more.length, 0);
  const arm = platformTargets(asm, 'acme/web', 'linux/amd64').find((t) => t.platform === 'linux/arm64')!;
  assert.equal([only.platform, only.key, only.engine], ['linux/arm64', arm.key, true]);
  assert.is(
    view.manifest.images['acme/base'].platforms!['linux/arm64'].key,
    asm.manifest.images['acme/base'].platforms!['linux/arm64'].key,
  );
  assert.equal(
    Object.keys(asm.manifest.images['acme/web'].platforms!),
    ['linux/amd64', 'linux/arm64'],
    'the assembly itself is not changed',
  );
});

test('a failure is described by its code, whether a retry may succeed, and its message', () => {
  assert.equal(describeFailure(new UnavailableError('acme/web: acme/base is not in the registry cache yet')), {
    code: 'UNAVAILABLE',
    retryable: true,
    message: 'acme/web: acme/base is not in the registry cache yet',
  });
  assert.equal(describeFailure(new CancelledError('acme/web: cancelled')), {
    code: 'CANCELLED',
    retryable: true,
    message: 'acme/web: cancelled',
  });
  const bad = describeFailure(new ValidationError([{ id: 'acme/web', message: 'no entrypoint' }]));
  assert.equal([bad.code, bad.retryable], ['VALIDATION', false]);
  assert.match(bad.message, 'acme/web: no entrypoint');
  const plain = describeFailure(new Error('boom'));
  assert.equal([plain.code, plain.retryable], ['INTERNAL', false]);
});

test('a node whose registry cache does not answer fails retryably before anything is built, and says so in its result', async () => {
  const port = await deadPort();
  const r = await runNode(loaded(), 'acme/web', {
    cache: `127.0.0.1:${port}/ci`,
    platform: 'linux/amd64',
    stateDir: join(dir, 'state'),
    load: false,
  });
  assert.equal([r.image, r.platform, r.status, r.digest], ['acme/web', 'linux/amd64', 'failed', null]);
  assert.is(r.key, loaded().manifest.images['acme/web'].platforms!['linux/amd64'].key);
  assert.equal([r.error?.code, r.error?.retryable], ['UNAVAILABLE', true]);
  assert.match(r.error!.message, `the registry at http://127.0.0.1:${port} does not answer`);
});

test('a node of an image the app lacks is a permanent usage failure listing the images', async () => {
  const r = await runNode(loaded(), 'acme/nope', { cache: '127.0.0.1:1/ci', stateDir: join(dir, 'state') });
  assert.equal([r.status, r.error?.code, r.error?.retryable], ['failed', 'USAGE', false]);
  assert.match(r.error!.message, 'no image "acme/nope" in the app (images: acme/base, acme/lone, acme/tools, acme/web)');
});

test.run();
