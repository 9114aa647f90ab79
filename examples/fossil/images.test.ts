import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Testing } from 'imgsdk/testing';
import * as images from './images';

const asm = Testing.synth(images.fossilTcl, images.fossilPython);
const VARIANTS = ['fossil/server-python', 'fossil/server-tcl'];

test('the Tcl and Python variants share the fossil/server parent', () => {
  assert.equal(asm.ids, ['fossil/server', ...VARIANTS]);
  for (const id of VARIANTS) asm.image(id).hasParent('fossil/server');
  asm.image('fossil/server').hasPackage('dev-vcs/fossil');
});

test("the fossil user has uid 499 and home /museum, as the notes' passwd line", () => {
  assert.equal(asm.image('fossil/server').def.accounts, [
    { user: 'fossil', uid: 499, group: 'fossil', gid: 499, home: '/museum', shell: '/false' },
  ]);
});

test('/log and /museum belong to fossil with mode 700', () => {
  const dirs = asm.image('fossil/server').def.files.map((f) => [f.path, f.type, f.mode.toString(8), f.uid, f.gid]);
  assert.equal(dirs, [
    ['/log', 'dir', '700', 499, 499],
    ['/museum', 'dir', '700', 499, 499],
  ]);
});

test("both variants serve /museum as fossil on 8080 with the notes' PATH", () => {
  for (const id of VARIANTS) {
    const img = asm.image(id).runsAsNonRoot().hasEntrypoint('/usr/bin/fossil', 'server');
    assert.is(img.config.user, 'fossil', id);
    assert.is(img.config.workdir, '/museum', id);
    assert.equal(img.config.volumes, ['/museum'], id);
    assert.equal(img.config.expose, ['8080/tcp'], id);
    assert.is(img.config.env.PATH, '/sbin:/usr/sbin:/bin:/usr/bin', id);
  }
});

test('the Tcl variant adds tcl and sqlite with its Tcl extension', () => {
  const tcl = asm.image('fossil/server-tcl').hasPackage('dev-lang/tcl').hasPackage('dev-db/sqlite');
  assert.equal(tcl.portage.packageUse, ['dev-db/sqlite tcl']);
});

test('the Python variant adds python and a static busybox with its applet links', () => {
  const py = asm.image('fossil/server-python').hasPackage('dev-lang/python').hasPackage('sys-apps/busybox');
  assert.equal(py.portage.packageUse, ['sys-apps/busybox static make-symlinks']);
});

test.run();
