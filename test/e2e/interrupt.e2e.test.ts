import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { removeImages, tempDir } from './_app';
import { engineOrSkip } from '../_kit/engine';

const ROOT = join(__dirname, '..', '..');
const ID = 'imgsdk-e2e/slow';

const APP = `
import { debian, image } from 'imgsdk';
const bookworm = debian.builder('imgsdk-e2e/bookworm', { suite: 'bookworm' });
export const slow = image('${ID}').builder(bookworm).packages('hello')
  .configureBuilder('echo sleeping; sleep 120')
  .user('nobody').entrypoint('/usr/bin/hello');
`;

test('Ctrl-C during phase 1 leaves no container, no new tag and no cache entry', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const work = tempDir('imgsdk-e2e-int-');
  try {
    await removeImages(docker, [ID]);
    writeFileSync(join(work.dir, 'images.ts'), APP);
    const state = join(work.dir, 'state');
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'bin', 'imgsdk.js'),
        'deploy',
        '--json',
        '--app',
        join(work.dir, 'images.ts'),
        '-o',
        join(work.dir, 'out'),
        '--state',
        state,
      ],
      {
        cwd: work.dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Wait until the hook runs inside the builder container, then interrupt.
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => reject(new Error(`phase 1 never reached the hook:\n${buf}\n${stderr}`)), 240_000);
      child.stdout.on('data', (d) => {
        buf += d;
        if (buf.includes('hook configure-builder') || buf.includes('sleeping')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', () => reject(new Error(`deploy exited before phase 1:\n${buf}\n${stderr}`)));
    });
    const running = await docker.listContainers({ all: true, filters: { label: [`org.imgsdk.image=${ID}`] } });
    assert.equal(running.length, 1, 'the build container was running when interrupted');
    child.kill('SIGINT');
    const code = await exited;
    assert.equal(code, 130, stderr);

    const left = await docker.listContainers({ all: true, filters: { label: [`org.imgsdk.image=${ID}`] } });
    assert.equal(left, [], 'no container left');
    const tags = (await docker.listImages()).flatMap((i) => i.RepoTags ?? []).filter((t) => t.startsWith(ID + ':'));
    assert.equal(tags, [], 'no tag');
    const rootfs = join(state, 'rootfs');
    assert.equal(existsSync(rootfs) ? readdirSync(rootfs) : [], [], 'no cache entry, complete or not');
    assert.not.ok(existsSync(join(state, 'lock')), 'the state lock is released');
  } finally {
    work.remove();
    await removeImages(docker, [ID]);
  }
});

test.run();
