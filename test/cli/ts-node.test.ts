import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = join(__dirname, '..', '..');

test('ts-node loads the repository images.ts with the pinned TypeScript, and imgsdk resolves to this package', () => {
  const script =
    "const m = require('./images.ts'); console.log(Object.keys(m).sort().join(',')); console.log(require('typescript').version)";
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const [exportsLine, version] = r.stdout.trim().split('\n');
  assert.is(exportsLine, 'base,bookworm,default,nginx');
  assert.match(version, /^5\.9\./);
});

test.run();
