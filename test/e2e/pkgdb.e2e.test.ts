/**
 * What scanners see: the package database in the built layers. Every package
 * PACKAGES.md lists (installed and inherited) is in the merged status.d, as
 * dpkg-query reads it; and the SBOM validates against the SPDX 2.3 schema.
 * (The nginx image is checked the same way in reproducible.e2e.test.ts.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, deploy } from '../../src';
import { hello, tempDir } from './_app';
import { engineOrSkip } from '../_kit/engine';
import { checkScannable } from './_trust';

test('dpkg-query over the merged status.d of every layer lists every package of PACKAGES.md; the SBOM validates', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const state = tempDir('imgsdk-e2e-pkgdb-state-');
  const out = tempDir('imgsdk-e2e-pkgdb-out-');
  try {
    const r = await deploy(app(hello), { stateDir: state.dir, assemblyDir: out.dir, load: false });
    assert.ok(r.ok, JSON.stringify(r.images.map((i) => [i.id, i.status, i.reason])));
    const listed = await checkScannable(
      state.dir,
      r.images.find((i) => i.id === hello.id)!,
    );
    assert.ok(listed.includes('hello') && listed.includes('libc6'), listed.join(' '));
    const parent = await checkScannable(
      state.dir,
      r.images.find((i) => i.id !== hello.id)!,
    );
    assert.ok(parent.includes('libc6') && !parent.includes('hello'));
  } finally {
    state.remove();
    out.remove();
  }
});

test.run();
