/**
 * The provenance of a built image: written next to the SBOM, in the OCI layout
 * and pushed with the image to a loopback registry; read back with skopeo.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, deploy } from '../../src';
import { tempDir } from './_app';
import { engineOrSkip } from '../_kit/engine';
import { busybox, removeNamespace, startRegistry } from './_ship';
import { checkProvenance } from './_trust';

test('the provenance is next to the SBOM, in the OCI layout and in the registry, and skopeo reads it back', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const registry = await startRegistry();
  const state = tempDir('imgsdk-e2e-prov-state-');
  const out = tempDir('imgsdk-e2e-prov-out-');
  const oci = tempDir('imgsdk-e2e-prov-oci-');
  try {
    const r = await deploy(app(busybox), { stateDir: state.dir, assemblyDir: out.dir, push: registry.address, oci: oci.dir });
    assert.ok(r.ok, JSON.stringify(r.images.map((i) => [i.id, i.status, i.reason])));
    const res = r.images[0];
    const file = readFileSync(res.provenance!, 'utf8');
    assert.equal(
      readdirSync(join(state.dir, 'images', busybox.id))
        .filter((f) => /\.(spdx|intoto)\.json$/.test(f))
        .sort(),
      ['provenance.intoto.json', 'sbom.spdx.json'],
    );
    const s = JSON.parse(file);
    assert.equal(s.subject, [{ name: busybox.id, digest: { sha256: res.digest!.slice(7) } }]);
    const deps = s.predicate.buildDefinition.resolvedDependencies as { name: string; digest?: { sha256: string }; uri: string }[];
    const builder = deps.find((d) => d.name.startsWith('builder '))!;
    assert.match(builder.digest?.sha256 ?? '', /^[0-9a-f]{64}$/, 'the builder image by digest');
    assert.ok(
      deps.some((d) => d.uri.startsWith('pkg:deb/debian/busybox-static@')),
      JSON.stringify(deps),
    );

    // In the OCI layout next to the image's manifest, and in the registry attached to
    // the manifest the engine pushed, both under <id>:sha256-<manifest hex>.att.
    checkProvenance(res, oci.dir, registry.address);
  } finally {
    await registry.stop();
    await removeNamespace(docker);
    await removeNamespace(docker, registry.address);
    for (const d of [state, out, oci]) d.remove();
  }
});

test.run();
