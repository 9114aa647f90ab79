import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ImageDef } from '../../../src/contract/assembly';
import { testArgv } from '../../../src/runtime/image/imagetest';
import { layersInEngine } from '../../../src/runtime/image/load';
import type { Engine } from '../../../src/runtime/engine/engine';
import { checkRegistry, registryAuth } from '../../../src/runtime/image/push';
import { BlobStore } from '../../../src/runtime/store/blobs';
import type { Entry } from '../../../src/runtime/store/entry';
import { purlOf, renderSpdx } from '../../../src/runtime/reports/sbom';

let dir: string;
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'imgsdk-ship-'));
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

test('a test command runs as a JSON argv, split on blanks, or under /bin/sh -c when it uses shell syntax', () => {
  assert.equal(testArgv('["/usr/sbin/nginx","-t"]'), ['/usr/sbin/nginx', '-t']);
  assert.equal(testArgv('/usr/sbin/nginx  -t'), ['/usr/sbin/nginx', '-t']);
  assert.equal(testArgv('nginx -t && echo ok'), ['/bin/sh', '-c', 'nginx -t && echo ok']);
  assert.equal(testArgv('[ -f /etc/passwd ]'), ['/bin/sh', '-c', '[ -f /etc/passwd ]']);
});

test('registry credentials come from the environment first, then the Docker config auths', () => {
  assert.equal(registryAuth('reg.example:5000/team', { IMGSDK_REGISTRY_USER: 'u', IMGSDK_REGISTRY_PASSWORD: 'p', DOCKER_CONFIG: dir }), {
    serveraddress: 'reg.example:5000',
    username: 'u',
    password: 'p',
  });
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      auths: {
        'https://reg.example:5000/v2/': { auth: Buffer.from('me:s3:cret').toString('base64') },
        'tok.example': { identitytoken: 't' },
      },
    }),
  );
  assert.equal(registryAuth('reg.example:5000', { DOCKER_CONFIG: dir }), {
    serveraddress: 'reg.example:5000',
    username: 'me',
    password: 's3:cret',
  });
  assert.equal(registryAuth('tok.example', { DOCKER_CONFIG: dir }), { serveraddress: 'tok.example', identitytoken: 't' });
  assert.is(registryAuth('127.0.0.1:5000', { DOCKER_CONFIG: dir }), null);
});

test('a registry is host[:port][/path]; anything else is a usage error', () => {
  assert.is(checkRegistry('127.0.0.1:5000'), '127.0.0.1:5000');
  assert.is(checkRegistry('https://ghcr.io/acme/'), 'ghcr.io/acme');
  assert.throws(() => checkRegistry('not a registry'), /is not a registry/);
});

const def = { id: 'acme/web', keep: [], config: {} } as unknown as ImageDef;

test('the SBOM is SPDX 2.3, lists own and inherited packages once, and is byte-identical for the same input', async () => {
  const blobs = new BlobStore(join(dir, 'blobs'));
  const sha = await blobs.put(Buffer.from('#!ELF\n'));
  const file = (path: string, origin?: string): Entry => ({
    path,
    type: 'file',
    mode: 0o755,
    uid: 0,
    gid: 0,
    size: 6,
    linkname: null,
    sha256: sha,
    elf: null,
    origin,
  });
  const input = {
    def,
    key: 'a'.repeat(64),
    blobs,
    epoch: 1700000000,
    packages: [
      { name: 'nginx-light', version: '1.22.1-9', arch: 'amd64', origin: 'debian' },
      { name: 'libc6', version: '2.36-9', origin: 'debian' },
    ],
    inherited: [
      {
        id: 'acme/base',
        packages: [
          { name: 'libc6', version: '2.36-8', origin: 'debian' },
          { name: 'base-files', version: '12.4', origin: 'debian' },
        ],
      },
    ],
    layers: [[file('etc/os-release', 'base-files')], [file('usr/sbin/nginx', 'nginx-light'), file('etc/os-release')]],
  };
  const a = await renderSpdx(input);
  const b = await renderSpdx(input);
  assert.is(a.json, b.json);
  const doc = JSON.parse(a.json);
  assert.is(doc.spdxVersion, 'SPDX-2.3');
  assert.is(doc.creationInfo.created, '2023-11-14T22:13:20Z');
  assert.equal(
    doc.packages.map((p: { name: string }) => p.name),
    ['acme/web', 'base-files', 'libc6', 'nginx-light'],
  );
  assert.is(doc.packages.find((p: { name: string }) => p.name === 'libc6').versionInfo, '2.36-9', "the image's own install wins");
  assert.equal(
    doc.files.map((f: { fileName: string }) => f.fileName),
    ['./etc/os-release', './usr/sbin/nginx'],
    'a later layer overrides a path',
  );
  assert.is(a.packages, 3);
});

test('package URLs: deb with arch, ebuild with category', () => {
  assert.is(
    purlOf({ name: 'nginx-light', version: '1.22.1-9+deb12u1', arch: 'amd64', origin: 'debian' }),
    'pkg:deb/debian/nginx-light@1.22.1-9%2Bdeb12u1?arch=amd64',
  );
  assert.is(purlOf({ name: 'net-analyzer/nmap', version: '7.94', origin: 'gentoo' }), 'pkg:ebuild/net-analyzer/nmap@7.94');
});

test('the layers Docker has under the same parents are counted from the bottom; Podman gets every layer', async () => {
  const engine = (kind: 'docker' | 'podman', layers: string[] | null) =>
    ({
      kind: async () => kind,
      inspectImage: async () => (layers ? { id: 'sha256:x', repoTags: [], labels: {}, size: 0, layers } : null),
    }) as unknown as Engine;
  assert.is(await layersInEngine(engine('docker', ['a', 'b', 'c']), 'x:latest', ['a', 'b', 'd']), 2);
  assert.is(await layersInEngine(engine('docker', ['a', 'b']), 'x:latest', ['a', 'b', 'c']), 2);
  assert.is(await layersInEngine(engine('docker', ['z', 'b']), 'x:latest', ['a', 'b']), 0, 'a chain, not a set');
  assert.is(await layersInEngine(engine('docker', null), 'x:latest', ['a']), 0);
  assert.is(await layersInEngine(engine('podman', ['a', 'b']), 'x:latest', ['a', 'b']), 0);
});

test.run();
