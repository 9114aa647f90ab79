import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Testing } from 'imgsdk/testing';
import * as gentoo from './images';
import * as twin from './debian';

const asm = Testing.synth(twin.nmap);

test('the Debian twin holds kubler/glibc-debian and mynamespace/nmap-debian from the bookworm builder', () => {
  assert.equal(asm.ids, ['kubler/glibc-debian', 'mynamespace/nmap-debian']);
  const builder = asm.manifest.builders['examples/bookworm'];
  assert.is(builder.kind, 'debian');
  assert.is(builder.def.debian?.suite, 'bookworm');
  asm.image('mynamespace/nmap-debian').hasParent('kubler/glibc-debian').hasPackage('nmap');
  asm.image('kubler/glibc-debian').hasPackage('libc6').hasFile('/etc/timezone');
});

test("glibc purges iconv modules as kubler-images does, in Debian's multiarch directory", () => {
  assert.equal(asm.image('kubler/glibc-debian').def.purge, ['/usr/lib/x86_64-linux-gnu/gconv/*']);
  assert.is(asm.image('mynamespace/nmap-debian').config.env.LANG, 'C.UTF-8');
});

test('nmap runs like the Gentoo original: same entrypoint, volume and nmap user', () => {
  const deb = asm.image('mynamespace/nmap-debian').runsAsNonRoot();
  const gen = Testing.synth(gentoo.nmap).image('mynamespace/nmap');
  assert.equal(deb.config.entrypoint, gen.config.entrypoint);
  assert.equal(deb.config.volumes, gen.config.volumes);
  assert.is(deb.config.user, gen.config.user);
  assert.equal(deb.def.accounts, gen.def.accounts);
});

test('the twin and the Gentoo original can live in one app', () => {
  assert.equal(Testing.problems(gentoo.nmap, twin.nmap), []);
});

test.run();
