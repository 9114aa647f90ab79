import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RootfsError } from '../../../src/contract/errors';
import { BlobStore } from '../../../src/runtime/store/blobs';
import { normalizeEntries, readRootfsTar } from '../../../src/runtime/rootfs/tar';
import { dir, file, makeTar, symlink, type TarItem } from './_tar-fixture';

let tmp = '';
let blobs: BlobStore;
test.before.each(() => {
  tmp = mkdtempSync(join(tmpdir(), 'imgsdk-tar-'));
  blobs = new BlobStore(join(tmp, 'blobs'));
});
test.after.each(() => rmSync(tmp, { recursive: true, force: true }));

async function rejection(items: readonly TarItem[], opts = {}): Promise<RootfsError> {
  try {
    await readRootfsTar(makeTar(items), blobs, opts);
  } catch (err) {
    assert.instance(err, RootfsError);
    return err as RootfsError;
  }
  throw new Error('expected a RootfsError');
}

test('readRootfsTar normalizes paths, stores bodies and parses ELF files', async () => {
  const ls = readFileSync('/bin/ls');
  const entries = await readRootfsTar(
    makeTar([
      { name: './', type: 'directory' },
      { name: './usr/', type: 'directory' },
      { name: './usr/bin/', type: 'directory' },
      { name: './usr/bin/ls', body: ls, mode: 0o755 },
      { name: 'etc/hostname', body: 'box\n' },
      { name: './usr/bin/dir', type: 'symlink', linkname: 'ls' },
      { name: 'usr/bin/vdir', type: 'link', linkname: './usr/bin/ls' },
    ]),
    blobs,
    { origin: (p) => (p.startsWith('usr/bin/') ? 'coreutils' : undefined) },
  );
  assert.equal(
    entries.map((e) => [e.path, e.type]),
    [
      ['etc/hostname', 'file'],
      ['usr', 'dir'],
      ['usr/bin', 'dir'],
      ['usr/bin/dir', 'symlink'],
      ['usr/bin/ls', 'file'],
      ['usr/bin/vdir', 'file'],
    ],
  );
  const lsEntry = entries.find((e) => e.path === 'usr/bin/ls')!;
  assert.is(lsEntry.size, ls.length);
  assert.is(lsEntry.mode, 0o755);
  assert.is(lsEntry.sha256, createHash('sha256').update(ls).digest('hex'));
  assert.ok((await blobs.read(lsEntry.sha256!)).equals(ls));
  assert.is(lsEntry.elf?.interp, '/lib64/ld-linux-x86-64.so.2');
  assert.is(lsEntry.origin, 'coreutils');
  assert.is(entries.find((e) => e.path === 'etc/hostname')!.elf, null);
  assert.is(entries.find((e) => e.path === 'etc/hostname')!.origin, undefined);
  // A hardlink is a file with its target's facts, both in one inode group.
  const vdir = entries.find((e) => e.path === 'usr/bin/vdir')!;
  assert.is(vdir.sha256, lsEntry.sha256);
  assert.is(vdir.mode, lsEntry.mode);
  assert.is(vdir.inode, 'usr/bin/ls');
  assert.is(lsEntry.inode, 'usr/bin/ls');
  assert.is(entries.find((e) => e.path === 'usr/bin/dir')!.linkname, 'ls');
});

test('readRootfsTar streams large bodies to the store and parses them in place, with the same facts', async () => {
  const ls = readFileSync('/bin/ls');
  const items = [
    { name: 'usr/bin/ls', body: ls, mode: 0o755 },
    { name: 'usr/bin/tool', body: '#!/usr/bin/env python3\nprint(1)\n', mode: 0o755 },
  ];
  const small = await readRootfsTar(makeTar(items), blobs);
  const large = await readRootfsTar(makeTar(items), blobs, { bufferLimit: 16 });
  assert.equal(large, small);
  assert.equal(large[0].elf?.needed.includes('libc.so.6'), true);
  assert.is(large[1].shebang, 'python3');
  assert.ok((await blobs.read(large[0].sha256!)).equals(ls));
});

test('readRootfsTar lets a later entry replace an earlier one at the same path', async () => {
  const entries = await readRootfsTar(
    makeTar([
      { name: 'etc/motd', body: 'old' },
      { name: 'etc/motd', body: 'new' },
    ]),
    blobs,
  );
  assert.is(entries.length, 1);
  assert.is((await blobs.read(entries[0].sha256!)).toString(), 'new');
});

