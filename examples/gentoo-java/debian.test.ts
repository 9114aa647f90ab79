import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { Testing } from 'imgsdk/testing';
import * as twin from './debian';

const asm = Testing.synth(twin.webapp);

test('the Debian chain is base -> glibc -> zlib, gcc -> java -> webapp', () => {
  assert.equal(asm.ids, [
    'matrix/debian-base',
    'matrix/debian-gcc',
    'matrix/debian-glibc',
    'matrix/debian-java',
    'matrix/debian-zlib',
    'matrix/webapp-debian',
  ]);
  asm.image('matrix/debian-glibc').hasParent('matrix/debian-base').hasPackage('libc6');
  asm.image('matrix/debian-zlib').hasParent('matrix/debian-glibc').hasPackage('zlib1g');
  asm.image('matrix/debian-gcc').hasParent('matrix/debian-glibc').hasPackage('libgcc-s1').hasPackage('libstdc++6');
  asm.image('matrix/debian-java').hasParent('matrix/debian-glibc').hasPackage('openjdk-17-jre-headless');
  asm.image('matrix/webapp-debian').hasParent('matrix/debian-java');
  assert.equal(
    Object.values(asm.manifest.builders).map((b) => b.def.id),
    ['examples/bookworm'],
  );
});

test('the base holds only /etc, /dev and /tmp', () => {
  const base = asm.image('matrix/debian-base');
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

test('java copies the zlib and gcc runtime libraries from their images', () => {
  const java = asm.image('matrix/debian-java');
  assert.equal(java.def.copies, [
    { from: 'matrix/debian-zlib', paths: ['/usr/lib/x86_64-linux-gnu/libz.so*'] },
    { from: 'matrix/debian-gcc', paths: ['/usr/lib/x86_64-linux-gnu/lib{gcc_s,stdc++}.so*'] },
  ]);
  assert.equal(asm.manifest.images['matrix/debian-java'].dependsOn, ['matrix/debian-gcc', 'matrix/debian-glibc', 'matrix/debian-zlib']);
  assert.equal(java.config.env, { JAVA_HOME: '/usr/lib/jvm/java-17-openjdk-amd64' });
});

test("the webapp runs the real jar with the JDK's java on 8080/tcp as nobody", () => {
  const webapp = asm
    .image('matrix/webapp-debian')
    .hasFile('/mywebapp.jar')
    .hasEntrypoint('/usr/lib/jvm/java-17-openjdk-amd64/bin/java', '-jar', '/mywebapp.jar')
    .runsAsNonRoot();
  assert.equal(webapp.config.expose, ['8080/tcp']);
  const jar = webapp.def.files.find((f) => f.path === '/mywebapp.jar')!;
  assert.is(
    jar.sha256,
    createHash('sha256')
      .update(readFileSync(join(__dirname, 'hello.jar')))
      .digest('hex'),
    'the real jar, not the placeholder',
  );
});

/** The entries of a zip file by name, read through its central directory. */
function unzip(zip: Buffer): Map<string, Buffer> {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const out = new Map<string, Buffer>();
  for (let i = 0, p = zip.readUInt32LE(eocd + 16); i < zip.readUInt16LE(eocd + 10); i++) {
    const method = zip.readUInt16LE(p + 10);
    const size = zip.readUInt32LE(p + 20);
    const [n, m, k] = [zip.readUInt16LE(p + 28), zip.readUInt16LE(p + 30), zip.readUInt16LE(p + 32)];
    const local = zip.readUInt32LE(p + 42);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + size);
    out.set(zip.toString('utf8', p + 46, p + 46 + n), method === 8 ? inflateRawSync(data) : data);
    p += 46 + n + m + k;
  }
  return out;
}

test('hello.jar is a jar of Hello.java with Hello as its main class', () => {
  const jar = unzip(readFileSync(join(__dirname, 'hello.jar')));
  assert.match(jar.get('META-INF/MANIFEST.MF')!.toString(), /^Main-Class: Hello\r?$/m);
  // class file magic, and major version 61: compiled for Java 17 (javac --release 17)
  const cls = jar.get('Hello.class')!;
  assert.is(cls.readUInt32BE(0), 0xcafebabe);
  assert.is(cls.readUInt16BE(6), 61);
  assert.match(readFileSync(join(__dirname, 'hello', 'Hello.java'), 'utf8'), /com\.sun\.net\.httpserver\.HttpServer/);
});

test.run();
