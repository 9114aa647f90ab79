import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Testing } from 'imgsdk/testing';
import * as images from './images';

const asm = Testing.synth(images.webapp);

test('the chain is base -> glibc -> zlib, gcc -> java -> webapp', () => {
  assert.equal(asm.ids, [
    'matrix/gentoo-base',
    'matrix/gentoo-gcc',
    'matrix/gentoo-glibc',
    'matrix/gentoo-java',
    'matrix/gentoo-zlib',
    'matrix/webapp',
  ]);
  asm.image('matrix/gentoo-glibc').hasParent('matrix/gentoo-base').hasPackage('sys-libs/glibc');
  asm.image('matrix/gentoo-zlib').hasParent('matrix/gentoo-glibc').hasPackage('sys-libs/zlib');
  asm.image('matrix/gentoo-gcc').hasParent('matrix/gentoo-glibc').hasPackage('sys-devel/gcc');
  asm.image('matrix/gentoo-java').hasParent('matrix/gentoo-glibc');
  asm.image('matrix/webapp').hasParent('matrix/gentoo-java');
});

test('the base holds only /etc, /dev and /tmp', () => {
  const base = asm.image('matrix/gentoo-base');
  assert.equal(base.packages, []);
  assert.equal(
    base.def.files.map((f) => [f.path, f.type, f.mode.toString(8)]),
    [
      ['/dev', 'dir', '755'],
      ['/etc', 'dir', '755'],
      ['/tmp', 'dir', '1777'],
    ],
  );
});

test('java copies the zlib and gcc libraries instead of inheriting those images', () => {
  const java = asm.image('matrix/gentoo-java');
  assert.equal(java.def.copies, [
    { from: 'matrix/gentoo-zlib', paths: ['/{lib64,usr/lib64}/libz.so*'] },
    { from: 'matrix/gentoo-gcc', paths: ['/{lib64,usr/lib64}/lib{gcc_s,stdc++}.so*'] },
  ]);
  assert.equal(asm.manifest.images['matrix/gentoo-java'].dependsOn, ['matrix/gentoo-gcc', 'matrix/gentoo-glibc', 'matrix/gentoo-zlib']);
  assert.equal(asm.image('matrix/gentoo-gcc').def.portage.runtimeLibs, ['gcc']);
});

test('java sets JAVA_HOME to icedtea-bin 3.16.0', () => {
  const java = asm.image('matrix/gentoo-java').hasPackage('=dev-java/icedtea-bin-3.16.0');
  assert.equal(java.config.env, { JAVA_HOME: '/opt/icedtea-bin-3.16.0' });
});

test('the webapp runs its jar on 8080/tcp as a non-root user', () => {
  const webapp = asm
    .image('matrix/webapp')
    .hasFile('/mywebapp.jar')
    .hasEntrypoint('/opt/icedtea-bin-3.16.0/bin/java', '-jar', '/mywebapp.jar')
    .runsAsNonRoot();
  assert.equal(webapp.config.expose, ['8080/tcp']);
  assert.is(webapp.config.env.JAVA_HOME, '/opt/icedtea-bin-3.16.0');
});

test.run();
