import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLEANUP_SIGNALS, signalExitCode } from '../../../src/contract/signals';

/** Starts the child, sends `signal` once it is ready; its exit code and whether its container was removed. */
function signalled(signal: NodeJS.Signals): Promise<{ code: number | null; removed: boolean; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-cleanup-'));
  const marker = join(dir, 'removed');
  const child = spawn(process.execPath, ['-r', 'ts-node/register', join(__dirname, '_cleanup-child.ts'), marker], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    if (d.toString().includes('ready')) child.kill(signal);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((ok) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      const removed = existsSync(marker) && readFileSync(marker, 'utf8') === 'removed';
      rmSync(dir, { recursive: true, force: true });
      ok({ code, removed, stderr });
    }),
  );
}

test('SIGHUP (the terminal closed) removes the live containers as SIGINT and SIGTERM do, and exits 128 + its number', async () => {
  assert.equal([...CLEANUP_SIGNALS], ['SIGINT', 'SIGTERM', 'SIGHUP']);
  for (const sig of CLEANUP_SIGNALS) {
    const r = await signalled(sig);
    assert.ok(r.removed, `${sig}: the container was removed (${r.stderr})`);
    assert.is(r.code, signalExitCode(sig), sig);
    assert.match(r.stderr, `imgsdk: ${sig}, removing 1 build container`);
  }
  assert.equal(CLEANUP_SIGNALS.map(signalExitCode), [130, 143, 129]);
});

test.run();
