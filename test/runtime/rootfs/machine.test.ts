import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BuildError } from '../../../src/contract/errors';
import { parseElf } from '../../../src/runtime/rootfs/elf';
import type { Entry } from '../../../src/runtime/store/entry';
import { linkCheck } from '../../../src/runtime/rootfs/linkcheck';
import { checkMachine, wrongMachine } from '../../../src/runtime/rootfs/machine';
import { platformInfo } from '../../../src/contract/platform';
import { buildElf } from './_elf-fixture';
import { elf, file, symlink } from './_tar-fixture';

const ARM = platformInfo('linux/arm64');
const AARCH64 = 183;
const arm = (o: Parameters<typeof elf>[0] = {}) => elf({ machine: AARCH64, ...o });
/** Debian's arm64 glibc: the loader in usr/lib/aarch64-linux-gnu, linked from /lib/ld-linux-aarch64.so.1 (usrmerge). */
const glibc: Entry[] = [
  symlink('lib', 'usr/lib'),
  symlink('usr/lib/ld-linux-aarch64.so.1', 'aarch64-linux-gnu/ld-linux-aarch64.so.1'),
  file('usr/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1', 200, arm({ soname: 'ld-linux-aarch64.so.1' })),
  file(
    'usr/lib/aarch64-linux-gnu/libc.so.6',
    2000,
    arm({ soname: 'libc.so.6', interp: ARM.glibcLoader, needed: ['ld-linux-aarch64.so.1'] }),
  ),
];
const jq = (o: Parameters<typeof elf>[0] = {}) =>
  file('usr/bin/jq', 100, arm({ type: 3, interp: ARM.glibcLoader, needed: ['libjq.so.1', 'libc.so.6'], ...o }));
const libjq = file('usr/lib/aarch64-linux-gnu/libjq.so.1', 50, arm({ soname: 'libjq.so.1', needed: ['libc.so.6'] }));

test('the ELF reader reads an aarch64 program: machine 183 and the loader ld-linux-aarch64.so.1', () => {
  const info = parseElf(
    buildElf({ class: 64, endian: 'little', machine: AARCH64, type: 3, interp: ARM.glibcLoader, needed: ['libc.so.6'] }),
  )!;
  assert.is(info.machine, ARM.elfMachine);
  assert.is(info.interp, '/lib/ld-linux-aarch64.so.1');
  assert.equal(info.needed, ['libc.so.6']);
});

test("the link check finds an arm64 program's loader through /lib and its libraries in the aarch64-linux-gnu default directories", () => {
  assert.equal(linkCheck([glibc, [jq(), libjq]], { libc: 'glibc' }), []);
  // In an x86-64 directory the same library is not found: the default directories are the machine's.
  const misplaced = file('usr/lib/x86_64-linux-gnu/libjq.so.1', 50, arm({ soname: 'libjq.so.1', needed: ['libc.so.6'] }));
  const [p] = linkCheck([glibc, [jq(), misplaced]], { libc: 'glibc' });
  assert.is(p.soname, 'libjq.so.1');
  assert.match(p.message, /usr\/lib\/aarch64-linux-gnu\/libjq\.so\.1/);
});

test('the link check skips an x86-64 library where an arm64 program looks, and says so', () => {
  const amd = file('usr/lib/aarch64-linux-gnu/libjq.so.1', 50, elf({ soname: 'libjq.so.1' }));
  const [p] = linkCheck([glibc, [jq(), amd]], { libc: 'glibc' });
  assert.match(p.message, /found only for another class or machine at .*\/usr\/lib\/aarch64-linux-gnu\/libjq\.so\.1/);
});

test('an x86-64 program in an arm64 image is rejected, naming the file, both machines and the image', () => {
  const layer = [jq({ machine: 62 }), libjq, file('usr/share/doc/jq/README', 10)];
  assert.equal(wrongMachine(layer, 'linux/arm64'), [{ path: 'usr/bin/jq', machine: 62 }]);
  assert.equal(
    wrongMachine(layer, 'linux/amd64').map((w) => w.path),
    ['usr/lib/aarch64-linux-gnu/libjq.so.1'],
  );
  try {
    checkMachine('acme/jq', layer, 'linux/arm64');
    assert.unreachable('no error');
  } catch (e) {
    assert.instance(e, BuildError);
    assert.match((e as Error).message, 'acme/jq');
    assert.match(
      (e as Error).message,
      /built for linux\/arm64, whose programs are aarch64 \(e_machine 183\) ELF files, but 1 file is not:\n {2}\/usr\/bin\/jq is x86-64 \(e_machine 62\)/,
    );
  }
});

test('the machine check passes a layer of the platform and leaves object files and eBPF programs alone', () => {
  assert.equal(wrongMachine([jq(), libjq, ...glibc], 'linux/arm64'), []);
  const bpf = file('usr/lib/bpf/prog.o', 10, elf({ machine: 247, type: 1 }));
  const relocatable = file('usr/lib/x86.o', 10, elf({ type: 1 }));
  assert.equal(wrongMachine([bpf, relocatable], 'linux/arm64'), []);
  checkMachine('acme/jq', [jq(), libjq], 'linux/arm64');
});

test.run();
