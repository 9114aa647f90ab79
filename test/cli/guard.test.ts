import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

test('a process that runs out of work while its command is pending exits 1 and says so', () => {
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register', join(__dirname, '_pending-child.ts')], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, 'imgsdk deploy: stopped with work pending');
});

test.run();
