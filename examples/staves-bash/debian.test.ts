import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Testing } from 'imgsdk/testing';
import * as gentoo from './images';
import * as twin from './debian';

const asm = Testing.synth(twin.bash);
const bash = asm.image('staves/bash-debian');

test('the Debian twin installs bash from the bookworm builder', () => {
  assert.equal(asm.ids, ['staves/bash-debian']);
  bash.hasPackage('bash').hasParent(null);
  assert.is(asm.manifest.builders[bash.def.builder].def.debian?.suite, 'bookworm');
  assert.match(bash.file('apt/packages.list') ?? '', /^bash$/m);
});

test('it keeps the C.UTF-8 locale and has no Portage settings', () => {
  assert.equal(bash.def.portage.locales, ['C.UTF-8']);
  assert.equal(bash.portage.packageUse, []);
  assert.is(bash.portage.makeConf, '');
});

test('the entrypoint is bash -c, run by nobody, as in the Gentoo original', () => {
  bash.hasEntrypoint('/bin/bash', '-c').runsAsNonRoot();
  const gen = Testing.synth(gentoo.glibcBash).image('staves/bash');
  assert.equal(bash.config.entrypoint, gen.config.entrypoint);
  assert.is(bash.config.user, gen.config.user);
});

test.run();