test('readRootfsTar accepts absolute symlinks and .. that stays inside the root', async () => {
  const entries = await readRootfsTar(
    makeTar([
      { name: 'usr/lib/libz.so.1.2.13', body: 'z' },
      { name: 'lib/libz.so.1', type: 'symlink', linkname: '/usr/lib/libz.so.1.2.13' },
      { name: 'usr/lib/libz.so', type: 'symlink', linkname: '../../usr/lib/libz.so.1.2.13' },
      { name: 'usr/share/../lib/x', body: 'x' },
    ]),
    blobs,
  );
  assert.equal(
    entries.map((e) => e.path),
    ['lib/libz.so.1', 'usr/lib/libz.so', 'usr/lib/libz.so.1.2.13', 'usr/lib/x'],
  );
});

const UNSAFE: readonly [string, TarItem, string][] = [
  ['a path climbing out with ..', { name: '../escape', body: 'x' }, 'climbs out'],
  ['an absolute path', { name: '/etc/passwd', body: 'root:x:0:0::/:/bin/sh\n' }, 'absolute path'],
  ['a symlink out of the root', { name: 'lib/x', type: 'symlink', linkname: '../../../../etc/shadow' }, 'points outside the root'],
  ['a hardlink out of the root', { name: 'lib/h', type: 'link', linkname: '../../etc/shadow' }, 'outside the root'],
  ['a character device', { name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 }, 'character-device 1:3'],
  ['a setuid binary', { name: 'usr/bin/su', body: 'elf', mode: 0o4755 }, 'setuid file'],
  ['a setgid binary', { name: 'usr/bin/wall', body: 'elf', mode: 0o2755 }, 'setgid file'],
  ['a fifo', { name: 'run/initctl', type: 'fifo' }, 'fifo'],
];

for (const [what, item, why] of UNSAFE) {
  test(`readRootfsTar rejects ${what}, naming the entry`, async () => {
    const err = await rejection([{ name: 'etc', type: 'directory' }, item]);
    assert.equal(err.entries, [item.name]);
    assert.match(err.message, `${item.name}: `);
    assert.match(err.message, why);
  });
}

test('readRootfsTar collects every unsafe entry into one error', async () => {
  const err = await rejection(UNSAFE.map(([, item]) => item));
  assert.equal([...err.entries].sort(), UNSAFE.map(([, item]) => item.name).sort());
  assert.match(err.message, `${UNSAFE.length} unsafe entries`);
  for (const [, item] of UNSAFE) assert.match(err.message, item.name);
});

test('readRootfsTar catches a symlink that escapes through another symlink', async () => {
  // Lexically usr/lib/up/../../.. stays inside; through `up -> ..` it climbs above the root.
  const err = await rejection([
    { name: 'usr/lib/up', type: 'symlink', linkname: '..' },
    { name: 'usr/x', type: 'symlink', linkname: 'lib/up/../../..' },
  ]);
  assert.equal(err.entries, ['usr/x']);
});

test('readRootfsTar rejects a hardlink to an entry the archive does not have', async () => {
  const err = await rejection([{ name: 'usr/bin/b', type: 'link', linkname: 'usr/bin/a' }]);
  assert.equal(err.entries, ['usr/bin/b']);
  assert.match(err.message, 'not a regular file earlier in the archive');
});

test('readRootfsTar keeps setuid files and drops device nodes when allowed', async () => {
  const entries = await readRootfsTar(
    makeTar([
      { name: 'usr/bin/su', body: 'elf', mode: 0o4755 },
      { name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 },
      { name: 'dev', type: 'directory' },
    ]),
    blobs,
    { allowSetuid: true, allowDevices: true },
  );
  assert.equal(
    entries.map((e) => e.path),
    ['dev', 'usr/bin/su'],
  );
  assert.is(entries[1].mode, 0o4755);
});

test('normalizeEntries sorts by byte order and adds missing parent directories', () => {
  const out = normalizeEntries([
    file('usr/lib/b'),
    file('usr/lib-x/a'),
    symlink('usr/lib.so', 'lib/b'),
    dir('usr', 0o700),
    file('é'),
    file('z'),
  ]);
  assert.equal(
    out.map((e) => e.path),
    ['usr', 'usr/lib', 'usr/lib-x', 'usr/lib-x/a', 'usr/lib.so', 'usr/lib/b', 'z', 'é'],
  );
  assert.is(out[0].mode, 0o700);
  const added = out.find((e) => e.path === 'usr/lib')!;
  assert.equal([added.type, added.mode, added.uid, added.gid], ['dir', 0o755, 0, 0]);
});

test('normalizeEntries keeps the last entry of a path and owns added directories as told', () => {
  const out = normalizeEntries([file('a/x', 1), file('a/x', 2)], { uid: 1000, gid: 1000 });
  assert.equal(
    out.map((e) => [e.path, e.size, e.uid]),
    [
      ['a', 0, 1000],
      ['a/x', 2, 0],
    ],
  );
});

test.run();
