import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

// The built CLI, as users run it (`npm test` compiles dist/ first).
const ROOT = resolve(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'imgsdk.js');
const run = (args: string[], cwd: string, env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

let dir: string;
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'imgsdk-cli-verify-'));
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

test('keygen writes ci.key (0600) and ci.pub and names the key; a second run refuses to overwrite', () => {
  assert.ok(existsSync(join(ROOT, 'dist', 'cli', 'main.js')), 'dist/ is built');
  const r = run(['keygen', 'ci'], dir);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /wrote ci\.key .* and ci\.pub \(key [0-9a-f]{12}\)/);
  assert.is(statSync(join(dir, 'ci.key')).mode & 0o777, 0o600);
  assert.match(readFileSync(join(dir, 'ci.pub'), 'utf8'), /BEGIN PUBLIC KEY/);
  const again = run(['keygen', 'ci'], dir);
  assert.is(again.code, 2);
  assert.match(again.stderr, /ci\.key exists/);
});

test('keygen with IMGSDK_SIGN_KEY_PASSPHRASE writes an encrypted key', () => {
  assert.is(run(['keygen', 'sealed'], dir, { IMGSDK_SIGN_KEY_PASSPHRASE: 'pass phrase' }).code, 0);
  assert.match(readFileSync(join(dir, 'sealed.key'), 'utf8'), /ENCRYPTED PRIVATE KEY/);
});

test('verify without a key, or without a registry in the reference, is a usage error (exit 2)', () => {
  const noKey = run(['verify', '127.0.0.1:5000/acme/web:latest'], dir);
  assert.is(noKey.code, 2);
  assert.match(noKey.stderr, /needs --key FILE/);
  assert.is(run(['keygen', 'ci'], dir).code, 0);
  const noRegistry = run(['verify', 'acme/web:latest', '--key', 'ci.pub'], dir);
  assert.is(noRegistry.code, 2);
  assert.match(noRegistry.stderr, /names no registry/);
});

test('deploy --vex without a signing key is refused before anything is built', () => {
  const r = run(
    [
      'deploy',
      '--app',
      join(ROOT, 'test', 'fixtures', 'app.ts'),
      '-o',
      join(dir, 'out'),
      '--state',
      join(dir, 'state'),
      '--vex',
      join(dir, 'vex.json'),
    ],
    dir,
    { IMGSDK_SIGN_KEY: '' },
  );
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /--vex .* needs a signing key/);
});

test.run();
