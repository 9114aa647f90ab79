import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { archiveName, exportOci } from '../../../src/runtime/image/oci-export';

let dir: string;
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'imgsdk-oci-export-'));
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

/** A fake image: one "layer" file and a config naming it. */
function fakeImage(name: string) {
  const layer = Buffer.from(`layer of ${name}`);
  const diffId = `sha256:${createHash('sha256').update(layer).digest('hex')}`;
  writeFileSync(join(dir, diffId.slice(7)), layer);
  const json = JSON.stringify({ name, rootfs: { diff_ids: [diffId] } });
  return {
    config: { json, digest: `sha256:${createHash('sha256').update(json).digest('hex')}` },
    diffIds: [diffId],
    repoTags: [`acme/${name}:latest`, `acme/${name}:1`],
  };
}

test('images exported into one layout at the same time all end up in index.json, one manifest per tag, layers uncompressed', async () => {
  const layout = join(dir, 'oci');
  const path = (d: string) => join(dir, d.slice(7));
  await Promise.all(['a', 'b', 'c'].map((n) => exportOci(layout, [fakeImage(n)], path)));
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string; annotations: Record<string, string> }[];
  };
  assert.equal(
    index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name']),
    ['acme/a:1', 'acme/a:latest', 'acme/b:1', 'acme/b:latest', 'acme/c:1', 'acme/c:latest'],
  );
  const manifest = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', index.manifests[0].digest.slice(7)), 'utf8'));
  assert.is(manifest.layers[0].mediaType, 'application/vnd.oci.image.layer.v1.tar');
});

test('a docker-archive is named after the image id', () => {
  assert.is(archiveName('imgsdk/nginx'), 'imgsdk_nginx.tar');
});

test.run();
