import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isElfMagic, parseElf } from '../../../src/runtime/rootfs/elf';
import { buildElf } from './_elf-fixture';

/** What binutils' readelf says about a file, as the reference for our parser. */
function readelf(file: string) {
  const dyn = execFileSync('readelf', ['-dW', file], { encoding: 'utf8' });
  const prog = execFileSync('readelf', ['-lW', file], { encoding: 'utf8' });
  const all = (tag: string) => [...dyn.matchAll(new RegExp(`\\(${tag}\\)\\s+[^\\[]*\\[([^\\]]*)\\]`, 'g'))].map((m) => m[1]);
  return {
    interp: /Requesting program interpreter: ([^\]]+)\]/.exec(prog)?.[1] ?? null,
    needed: all('NEEDED'),
    runpath: all('RUNPATH').flatMap((s) => s.split(':')),
    rpath: all('RPATH').flatMap((s) => s.split(':')),
    soname: all('SONAME')[0] ?? null,
  };
}

function withTmp<T>(name: string, data: Buffer, fn: (file: string) => T): T {
  const file = join(tmpdir(), `imgsdk-elf-${process.pid}-${name}`);
  writeFileSync(file, data);
  try {
    return fn(file);
  } finally {
    rmSync(file, { force: true });
  }
}

for (const file of ['/bin/ls', '/usr/lib/x86_64-linux-gnu/libc.so.6']) {
  test(`parseElf reads ${file} as readelf does`, () => {
    const info = parseElf(readFileSync(file));
    assert.ok(info);
    assert.is(info.class, 64);
    assert.is(info.endian, 'little');
    assert.is(info.machine, 62);
    const ref = readelf(file);
    assert.is(info.interp, ref.interp);
    assert.equal(info.needed, ref.needed);
    assert.equal(info.runpath, ref.runpath);
    assert.equal(info.rpath, ref.rpath);
    assert.is(info.soname, ref.soname);
  });
}

test('parseElf reads the soname of libc', () => {
  assert.is(parseElf(readFileSync('/usr/lib/x86_64-linux-gnu/libc.so.6'))?.soname, 'libc.so.6');
});

for (const cls of [32, 64] as const) {
  for (const endian of ['little', 'big'] as const) {
    test(`parseElf reads a ${cls}-bit ${endian}-endian file as readelf does`, () => {
      const buf = buildElf({
        class: cls,
        endian,
        machine: endian === 'big' ? 22 : 62,
        interp: '/lib/ld-test.so.1',
        needed: ['libz.so.1', 'libc.so.6'],
        runpath: '$ORIGIN/../lib:/opt/lib',
        soname: 'libfoo.so.1',
      });
      const info = parseElf(buf)!;
      assert.equal(info, {
        class: cls,
        endian,
        type: 3,
        machine: endian === 'big' ? 22 : 62,
        interp: '/lib/ld-test.so.1',
        needed: ['libz.so.1', 'libc.so.6'],
        rpath: [],
        runpath: ['$ORIGIN/../lib', '/opt/lib'],
        soname: 'libfoo.so.1',
      });
      const ref = withTmp(`${cls}${endian}`, buf, readelf);
      assert.equal(
        { interp: info.interp, needed: info.needed, runpath: info.runpath, soname: info.soname },
        { interp: ref.interp, needed: ref.needed, runpath: ref.runpath, soname: ref.soname },
      );
    });
  }
}

test('parseElf reads DT_RPATH separately from DT_RUNPATH', () => {
  const info = parseElf(buildElf({ class: 64, endian: 'little', needed: ['liba.so'], rpath: '/a:/b' }))!;
  assert.equal(info.rpath, ['/a', '/b']);
  assert.equal(info.runpath, []);
});

test('parseElf falls back to the section headers when there are no program headers', () => {
  const info = parseElf(buildElf({ class: 32, endian: 'big', sectionsOnly: true, needed: ['liba.so.2'], soname: 'libb.so.1' }))!;
  assert.equal(info.needed, ['liba.so.2']);
  assert.is(info.soname, 'libb.so.1');
  assert.is(info.interp, null);
});

test('parseElf returns null for files that are not ELF', () => {
  assert.is(parseElf(Buffer.from('#!/bin/sh\necho hi\n')), null);
  assert.is(parseElf(Buffer.alloc(0)), null);
  assert.is(parseElf(Buffer.from('\x7fELF', 'latin1')), null);
  const badClass = buildElf({ class: 64, endian: 'little' });
  badClass[4] = 9;
  assert.is(parseElf(badClass), null);
});

test('parseElf never throws on any truncation of a valid file', () => {
  const buf = buildElf({ class: 64, endian: 'big', interp: '/lib/ld.so', needed: ['libx.so'], runpath: '/r', soname: 's' });
  for (let n = 0; n <= buf.length; n++) {
    const info = parseElf(buf.subarray(0, n));
    if (n < 20) assert.is(info, null);
    else assert.is(info?.class, 64);
  }
  assert.equal(parseElf(buf)?.needed, ['libx.so']);
});

test('parseElf never throws on garbage after a valid identification', () => {
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  for (let i = 0; i < 300; i++) {
    const buf = Buffer.alloc(64 + (i % 7) * 97);
    for (let j = 0; j < buf.length; j++) buf[j] = rand();
    buf.write('\x7fELF', 0, 'latin1');
    buf[4] = 1 + (i % 2);
    buf[5] = 1 + ((i >> 1) % 2);
    const info = parseElf(buf);
    assert.ok(info);
  }
  // Garbage inside a real layout: corrupt the dynamic entries and string offsets.
  const real = buildElf({ class: 32, endian: 'little', needed: ['a', 'b'], soname: 'c' });
  for (let at = 52; at < real.length; at += 3) {
    const copy = Buffer.from(real);
    copy.writeUInt32LE(0xfffffff0, Math.min(at, copy.length - 4));
    parseElf(copy);
  }
});

test('isElfMagic checks the first four bytes only', () => {
  assert.ok(isElfMagic(Buffer.from('\x7fELFxyz', 'latin1')));
  assert.not.ok(isElfMagic(Buffer.from('\x7fEL', 'latin1')));
  assert.not.ok(isElfMagic(Buffer.from('MZ\x90\x00', 'latin1')));
});

test.run();
