import { rejects } from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { extract } from 'tar-stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeDockerArchive, writeOciLayout } from '../../../src/runtime/image/archive';
import { sha256Digest } from '../../../src/util/hash';
import { writeLayerFile } from '../../../src/runtime/image/layer';
import type { Blob } from '../../../src/runtime/image/oci';
import { BlobStore } from '../../../src/runtime/store/blobs';
import type { Entry } from '../../../src/runtime/store/entry';

let tmp: string;
let layerTar: string;
let layerGz: string;
let diffId: string;
let gz: { digest: string; size: number };
const config: Blob = (() => {
  const json = '{"architecture":"amd64","os":"linux"}';
  return { json, digest: sha256Digest(json) };
})();

test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'imgsdk-archive-'));
  const blobs = new BlobStore(join(tmp, 'blobs'));
  const body = Buffer.from('hi\n');
  const entries: Entry[] = [
    { path: 'etc', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, linkname: null, sha256: null, elf: null },
    { path: 'etc/motd', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 3, linkname: null, sha256: await blobs.put(body), elf: null },
  ];
  layerTar = join(tmp, 'layer.tar');
  layerGz = join(tmp, 'layer.tar.gz');
  diffId = (await writeLayerFile(entries, blobs, layerTar, { mtime: 0 })).diffId;
  gz = await writeLayerFile(entries, blobs, layerGz, { mtime: 0, gzip: true });
});
test.after(() => rm(tmp, { recursive: true, force: true }));

async function archive(tags: string[]): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await writeDockerArchive(out, { config, layers: [{ diffId, path: layerTar }], repoTags: tags });
  return Buffer.concat(chunks);
}

async function members(tar: Buffer) {
  const ex = extract();
  const found: { name: string; mode: number; uid: number; mtime: number; body: Buffer }[] = [];
  const done = (async () => {
    for await (const e of ex) {
      const parts: Buffer[] = [];
      for await (const c of e) parts.push(c as Buffer);
      const h = e.header;
      found.push({ name: h.name, mode: h.mode, uid: h.uid, mtime: h.mtime.getTime(), body: Buffer.concat(parts) });
    }
  })();
  ex.end(tar);
  await done;
  return found;
}

const hex = (d: string) => d.slice('sha256:'.length);

test('a docker archive holds the layers, the config and manifest.json with every tag', async () => {
  const tar = await archive(['example/app:1.0', 'example/app:latest']);
  const m = await members(tar);
  assert.equal(
    m.map((x) => [x.name, x.mode, x.uid, x.mtime]),
    [
      [`${hex(diffId)}/`, 0o755, 0, 0],
      [`${hex(diffId)}/layer.tar`, 0o644, 0, 0],
      [`${hex(config.digest)}.json`, 0o644, 0, 0],
      ['manifest.json', 0o644, 0, 0],
    ],
  );
  assert.ok(m[1].body.equals(await readFile(layerTar)));
  assert.is(m[2].body.toString(), config.json);
  assert.equal(JSON.parse(m[3].body.toString()), [
    { Config: `${hex(config.digest)}.json`, Layers: [`${hex(diffId)}/layer.tar`], RepoTags: ['example/app:1.0', 'example/app:latest'] },
  ]);
  assert.ok(tar.equals(await archive(['example/app:1.0', 'example/app:latest'])), 'byte-identical twice');
});

test('a layer listed twice is stored once and referenced twice', async () => {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const layer = { diffId, path: layerTar };
  await writeDockerArchive(out, { config, layers: [layer, layer], repoTags: [] });
  const m = await members(Buffer.concat(chunks));
  assert.is(m.filter((x) => x.name.endsWith('layer.tar')).length, 1);
  assert.equal(JSON.parse(m[m.length - 1].body.toString())[0].Layers.length, 2);
});

