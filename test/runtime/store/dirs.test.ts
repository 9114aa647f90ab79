import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ImgsdkError } from '../../../src/contract/errors';
import { ensureWritableDir } from '../../../src/runtime/store/dirs';

/** The one-line error of ensureWritableDir, within 5 s (mkdir -p under /proc never returns). */
async function refusal(path: string): Promise<string> {
  let timer: NodeJS.Timeout;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('hangs')), 5000)));
  const err = await Promise.race([
    ensureWritableDir(path, 'state directory').then(
      () => null,
      (e: unknown) => e,
    ),
    hang,
  ]).finally(() => clearTimeout(timer));
  assert.instance(err, ImgsdkError, `expected a refusal for ${path}, got ${String(err)}`);
  const msg = (err as Error).message;
  assert.not.match(msg, '\n', 'one line');
  return msg;
}

test('a missing directory and its parents are made', async () => {
  const root = mkdtempSync(join(tmpdir(), 'imgsdk-dirs-'));
  try {
    await ensureWritableDir(join(root, 'a', 'b', 'c'), 'state directory');
    assert.ok(statSync(join(root, 'a', 'b', 'c')).isDirectory());
    await ensureWritableDir(join(root, 'a', 'b', 'c'), 'state directory');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a state directory that is a regular file, or lies under one, is one clear line', async () => {
  const root = mkdtempSync(join(tmpdir(), 'imgsdk-dirs-'));
  try {
    writeFileSync(join(root, 'file'), '');
    assert.is(await refusal(join(root, 'file')), `state directory ${join(root, 'file')}: is a file, not a directory`);
    assert.match(await refusal(join(root, 'file', 'sub')), 'a part of it is a file, not a directory');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a state directory under /proc or /sys is refused at once instead of hanging', async () => {
  assert.match(await refusal('/proc/imgsdk-state'), /^state directory \/proc\/imgsdk-state: is on \/proc, a kernel filesystem/);
  assert.match(await refusal('/proc/self/imgsdk/x'), 'is on /proc');
  assert.match(await refusal('/sys/kernel/imgsdk-state'), 'is on sysfs');
});

test('a state directory on a read-only mount is one clear line', async () => {
  if (process.getuid?.() !== 0) return void console.log('  skipped: mounting a read-only tmpfs needs root');
  const root = mkdtempSync(join(tmpdir(), 'imgsdk-dirs-'));
  const ro = join(root, 'ro');
  mkdirSync(ro);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro], { encoding: 'utf8' });
  if (m.status !== 0) {
    rmSync(root, { recursive: true, force: true });
    return void console.log(`  skipped: cannot mount a tmpfs here (${m.stderr.trim()})`);
  }
  try {
    assert.is(await refusal(ro), `state directory ${ro}: is not writable: the filesystem is read-only (EROFS)`);
    assert.is(
      await refusal(join(ro, 'st')),
      `state directory ${join(ro, 'st')}: cannot create ${join(ro, 'st')}: the filesystem is read-only (EROFS)`,
    );
  } finally {
    spawnSync('umount', [ro]);
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
