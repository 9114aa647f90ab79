import { closeSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, statSync, ftruncateSync } from 'node:fs';
import { hashFile } from '../../../src/util/hash';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ImageDef } from '../../../src/contract/assembly';
import { debian, image } from '../../../src';
import { BlobStore } from '../../../src/runtime/store/blobs';
import type { Entry } from '../../../src/runtime/store/entry';
import { renderSpdx } from '../../../src/runtime/reports/sbom';
import { assemble } from '../../../src/sdk/synth';
import { validateSpdx } from './_spdx-schema';

const def: ImageDef = assemble(
  image('acme/web')
    .builder(debian.builder('acme/deb', { suite: 'bookworm' }))
    .user('nobody'),
  { epoch: 0 },
).images.get('acme/web')!;

test('the SBOM validates against the official SPDX 2.3 JSON schema', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-sbom-'));
  try {
    const blobs = new BlobStore(join(dir, 'blobs'));
    const file = async (path: string, body: string, origin?: string): Promise<Entry> => ({
      path,
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: body.length,
      linkname: null,
      sha256: await blobs.put(Buffer.from(body)),
      elf: null,
      ...(origin ? { origin } : {}),
    });
    const layers = [
      [await file('usr/lib/x86_64-linux-gnu/libc.so.6', 'libc', 'libc6'), await file('etc/passwd', 'root:x:0:0::/:/sbin/nologin\n')],
      [await file('usr/sbin/nginx', 'nginx', 'nginx-light'), await file('var/lib/dpkg/status.d/nginx-light', 'Package: nginx-light\n')],
    ];
    const sbom = await renderSpdx({
      def,
      key: 'a'.repeat(64),
      epoch: 1_700_000_000,
      blobs,
      layers,
      packages: [{ name: 'nginx-light', version: '1.22.1-9+deb12u1', arch: 'amd64', source: 'nginx', origin: 'debian' }],
      inherited: [
        { id: 'acme/base', packages: [{ name: 'libc6', version: '2.36-9+deb12u10', arch: 'amd64', source: 'glibc', origin: 'debian' }] },
        { id: 'acme/g', packages: [{ name: 'sys-libs/zlib', version: '1.3-r4', origin: 'gentoo', use: ['minizip', '-static-libs'] }] },
      ],
    });
    const doc = JSON.parse(sbom.json);
    assert.equal(validateSpdx(doc), []);
    assert.is(doc.spdxVersion, 'SPDX-2.3');
    // The schema is not a no-op: a document without its version fails.
    assert.ok(validateSpdx({ ...doc, spdxVersion: undefined, packages: [{ name: 1 }] }).length > 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file over 2 GiB gets its SHA1 in the SBOM, streamed (a sparse file: nothing of it is written to disk)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-sbom-big-'));
  try {
    const blobs = new BlobStore(join(dir, 'blobs'));
    mkdirSync(blobs.dir);
    // One byte past what a Buffer (and readFile) can hold.
    const size = 2 ** 31;
    const sparse = join(dir, 'big');
    const fd = openSync(sparse, 'w');
    ftruncateSync(fd, size);
    closeSync(fd);
    const sha256 = await hashFile(sparse);
    renameSync(sparse, blobs.path(sha256));
    const big: Entry = {
      path: 'usr/share/big.img',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size,
      linkname: null,
      sha256,
      elf: null,
      origin: 'bigdata',
    };
    const sbom = await renderSpdx({
      def,
      key: 'a'.repeat(64),
      epoch: 0,
      blobs,
      layers: [[big]],
      packages: [{ name: 'bigdata', version: '1', arch: 'all', source: 'bigdata', origin: 'debian' }],
      inherited: [],
    });
    const file = JSON.parse(sbom.json).files.find((f: { fileName: string }) => f.fileName === './usr/share/big.img');
    assert.ok(file, 'the big file is in the SBOM');
    assert.equal(
      file.checksums.map((c: { algorithm: string }) => c.algorithm),
      ['SHA1', 'SHA256'],
    );
    assert.match(file.checksums[0].checksumValue, /^[0-9a-f]{40}$/);
    assert.is(file.checksums[1].checksumValue, sha256);
    assert.is(statSync(blobs.path(sha256)).size, size, 'the blob is still there: it matched its name');
    // Reading it whole is refused with a clear message, not Node's RangeError.
    await blobs.read(sha256).then(
      () => assert.unreachable(),
      (e: Error) => assert.match(e.message, /too large to read whole/),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
