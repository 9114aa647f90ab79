import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, debian, deploy, image } from '../../../src';
import { ImgsdkError } from '../../../src/contract/errors';
import { checkStateLayout, stateFsError } from '../../../src/runtime/store/fs-errors';

const deb = debian.builder('unit/bookworm', { suite: 'bookworm' });
const note = image('unit/note').builder(deb).file('/note.txt', 'hello from a note\n').user('nobody');

function dirs() {
  const root = mkdtempSync(join(tmpdir(), 'imgsdk-fs-errors-'));
  return { root, state: join(root, 'state'), out: join(root, 'out'), remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** The one-line reason of the deploy's image, or the error it threw. */
async function outcome(d: ReturnType<typeof dirs>, img = note): Promise<string> {
  try {
    const r = await deploy(app(img), { stateDir: d.state, assemblyDir: d.out, load: false, force: true });
    return r.ok ? 'ok' : r.images.map((i) => i.reason).join('\n');
  } catch (e) {
    assert.instance(e, ImgsdkError, String((e as Error).stack));
    return (e as Error).message;
  }
}

const oneLine = (s: string) => assert.not.match(s, /\n\s+at /, `a stack trace:\n${s}`);

test('blobs/, layers/ or rootfs/ replaced by a file or a dangling symlink: one line naming it, before anything is built', async () => {
  for (const [name, make] of [
    ['blobs', (p: string) => writeFileSync(p, 'x')],
    ['layers', (p: string) => symlinkSync(join(p, '..', 'nowhere'), p)],
    ['rootfs', (p: string) => writeFileSync(p, '')],
    ['images', (p: string) => symlinkSync('/etc/hostname', p)],
  ] as const) {
    const d = dirs();
    try {
      mkdirSync(d.state, { recursive: true });
      make(join(d.state, name));
      const why = await outcome(d);
      oneLine(why);
      assert.match(
        why,
        new RegExp(
          `^state directory .*: .*/state/${name} is (a file|a dangling symlink|a symlink to something that is not a directory), where imgsdk keeps a directory: remove it`,
        ),
        name,
      );
    } finally {
      d.remove();
    }
  }
});

test('images/<ns>/<name> replaced by a file: the image fails with one line naming that path', async () => {
  const d = dirs();
  try {
    assert.is(await outcome(d), 'ok');
    const dir = join(d.state, 'images', 'unit', 'note');
    rmSync(dir, { recursive: true });
    writeFileSync(dir, 'not a directory');
    const why = await outcome(d);
    oneLine(why);
    assert.match(why, /state\/images\/unit\/note is a file, where imgsdk keeps a directory/);
  } finally {
    d.remove();
  }
});

test('stateFsError leaves errors outside the state directory alone, and names the disk when it is full', () => {
  const outside = Object.assign(new Error('ENOENT: x'), { code: 'ENOENT', path: '/elsewhere/x', syscall: 'open' });
  assert.is(stateFsError(outside, '/s'), null);
  assert.is(stateFsError(new TypeError('x'), '/s'), null);
  const full = stateFsError(Object.assign(new Error('ENOSPC'), { code: 'ENOSPC', path: '/s/blobs/a.tmp', syscall: 'write' }), '/s');
  assert.match(full!.message, /^the disk of the state directory \/s is full \(write \/s\/blobs\/a\.tmp\): free some space/);
  assert.not.throws(() => checkStateLayout(join(tmpdir(), `imgsdk-absent-${randomBytes(4).toString('hex')}`)));
});

// A full state disk needs a small file system of its own: a tmpfs, mounted as root.
const canMount = process.getuid?.() === 0 && spawnSync('mount', ['--version']).status === 0;

test('a full state disk: one line naming the state directory, no partial files left, and the next deploy with space succeeds', async () => {
  if (!canMount) {
    console.log('  (skipped: mounting a tmpfs needs root)');
    return;
  }
  const d = dirs();
  mkdirSync(d.state, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'imgsdk-test-full', d.state]);
  try {
    // Random bytes do not compress: the layer and the blob of 512 KiB cannot fit in 256 KiB.
    const big = image('unit/big')
      .builder(deb)
      .file('/big.bin', randomBytes(512 * 1024))
      .user('nobody');
    const why = await outcome(d, big);
    oneLine(why);
    assert.match(why, new RegExp(`the disk of the state directory ${d.state.replace(/[/.]/g, '\\$&')} is full`));
    const left: string[] = [];
    const walk = (p: string) =>
      readdirSync(p, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(join(p, e.name)) : left.push(join(p, e.name))));
    walk(d.state);
    assert.equal(
      left.filter((f) => f.endsWith('.tmp')),
      [],
      'no temp file left behind',
    );
    execFileSync('mount', ['-o', 'remount,size=8m', d.state]);
    assert.is(await outcome(d, big), 'ok', 'with space, the same deploy succeeds');
  } finally {
    spawnSync('umount', [d.state]);
    d.remove();
  }
  assert.not.ok(existsSync(d.root));
});

test.run();
