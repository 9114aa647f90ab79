import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dropUnloadableModules } from '../../../src/runtime/rootfs/modules';
import { elf, file, symlink } from './_tar-fixture';

const LD = '/lib64/ld-linux-x86-64.so.2';
const glibc = [
  file('lib64/ld-linux-x86-64.so.2', 200, elf({ soname: 'ld-linux-x86-64.so.2' })),
  file('lib64/libc.so.6', 2000, elf({ soname: 'libc.so.6', interp: LD })),
];

test('a module whose library no layer provides is dropped with the reason, and so is a symlink to it', () => {
  const layer = [
    file('usr/sbin/tc', 100, elf({ type: 3, interp: LD, needed: ['libc.so.6'] })),
    file('usr/lib/tc/q_atm.so', 50, elf({ needed: ['libatm.so.1', 'libc.so.6'] })),
    symlink('usr/lib/tc/atm.so', 'q_atm.so'),
    file('usr/lib/tc/m_xt.so', 50, elf({ needed: ['libc.so.6'] })),
  ];
  const { entries, dropped } = dropUnloadableModules([glibc, layer], { libc: 'glibc' });
  assert.equal(dropped, [{ path: 'usr/lib/tc/q_atm.so', why: 'needs libatm.so.1, which no layer provides' }]);
  assert.equal(
    entries.map((e) => e.path),
    ['usr/sbin/tc', 'usr/lib/tc/m_xt.so'],
  );
});

test('a library an executable links is never dropped here: the link check fails it instead', () => {
  const layer = [
    file('usr/bin/app', 100, elf({ type: 3, interp: LD, needed: ['libfoo.so.1', 'libc.so.6'] })),
    file('usr/lib/libfoo.so.1', 50, elf({ soname: 'libfoo.so.1', needed: ['libbar.so.2'] })),
  ];
  assert.equal(dropUnloadableModules([glibc, layer], { libc: 'glibc' }).dropped, []);
});

test('a declared need is not a module either', () => {
  const layer = [
    file('usr/bin/app', 100, elf({ type: 3, interp: LD, needed: ['libc.so.6'] })),
    file('usr/lib/libplug.so.1', 50, elf({ soname: 'libplug.so.1', needed: ['libgone.so.1'] })),
  ];
  assert.equal(dropUnloadableModules([glibc, layer], { libc: 'glibc', needs: ['libplug.so.1'] }).dropped, []);
});

test('a module needing a library the process loads by path first (libjava.so needs lib/server/libjvm.so) stays', () => {
  const jdk = 'usr/lib/jvm/java-17/lib';
  const layer = [
    file(
      'usr/lib/jvm/java-17/bin/java',
      100,
      elf({ type: 3, interp: LD, needed: ['libjli.so', 'libc.so.6'], runpath: ['$ORIGIN/../lib'] }),
    ),
    file(`${jdk}/libjli.so`, 50, elf({ soname: 'libjli.so', needed: ['libc.so.6'] })),
    file(`${jdk}/server/libjvm.so`, 500, elf({ soname: 'libjvm.so', needed: ['libc.so.6'] })),
    file(`${jdk}/libjava.so`, 50, elf({ soname: 'libjava.so', needed: ['libjvm.so', 'libc.so.6'], runpath: ['$ORIGIN'] })),
  ];
  assert.equal(dropUnloadableModules([glibc, layer], { libc: 'glibc' }).dropped, []);
});

test.run();
