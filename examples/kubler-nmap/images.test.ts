import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Testing } from 'imgsdk/testing';
import * as images from './images';

const asm = Testing.synth(images.nmap);

test('the app holds kubler/glibc and mynamespace/nmap', () => {
  assert.equal(asm.ids, ['kubler/glibc', 'mynamespace/nmap']);
});

test('both images build in kubler/bob from the hardened nomultilib stage3', () => {
  const bob = asm.manifest.builders['kubler/bob'];
  assert.is(bob.def.gentoo?.stage3, 'amd64-hardened-nomultilib');
  assert.equal(bob.def.gentoo?.makeConf, { CFLAGS: '-mtune=generic -O2 -pipe', CXXFLAGS: '-mtune=generic -O2 -pipe' });
  assert.is(asm.image('mynamespace/nmap').def.builder, 'kubler/bob');
});

test('glibc installs glibc, fakes portage and keeps its locales as kubler-images does', () => {
  const glibc = asm.image('kubler/glibc').hasPackage('sys-libs/glibc').hasFile('/etc/timezone');
  assert.equal(glibc.def.portage.locales, ['C.UTF-8', 'en_US.UTF-8']);
  assert.is(glibc.portage.file('imgsdk/provide.unresolved'), 'sys-apps/portage\n');
  assert.equal(glibc.config.env, { LANG: 'en_US.utf8' });
  assert.equal(glibc.def.purge, ['/usr/lib64/gconv/*']);
});

test('nmap extends glibc and runs /usr/bin/nmap with a /data volume', () => {
  const nmap = asm.image('mynamespace/nmap').hasParent('kubler/glibc').hasPackage('net-analyzer/nmap').hasEntrypoint('/usr/bin/nmap');
  assert.equal(nmap.config.volumes, ['/data']);
  // copy_gcc_libs: nmap needs libstdc++
  assert.equal(nmap.def.portage.runtimeLibs, ['gcc']);
  // the LANG of the parent is inherited
  assert.is(nmap.config.env.LANG, 'en_US.utf8');
});

test('nmap runs as the nmap user, uid 1000', () => {
  const nmap = asm.image('mynamespace/nmap').runsAsNonRoot();
  assert.is(nmap.config.user, 'nmap');
  assert.equal(
    nmap.def.accounts.map((a) => [a.user, a.uid]),
    [['nmap', 1000]],
  );
});

test.run();
