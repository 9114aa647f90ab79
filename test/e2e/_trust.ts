/**
 * What scanners and auditors read of a built image, checked the way they read it:
 * the merged status.d of every layer through dpkg-query, the SBOM against the SPDX
 * schema, the provenance in an OCI layout and a registry through skopeo.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract } from 'tar-stream';
import * as assert from 'uvu/assert';
import type { ImageResult } from '../../src/runtime/deploy/deploy';
import { validateSpdx } from '../runtime/reports/_spdx-schema';

/** Bodies of `var/lib/dpkg/status.d/*` in a layer tar. */
async function statusD(path: string): Promise<string[]> {
  const out: string[] = [];
  const ex = extract();
  createReadStream(path).pipe(ex);
  for await (const e of ex) {
    const chunks: Buffer[] = [];
    for await (const c of e) chunks.push(c as Buffer);
    if (/^(\.\/)?var\/lib\/dpkg\/status\.d\/[^/]+$/.test(e.header.name)) out.push(Buffer.concat(chunks).toString('utf8'));
  }
  return out;
}

/** Package names of PACKAGES.md's tables (installed and inherited). */
export function packagesMd(text: string): string[] {
  return [...text.matchAll(/^\| ([^ |]+) \| [^|]+ \|/gm)]
    .map((m) => m[1])
    .filter((n) => n !== 'Package' && n !== '---')
    .sort();
}

/**
 * Checks a built image: dpkg-query over the merged status.d of all its layers lists
 * exactly the packages of its PACKAGES.md, with no field missing; its SBOM validates.
 */
export async function checkScannable(stateDir: string, res: ImageResult): Promise<string[]> {
  const rec = JSON.parse(readFileSync(recordOf(stateDir, res), 'utf8')) as { diffIds: string[] };
  const stanzas: string[] = [];
  for (const d of rec.diffIds) stanzas.push(...(await statusD(join(stateDir, 'layers', `${d.slice(7)}.tar`))));
  const admin = mkdtempSync(join(tmpdir(), 'imgsdk-admindir-'));
  try {
    writeFileSync(join(admin, 'status'), stanzas.join('\n'));
    const q = spawnSync('dpkg-query', [`--admindir=${admin}`, '-W', '-f=${Package}\\n'], { encoding: 'utf8' });
    assert.is(q.status, 0, q.stderr);
    assert.not.match(q.stderr, 'warning', 'full control stanzas, no missing fields');
    const listed = q.stdout.trim().split('\n').sort();
    assert.equal(listed, packagesMd(readFileSync(res.report!, 'utf8')), `${res.id}: dpkg-query lists every package of PACKAGES.md`);
    assert.equal(
      validateSpdx(JSON.parse(readFileSync(res.sbom!, 'utf8'))),
      [],
      `${res.id}: the SBOM validates against the SPDX 2.3 schema`,
    );
    return listed;
  } finally {
    rmSync(admin, { recursive: true, force: true });
  }
}

/** The build record of the image at its key (its second tag is `<id>:<key12>`). */
function recordOf(stateDir: string, res: ImageResult): string {
  const dir = join(stateDir, 'images', res.id);
  const key12 = res.tags[1].slice(res.tags[1].lastIndexOf(':') + 1);
  const name = readdirSync(dir).find((n) => n.startsWith(key12) && /^[0-9a-f]{64}\.json$/.test(n));
  assert.ok(name, `a build record of ${res.id} at ${key12} in ${dir}`);
  return join(dir, name!);
}

export function skopeo(args: string[]): string {
  const r = spawnSync('skopeo', args, { encoding: 'utf8' });
  assert.is(r.status, 0, `skopeo ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The in-toto statement of an attestation artifact, copied with skopeo into a dir: directory. */
export function statementIn(dir: string): string {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    artifactType?: string;
    layers: { digest: string; mediaType: string }[];
  };
  assert.is(manifest.artifactType, 'application/vnd.in-toto+json');
  assert.is(manifest.layers[0].mediaType, 'application/vnd.in-toto+json');
  return readFileSync(join(dir, manifest.layers[0].digest.slice(7)), 'utf8');
}

/**
 * Checks the image's provenance is in the OCI layout at `oci` and, when pushed, in
 * the registry, under `sha256-<manifest hex>.att`, byte for byte the file next to the SBOM.
 */
export function checkProvenance(res: ImageResult, oci: string, registry: string | null): void {
  const file = readFileSync(res.provenance!, 'utf8');
  assert.is(JSON.parse(file).subject[0].digest.sha256, res.digest!.slice(7));
  const copies = mkdtempSync(join(tmpdir(), 'imgsdk-prov-copies-'));
  try {
    const index = JSON.parse(readFileSync(join(oci, 'index.json'), 'utf8')) as {
      manifests: { digest: string; annotations: Record<string, string> }[];
    };
    const latest = index.manifests.find((d) => d.annotations['org.opencontainers.image.ref.name'] === `${res.id}:latest`)!;
    const ref = `${res.id}:sha256-${latest.digest.slice(7)}.att`;
    assert.is(JSON.parse(skopeo(['inspect', '--raw', `oci:${oci}:${ref}`])).subject.digest, latest.digest);
    skopeo(['copy', `oci:${oci}:${ref}`, `dir:${join(copies, 'oci')}`]);
    assert.is(statementIn(join(copies, 'oci')), file, `${res.id}: the provenance in the OCI layout`);
    if (registry) {
      const pushed = res.pushed![0].digest!;
      skopeo([
        'copy',
        '--src-tls-verify=false',
        `docker://${registry}/${res.id}:sha256-${pushed.slice(7)}.att`,
        `dir:${join(copies, 'registry')}`,
      ]);
      assert.is(statementIn(join(copies, 'registry')), file, `${res.id}: the provenance in the registry`);
    }
  } finally {
    rmSync(copies, { recursive: true, force: true });
  }
}
