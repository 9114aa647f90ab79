import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MEMORY_TMP_MIN_FREE, memoryTmpBase, privateTmpdir } from '../../../../src/runtime/phase1/builders/tmpdirs';
import { processStart } from '../../../../src/runtime/store/mutex';

test("a run gets its own temp directory, removed at its end; what dead runs left (mmdebstrap.gpghome.*) is swept, a live run's is kept", async () => {
  const base = mkdtempSync(join(tmpdir(), 'imgsdk-tmpdirs-'));
  try {
    // A process that has ended: its pid names no process (or another one, with another start time).
    const dead = spawnSync('true').pid!;
    const deadDir = join(base, `${dead}-12345-abc`);
    mkdirSync(join(deadDir, 'mmdebstrap.gpghome.XYZ'), { recursive: true });
    writeFileSync(join(deadDir, 'mmdebstrap.gpghome.XYZ', 'pubring.kbx'), 'x');
    const reused = join(base, `${process.pid}-not-my-start-abc`);
    mkdirSync(reused);
    const live = join(base, `${process.pid}-${processStart(process.pid)}-live`);
    mkdirSync(live);
    const t = await privateTmpdir('test', base);
    assert.not.ok(existsSync(deadDir), "a dead run's directory is swept");
    assert.not.ok(existsSync(reused), 'a reused pid is not the owner');
    assert.ok(existsSync(live), "a live run's directory stays");
    assert.ok(t.dir.startsWith(join(base, `${process.pid}-`)));
    writeFileSync(join(t.dir, 'file'), 'x');
    await t.remove();
    assert.not.ok(existsSync(t.dir));
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test("a dead run's directory with something mounted below it (a chroot's /proc) is left alone, never removed through the mount", async () => {
  if (process.getuid?.() !== 0) {
    console.log('  (skipped: mounting needs root)');
    return;
  }
  const base = mkdtempSync(join(tmpdir(), 'imgsdk-tmpdirs-'));
  const dead = spawnSync('true').pid!;
  const mnt = join(base, `${dead}-1-abc`, 'root', 'proc');
  mkdirSync(mnt, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'imgsdk-test-chroot', mnt]);
  try {
    writeFileSync(join(mnt, 'host-file'), 'must survive');
    const t = await privateTmpdir('test', base);
    assert.ok(existsSync(join(mnt, 'host-file')), 'nothing below the mount was removed');
    await t.remove();
  } finally {
    spawnSync('umount', [mnt]);
    rmSync(base, { recursive: true, force: true });
  }
});

test("a bootstrap's temp files go to /dev/shm when it is a tmpfs that runs programs and has room; else to $TMPDIR, and an explicit TMPDIR wins", () => {
  const shm = (opts: string) => `/dev/vda / ext4 rw,relatime 0 0\ntmpfs /dev/shm tmpfs ${opts} 0 0\n`;
  const disk = join(tmpdir(), 'imgsdk-mmdebstrap');
  const room = MEMORY_TMP_MIN_FREE;
  assert.is(memoryTmpBase('mmdebstrap', {}, shm('rw,nosuid,nodev'), room), '/dev/shm/imgsdk-mmdebstrap');
  assert.is(memoryTmpBase('mmdebstrap', {}, shm('rw,nosuid,nodev,noexec'), room), disk, 'noexec: a chroot could not run its programs');
  assert.is(memoryTmpBase('mmdebstrap', {}, shm('rw'), room - 1), disk, 'too little room');
  assert.is(memoryTmpBase('mmdebstrap', {}, shm('rw'), null), disk, 'its room unknown');
  assert.is(memoryTmpBase('mmdebstrap', {}, '/dev/vda / ext4 rw 0 0\n', room), disk, 'no /dev/shm');
  assert.is(memoryTmpBase('mmdebstrap', {}, 'shm /dev/shm ext4 rw 0 0\n', room), disk, 'not a tmpfs');
  assert.is(memoryTmpBase('mmdebstrap', { TMPDIR: tmpdir() }, shm('rw'), room), disk, 'TMPDIR set by the user');
});

test.run();
