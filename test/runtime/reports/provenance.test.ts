import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { debian, image } from '../../../src';
import { attestation, attestationTag } from '../../../src/runtime/image/attest';
import { exportOci } from '../../../src/runtime/image/oci-export';
import { imageConfig } from '../../../src/runtime/image/oci';
import { renderProvenance } from '../../../src/runtime/reports/provenance';
import { assemble } from '../../../src/sdk/synth';
import { sha256Digest } from '../../../src/util/hash';

const def = assemble(
  image('acme/web')
    .builder(debian.builder('acme/deb', { suite: 'bookworm' }))
    .user('nobody'),
  { epoch: 0 },
).images.get('acme/web')!;
const IMAGE_ID = `sha256:${'1'.repeat(64)}`;

function provenance() {
  return renderProvenance({
    def,
    key: 'k'.repeat(64),
    keyInputs: { packages: 'p', builder: 'b' },
    sources: { 'images.ts': 'e'.repeat(64) },
    synthVersion: '0.1.0',
    imageId: IMAGE_ID,
    sbom: `sha256:${'5'.repeat(64)}`,
    epoch: 1_700_000_000,
    builder: { id: 'acme/deb', key: 'b'.repeat(64), ref: 'imgsdk-builder/acme-deb:bbbbbbbbbbbb', imageId: `sha256:${'2'.repeat(64)}` },
    images: [{ id: 'acme/base', imageId: `sha256:${'3'.repeat(64)}`, role: 'parent' }],
    packages: [{ name: 'nginx-light', version: '1.22.1-9', arch: 'amd64', origin: 'debian' }],
  });
}

test('the provenance is an in-toto v1 statement with a SLSA v1 predicate about the image id, and the same bytes every time', () => {
  const p = provenance();
  assert.is(p.json, provenance().json);
  assert.is(p.digest, sha256Digest(p.json));
  const s = JSON.parse(p.json);
  assert.is(s._type, 'https://in-toto.io/Statement/v1');
  assert.is(s.predicateType, 'https://slsa.dev/provenance/v1');
  assert.equal(s.subject, [{ name: 'acme/web', digest: { sha256: '1'.repeat(64) } }]);
  const bd = s.predicate.buildDefinition;
  assert.is(bd.externalParameters.key, 'k'.repeat(64));
  assert.is(bd.externalParameters.sourceDateEpoch, 1_700_000_000);
  assert.equal(bd.externalParameters.sources, [{ uri: 'file:images.ts', digest: { sha256: 'e'.repeat(64) } }]);
  assert.equal(bd.internalParameters.keyInputs, { builder: 'b', packages: 'p' });
  const deps = bd.resolvedDependencies as { name: string; uri: string; digest?: { sha256: string } }[];
  assert.equal(
    deps.map((d) => d.name),
    ['builder acme/deb', 'parent acme/base', 'nginx-light'],
  );
  assert.is(deps[0].digest!.sha256, '2'.repeat(64));
  assert.is(deps[2].uri, 'pkg:deb/debian/nginx-light@1.22.1-9?arch=amd64');
  assert.match(s.predicate.runDetails.builder.version.imgsdk, /^\d+\.\d+\.\d+/);
});

test('the attestation is an OCI artifact naming the image manifest as its subject, tagged sha256-<hex>.att', () => {
  const subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'9'.repeat(64)}`, size: 123 };
  const a = attestation('{"x":1}', subject);
  const m = JSON.parse(a.manifest.json);
  assert.is(m.artifactType, 'application/vnd.in-toto+json');
  assert.equal(m.subject, subject);
  assert.is(m.config.mediaType, 'application/vnd.oci.empty.v1+json');
  assert.equal(
    m.layers.map((l: { digest: string }) => l.digest),
    [sha256Digest('{"x":1}')],
  );
  assert.is(a.tag, `sha256-${'9'.repeat(64)}.att`);
  assert.is(attestationTag(subject.digest), a.tag);
});

test('the OCI layout holds the provenance next to the image, under <id>:sha256-<manifest hex>.att', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-prov-oci-'));
  try {
    const layer = join(dir, 'layer.tar');
    writeFileSync(layer, Buffer.alloc(1024));
    const diffId = sha256Digest(Buffer.alloc(1024));
    const config = imageConfig(def, { key: 'k'.repeat(64), diffIds: [diffId], created: 0, accounts: [] });
    const p = provenance();
    const written = await exportOci(
      join(dir, 'oci'),
      [{ config, diffIds: [diffId], repoTags: ['acme/web:latest', 'acme/web:kkkkkkkkkkkk'], attestation: p.json }],
      () => layer,
    );
    const index = JSON.parse(readFileSync(join(dir, 'oci', 'index.json'), 'utf8')) as {
      manifests: { digest: string; artifactType?: string; annotations: Record<string, string> }[];
    };
    const ref = `acme/web:sha256-${written[0].digest.slice(7)}.att`;
    const entry = index.manifests.find((d) => d.annotations['org.opencontainers.image.ref.name'] === ref)!;
    assert.ok(entry, JSON.stringify(index));
    assert.is(entry.artifactType, 'application/vnd.in-toto+json');
    const manifest = JSON.parse(readFileSync(join(dir, 'oci', 'blobs', 'sha256', entry.digest.slice(7)), 'utf8'));
    assert.is(manifest.subject.digest, written[0].digest);
    assert.is(readFileSync(join(dir, 'oci', 'blobs', 'sha256', manifest.layers[0].digest.slice(7)), 'utf8'), p.json);
    // A later export of another image keeps it.
    await exportOci(join(dir, 'oci'), [{ config, diffIds: [diffId], repoTags: ['acme/other:latest'] }], () => layer);
    const again = JSON.parse(readFileSync(join(dir, 'oci', 'index.json'), 'utf8')) as typeof index;
    assert.ok(again.manifests.some((d) => d.annotations['org.opencontainers.image.ref.name'] === ref));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
