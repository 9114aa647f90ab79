/**
 * The tree is formatted: `npm run format:check` (prettier, configured in
 * .prettierrc.json and .prettierignore) finds nothing to change. `npm run format`
 * fixes what it names.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = join(__dirname, '..');

test('every TypeScript and JavaScript source is formatted as .prettierrc.json says (npm run format fixes it)', () => {
  const r = spawnSync('npm', ['run', '-s', 'format:check'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
  });
  const unformatted = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('[warn] ') && !l.includes('Code style issues'))
    .map((l) => l.slice(7));
  assert.equal(unformatted, [], `not formatted (run npm run format):\n${unformatted.join('\n')}\n${r.stderr}`);
  assert.is(r.status, 0, r.stdout + r.stderr);
});

test.run();
