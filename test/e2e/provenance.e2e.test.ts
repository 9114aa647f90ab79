/**
 * The provenance of a built image: written next to the SBOM, in the OCI layout
 * and pushed with the image to a loopback registry; read back with skopeo.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, deploy } from '../../src';
import { tempDir } from './_app';
import { engineOrSkip } from './_engine';
import { busybox, removeNamespace, startRegistry } from './_ship';

function skopeo(args: string[]): string {
  const r = spawnSync('skopeo', args, { encoding: 'utf8' });
  assert.is(r.status, 0, `skopeo ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The in-toto statement of an artifact copied with skopeo into a dir: layout. */
function statementIn(dir: string): string {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { artifactType?: string; layers: { digest: string; mediaType: string }[] };
  assert.is(manifest.artifactType, 'application/vnd.in-toto+json');
  assert.is(manifest.layers[0].mediaType, 'application/vnd.in-toto+json');
  return readFileSync(join(dir, manifest.layers[0].digest.slice(7)), 'utf8');
}

test('the provenance is next to the SBOM, in the OCI layout and in the registry, and skopeo reads it back', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const registry = await startRegistry();
  const state = tempDir('imgsdk-e2e-prov-state-');
  const out = tempDir('imgsdk-e2e-prov-out-');
  const oci = tempDir('imgsdk-e2e-prov-oci-');
  const copies = tempDir('imgsdk-e2e-prov-copies-');
  try {
    const r = await deploy(app(busybox), { stateDir: state.dir, assemblyDir: out.dir, push: registry.address, oci: oci.dir });
    assert.ok(r.ok, JSON.stringify(r.images.map((i) => [i.id, i.status, i.reason])));
    const res = r.images[0];
    const file = readFileSync(res.provenance!, 'utf8');
    assert.equal(readdirSync(join(state.dir, 'images', busybox.id)).filter((f) => /\.(spdx|intoto)\.json$/.test(f)).sort(), ['provenance.intoto.json', 'sbom.spdx.json']);
    const s = JSON.parse(file);
    assert.equal(s.subject, [{ name: busybox.id, digest: { sha256: res.digest!.slice(7) } }]);
    const deps = s.predicate.buildDefinition.resolvedDependencies as { name: string; digest?: { sha256: string }; uri: string }[];
    const builder = deps.find((d) => d.name.startsWith('builder '))!;
    assert.match(builder.digest?.sha256 ?? '', /^[0-9a-f]{64}$/, 'the builder image by digest');
    assert.ok(deps.some((d) => d.uri.startsWith('pkg:deb/debian/busybox-static@')), JSON.stringify(deps));

    // The OCI layout: next to the image's manifest, under <id>:sha256-<manifest hex>.att.
    const index = JSON.parse(readFileSync(join(oci.dir, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    const latest = index.manifests.find((d) => d.annotations['org.opencontainers.image.ref.name'] === `${busybox.id}:latest`)!;
    const ref = `${busybox.id}:sha256-${latest.digest.slice(7)}.att`;
    const raw = JSON.parse(skopeo(['inspect', '--raw', `oci:${oci.dir}:${ref}`]));
    assert.is(raw.subject.digest, latest.digest);
    skopeo(['copy', `oci:${oci.dir}:${ref}`, `dir:${join(copies.dir, 'oci')}`]);
    assert.is(statementIn(join(copies.dir, 'oci')), file);

    // The registry: attached to the manifest the engine pushed, by cosign's tag scheme.
    const pushed = res.pushed![0].digest!;
    const remote = `docker://${registry.address}/${busybox.id}:sha256-${pushed.slice(7)}.att`;
    skopeo(['copy', '--src-tls-verify=false', remote, `dir:${join(copies.dir, 'registry')}`]);
    assert.is(statementIn(join(copies.dir, 'registry')), file);
  } finally {
    await registry.stop();
    await removeNamespace(docker);
    await removeNamespace(docker, registry.address);
    for (const d of [state, out, oci, copies]) d.remove();
  }
});

test.run();
