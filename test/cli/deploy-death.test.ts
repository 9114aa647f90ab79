import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli } from '../_kit/cli';
import { json, startFakeEngine } from '../runtime/engine/_fake-engine';

const APP = `
import { debian, image } from 'imgsdk';
const deb = debian.builder('death/bookworm', { suite: 'bookworm' });
export const curl = image('death/curl').builder(deb).packages('curl').user('nobody').entrypoint('/usr/bin/curl');
`;

test('deploy whose engine dies in phase 1 reports the image failed with the cause and exits 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-death-'));
  try {
    writeFileSync(join(dir, 'images.ts'), APP);
    const out = join(dir, 'out');
    const synth = await runCli(['synth', '--app', join(dir, 'images.ts'), '-o', out, '-q'], { timeoutMs: 60_000 });
    assert.is(synth.code, 0, synth.stderr);
    const builderKey = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).builders['death/bookworm'].key as string;

    // Enough of the Docker API for phase 1 to start; the engine dies while the build runs.
    const fake = await startFakeEngine((req, res, f) => {
      const url = decodeURIComponent(req.url!);
      const image = /^\/images\/(.+)\/json/.exec(url)?.[1];
      if (image?.startsWith('imgsdk-builder/')) {
        return json(res, 200, {
          Id: `sha256:${'b'.repeat(64)}`,
          RepoTags: [image],
          Config: { Labels: { 'org.imgsdk.key': builderKey } },
          Size: 1,
        });
      }
      if (image) return json(res, 404, { message: `No such image: ${image}` });
      if (url.startsWith('/containers/json')) return json(res, 200, []);
      if (url.includes('/containers/create')) return json(res, 201, { Id: 'c'.repeat(64) });
      if (req.method === 'HEAD' || req.method === 'PUT') return req.resume().on('end', () => (res.writeHead(200), res.end()));
      if (url.includes('/attach')) return (res.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' }), res.flushHeaders());
      if (url.includes('/start')) return (res.writeHead(204), res.end());
      if (url.includes('/wait')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
        setTimeout(() => f.die(), 300);
        return;
      }
      json(res, 404, { message: `not in this fake: ${req.method} ${url}` });
    });
    try {
      const r = await runCli(['deploy', '--app', out, '--state', join(dir, 'state')], {
        env: { DOCKER_HOST: fake.host },
        timeoutMs: 60_000,
      });
      assert.ok(
        fake.requests.some((q) => q.includes('/wait')),
        `phase 1 was reached: ${fake.requests.join('\n')}`,
      );
      assert.is(r.code, 1, `exit code; stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
      assert.match(r.stderr, 'death/curl: failed');
      assert.match(r.stdout, '1 failed');
      assert.match(r.stdout, /death\/curl failed:\n.*the engine at unix:\/\/.* went away mid-request/);
    } finally {
      await fake.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
