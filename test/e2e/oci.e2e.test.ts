import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, deploy, image, type DeployOptions } from '../../src';
import type { Engine } from '../../src/runtime/engine/engine';
import { archiveName } from '../../src/runtime/image/oci-export';
import { LABEL_SBOM } from '../../src/contract/labels';
import { StateDir } from '../../src/runtime/store/state';
import { bookworm, tempDir } from './_app';
import { engineOrSkip } from '../_kit/engine';
import { busybox, NS, removeNamespace, run } from './_ship';

const sh = promisify(execFile);
// A second image that finishes together with the first: both go into one layout.
const readme = image(`${NS}/readme`).builder(bookworm).file('/README', 'exported\n');

/** An engine every call of which fails: proves a step needs none. */
const noEngine = new Proxy({} as Engine, {
  get: (_t, prop) => (prop === 'then' ? undefined : () => Promise.reject(new Error(`engine used: ${String(prop)}`))),
});

test('with --no-load, phase 2 writes an OCI layout skopeo accepts and a docker-archive docker loads, without the engine', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const state = tempDir('imgsdk-e2e-state-');
  const out = tempDir('imgsdk-e2e-out-');
  const exp = tempDir('imgsdk-e2e-oci-');
  const base: DeployOptions = { stateDir: state.dir, assemblyDir: out.dir };
  try {
    const first = await deploy(app(busybox, readme), base);
    assert.ok(first.ok, JSON.stringify(first.images.map((i) => i.reason)));
    const built = first.images[0];

    // Phase 2 again (force), no engine at all: layer, config, SBOM, layout, archive.
    const oci = join(exp.dir, 'oci');
    const r = await deploy(app(busybox, readme), { ...base, force: true, load: false, oci, archive: exp.dir, engine: noEngine });
    assert.ok(r.ok, JSON.stringify(r.images.map((i) => i.reason)));
    assert.is(r.images[0].digest, built.digest, 'the same image as the engine build');

    const ref = `oci:${oci}:${NS}/busybox:latest`;
    const inspected = JSON.parse((await sh('skopeo', ['inspect', ref])).stdout) as { Labels: Record<string, string>; Layers: string[] };
    assert.is(inspected.Labels['org.imgsdk.key'].slice(0, 12), built.tags[1].split(':')[1]);
    assert.match(inspected.Labels[LABEL_SBOM], /^sha256:[0-9a-f]{64}$/);
    const cfg = JSON.parse((await sh('skopeo', ['inspect', '--config', ref])).stdout) as { config: { Entrypoint: string[] } };
    assert.equal(cfg.config.Entrypoint, ['/bin/busybox']);
    const index = JSON.parse(readFileSync(join(oci, 'index.json'), 'utf8')) as {
      manifests: { artifactType?: string; annotations: Record<string, string> }[];
    };
    const readmeTags = first.images.find((i) => i.id === `${NS}/readme`)!.tags;
    const refs = (artifacts: boolean) =>
      index.manifests
        .filter((m) => !!m.artifactType === artifacts)
        .map((m) => m.annotations['org.opencontainers.image.ref.name'])
        .sort();
    assert.equal(refs(false), [...built.tags, ...readmeTags].sort());
    // Besides the images, each one's provenance (provenance.e2e.test.ts reads it back).
    assert.equal(
      refs(true).map((r) => r.replace(/[0-9a-f]{64}/, 'H')),
      [`${NS}/busybox:sha256-H.att`, `${NS}/readme:sha256-H.att`],
    );
    await sh('skopeo', ['inspect', `oci:${oci}:${NS}/readme:latest`]);

    // Into the engine with skopeo, and it runs.
    const copied = `${NS}/copied:skopeo`;
    await sh('skopeo', ['copy', '--quiet', ref, `docker-daemon:${copied}`]);
    assert.is((await docker.getImage(copied).inspect()).Id, built.digest);
    const ran = await run(docker, copied, ['echo', 'from the OCI layout']);
    assert.is(ran.out.trim(), 'from the OCI layout');

    // The docker-archive loads under every tag.
    await removeNamespace(docker);
    const stream = await docker.loadImage(createReadStream(join(exp.dir, archiveName(`${NS}/busybox`))));
    await new Promise<void>((res, rej) => docker.modem.followProgress(stream, (err: unknown) => (err ? rej(err) : res())));
    for (const t of built.tags) assert.is((await docker.getImage(t).inspect()).Id, built.digest, t);
  } finally {
    await removeNamespace(docker);
    state.remove();
    out.remove();
    exp.remove();
  }
});

test('every image gets an SPDX 2.3 SBOM next to PACKAGES.md listing every package, referenced by digest from a label', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const state = tempDir('imgsdk-e2e-state-');
  const out = tempDir('imgsdk-e2e-out-');
  try {
    const r = await deploy(app(busybox), { stateDir: state.dir, assemblyDir: out.dir });
    assert.ok(r.ok, JSON.stringify(r.images.map((i) => i.reason)));
    const img = r.images[0];
    assert.is(img.sbom, join(new StateDir(state.dir).imageDir(`${NS}/busybox`), 'sbom.spdx.json'));
    const bytes = readFileSync(img.sbom!);
    const doc = JSON.parse(bytes.toString('utf8'));
    for (const f of ['spdxVersion', 'dataLicense', 'SPDXID', 'name', 'documentNamespace', 'creationInfo', 'packages', 'relationships'])
      assert.ok(f in doc, f);
    assert.is(doc.spdxVersion, 'SPDX-2.3');
    assert.is(doc.dataLicense, 'CC0-1.0');
    assert.is(doc.SPDXID, 'SPDXRef-DOCUMENT');
    assert.is(doc.creationInfo.created, '1970-01-01T00:00:00Z');
    assert.ok(doc.creationInfo.creators[0].startsWith('Tool: imgsdk-'));
    for (const p of doc.packages) for (const f of ['name', 'SPDXID', 'downloadLocation']) assert.ok(f in p, `${p.name}: ${f}`);
    const record = JSON.parse(readFileSync(findRecord(state.dir), 'utf8')) as { packages: { name: string }[] };
    const names = new Set(doc.packages.map((p: { name: string }) => p.name));
    assert.ok(record.packages.length > 0);
    for (const p of record.packages) assert.ok(names.has(p.name), `${p.name} is in the SBOM`);
    assert.ok(names.has('busybox-static'));
    const bin = doc.files.find((f: { fileName: string }) => f.fileName === './usr/bin/busybox');
    assert.ok(bin, 'the binary is listed');
    assert.equal(
      bin.checksums.map((c: { algorithm: string }) => c.algorithm),
      ['SHA1', 'SHA256'],
    );
    assert.ok(
      doc.relationships.some(
        (x: Record<string, string>) =>
          x.relationshipType === 'CONTAINS' && x.relatedSpdxElement === bin.SPDXID && x.spdxElementId.includes('busybox-static'),
      ),
    );
    const labels = (await docker.getImage(`${NS}/busybox:latest`).inspect()).Config.Labels;
    assert.is(labels[LABEL_SBOM], `sha256:${createHash('sha256').update(bytes).digest('hex')}`);
  } finally {
    await removeNamespace(docker);
    state.remove();
    out.remove();
  }
});

/** The build record of the busybox image in a state dir. */
function findRecord(stateDir: string): string {
  const dir = new StateDir(stateDir).imageDir(`${NS}/busybox`);
  const f = readdirSync(dir).find((n) => /^[0-9a-f]{64}\.json$/.test(n))!;
  return join(dir, f);
}

test.run();