test('a layer the engine has is listed in the manifest but its bytes are left out; a verified one is sent unhashed', async () => {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const wrong = 'sha256:' + '0'.repeat(64);
  // A present layer's file is never opened (here it does not exist); a verified one is not checked against its diffId.
  await writeDockerArchive(out, {
    config,
    layers: [
      { diffId: wrong, path: join(tmp, 'no-such.tar'), present: true },
      { diffId, path: layerTar, verified: true },
    ],
    repoTags: ['example/app:1.0'],
  });
  const m = await members(Buffer.concat(chunks));
  assert.equal(
    m.map((x) => x.name).filter((n) => n.endsWith('layer.tar')),
    [`${hex(diffId)}/layer.tar`],
  );
  assert.equal(JSON.parse(m[m.length - 1].body.toString())[0].Layers, [`${hex(wrong)}/layer.tar`, `${hex(diffId)}/layer.tar`]);
});

test('a layer file that does not match its diffId is refused', async () => {
  const wrong = 'sha256:' + '0'.repeat(64);
  await rejects(
    () => writeDockerArchive(new PassThrough().resume(), { config, layers: [{ diffId: wrong, path: layerTar }], repoTags: [] }),
    /expected diffId/,
  );
});

test('an OCI layout has oci-layout, digest-named blobs and an index naming the ref', async () => {
  const dir = join(tmp, 'oci');
  const [w] = await writeOciLayout(dir, [{ config, layers: [{ ...gz, path: layerGz }], refName: '1.0' }]);
  assert.is(await readFile(join(dir, 'oci-layout'), 'utf8'), '{"imageLayoutVersion":"1.0.0"}');
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
  assert.equal(index, {
    manifests: [
      {
        annotations: { 'org.opencontainers.image.ref.name': '1.0' },
        digest: w.digest,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: w.size,
      },
    ],
    mediaType: 'application/vnd.oci.image.index.v1+json',
    schemaVersion: 2,
  });
  const blobDir = join(dir, 'blobs', 'sha256');
  const names = (await readdir(blobDir)).sort();
  assert.equal(names, [hex(config.digest), hex(gz.digest), hex(w.digest)].sort());
  for (const n of names) {
    assert.is(
      createHash('sha256')
        .update(await readFile(join(blobDir, n)))
        .digest('hex'),
      n,
    );
  }
  const manifest = JSON.parse(await readFile(join(blobDir, hex(w.digest)), 'utf8'));
  assert.equal(manifest.layers, [{ digest: gz.digest, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: gz.size }]);
  assert.equal((await readdir(dir)).sort(), ['blobs', 'index.json', 'oci-layout']);
});

test('writing another ref keeps the others; the same ref is replaced', async () => {
  const dir = join(tmp, 'oci-merge');
  const img = { config, layers: [{ ...gz, path: layerGz }] };
  await writeOciLayout(dir, [{ ...img, refName: 'b' }]);
  await writeOciLayout(dir, [{ ...img, refName: 'a' }]);
  const first = await readFile(join(dir, 'index.json'));
  await writeOciLayout(dir, [{ ...img, refName: 'a' }]);
  assert.ok(first.equals(await readFile(join(dir, 'index.json'))), 'rewriting is idempotent');
  const refs = JSON.parse(first.toString()).manifests.map(
    (m: { annotations: Record<string, string> }) => m.annotations['org.opencontainers.image.ref.name'],
  );
  assert.equal(refs, ['a', 'b']);
});

test('bad ref names, duplicate refs and a blob with the wrong digest are refused', async () => {
  const dir = join(tmp, 'oci-bad');
  const img = { config, layers: [{ ...gz, path: layerGz }] };
  await rejects(() => writeOciLayout(dir, [{ ...img, refName: 'no spaces' }]), /not valid/);
  await rejects(
    () =>
      writeOciLayout(dir, [
        { ...img, refName: 'x' },
        { ...img, refName: 'x' },
      ]),
    /given twice/,
  );
  const other = join(tmp, 'other.gz');
  await writeFile(other, 'not the layer');
  await rejects(() => writeOciLayout(dir, [{ config, layers: [{ ...gz, path: other }], refName: 'x' }]), /expected sha256:/);
  assert.equal(await readdir(join(dir, 'blobs', 'sha256')), []);
});

test.run();
