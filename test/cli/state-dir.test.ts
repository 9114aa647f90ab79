import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const BIN = join(resolve(__dirname, '..', '..'), 'bin', 'imgsdk.js');
const APP = `
import { debian, image } from 'imgsdk';
const deb = debian.builder('sd/bookworm', { suite: 'bookworm' });
export const note = image('sd/note').builder(deb).file('/note.txt', 'x\\n').user('nobody');
`;

test('deploy with a state directory that is a file, or under /proc, exits 1 with one line and no stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-state-dir-'));
  try {
    writeFileSync(join(dir, 'images.ts'), APP);
    writeFileSync(join(dir, 'afile'), '');
    for (const [state, why] of [
      ['afile', 'is a file, not a directory'],
      ['/proc/imgsdk-state', 'is on /proc'],
    ]) {
      const r = spawnSync(process.execPath, [BIN, 'deploy', '--no-load', '--state', state], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.is(r.status, 1, `${state}: ${r.stderr}`);
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('imgsdk deploy:'));
      assert.equal(errors.length, 1, r.stderr);
      assert.match(errors[0], `imgsdk deploy: state directory ${state.startsWith('/') ? state : join(dir, state)}: ${why}`);
      assert.not.match(r.stderr, /^\s+at /m, 'no stack trace');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
