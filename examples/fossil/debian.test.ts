import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Testing } from 'imgsdk/testing';
import * as gentoo from './images';
import * as twin from './debian';

const asm = Testing.synth(twin.fossilTcl, twin.fossilPython);
const VARIANTS = ['fossil/server-python-debian', 'fossil/server-tcl-debian'];

test('the Debian Tcl and Python variants share the fossil/server-debian parent', () => {
  assert.equal(asm.ids, ['fossil/server-debian', ...VARIANTS]);
  for (const id of VARIANTS) asm.image(id).hasParent('fossil/server-debian');
  asm.image('fossil/server-debian').hasPackage('fossil');
  assert.is(asm.manifest.builders[asm.image('fossil/server-debian').def.builder].def.debian?.suite, 'bookworm');
});

test('the server is set up as the Gentoo original: account, directories, PATH and command', () => {
  const deb = asm.image('fossil/server-debian');
  const gen = Testing.synth(gentoo.fossil).image('fossil/server');
  assert.equal(deb.def.accounts, gen.def.accounts);
  assert.equal(
    deb.def.files.map((f) => [f.path, f.type, f.mode, f.uid, f.gid]),
    gen.def.files.map((f) => [f.path, f.type, f.mode, f.uid, f.gid]),
  );
  assert.equal(deb.config, gen.config);
});

test('both variants serve /museum as fossil on 8080 and create the repository there', () => {
  for (const id of VARIANTS) {
    const img = asm.image(id).runsAsNonRoot().hasEntrypoint('/usr/bin/fossil', 'server');
    assert.is(img.config.user, 'fossil', id);
    assert.equal(img.config.volumes, ['/museum'], id);
    assert.equal(img.config.cmd, ['--create', '--jsmode', 'bundled', '--user', 'admin', '/museum/repo.fossil'], id);
  }
});

test('the Tcl variant adds tcl and the SQLite Tcl binding, the Python variant python3', () => {
  asm.image('fossil/server-tcl-debian').hasPackage('tcl').hasPackage('libsqlite3-tcl');
  asm.image('fossil/server-python-debian').hasPackage('python3');
  assert.equal(asm.image('fossil/server-tcl-debian').portage.packageUse, []);
});

test.run();
