/**
 * The built-in policies on real builds: noShell() finds shells by what they are, in
 * a package no name list knows (csh) and in a file a hook copied under another name.
 */
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, deploy, image, noShell, nonRoot } from '../../src';
import { bookworm, removeImages, tempDir } from './_app';
import { engineOrSkip } from '../_kit/engine';

const NS = `imgsdk-policies-${randomBytes(4).toString('hex')}`;

test('noShell fails a csh pulled in by package and a dash a hook copied to /usr/local/bin/sh, naming each image, path and why', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const state = tempDir('imgsdk-e2e-policies-state-');
  const out = tempDir('imgsdk-e2e-policies-out-');
  const csh = image(`${NS}/csh`).builder(bookworm).packages('csh').user('nobody').entrypoint('/usr/bin/true');
  const hooked = image(`${NS}/hooked`)
    .builder(bookworm)
    .packages('libc6')
    .finishRootfs('mkdir -p "$ROOT/usr/local/bin" && cp /bin/dash "$ROOT/usr/local/bin/sh"')
    .user('nobody')
    .entrypoint('/usr/lib/x86_64-linux-gnu/libc.so.6');
  try {
    const r = await deploy(app(csh, hooked).policy(nonRoot(), noShell()), { stateDir: state.dir, assemblyDir: out.dir });
    assert.not.ok(r.ok);
    const reason = (id: string) => r.images.find((i) => i.id === id)!.reason;
    assert.match(reason(`${NS}/csh`), /policy noShell: \/(usr\/)?bin\/bsd-csh is a shell/);
    assert.match(reason(`${NS}/hooked`), /policy noShell: \/usr\/local\/bin\/sh is a shell: an ELF file that is a POSIX shell/);
    for (const i of r.images) assert.is(i.status, 'failed');
    // Nothing was loaded for them.
    assert.equal((await docker.listImages({ filters: { reference: [`${NS}/*`] } })).length, 0);
  } finally {
    await removeImages(docker, [`${NS}/csh`, `${NS}/hooked`]);
    state.remove();
    out.remove();
  }
});

test.run();
