/**
 * Signing and verifying through a registry, without an engine: an image pushed
 * by hand (one gzip layer holding a package database), signed and attested as
 * deploy does, then verified; and each way verification must fail. Both
 * discovery paths: the OCI referrers API and cosign's tags.
 */
import { generateKeyPairSync } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalJson } from '../../../../src/contract/json';
import { sha256Digest } from '../../../../src/util/hash';
import { tarOf } from '../../../../src/util/tar';
import { RegistryClient } from '../../../../src/runtime/image/attest';
import { findArtifacts } from '../../../../src/runtime/image/sign/artifacts';
import { PREDICATE } from '../../../../src/runtime/image/sign/bundles';
import { keySigner, trustedKeys } from '../../../../src/runtime/image/sign/keys';
import { imageStatements, signPushed } from '../../../../src/runtime/image/sign/ship';
import { verifyImage } from '../../../../src/runtime/image/sign/verify';
import { fakeRegistry, type FakeRegistry } from './_registry';

const pem = () => {
  const p = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    priv: p.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    pub: p.publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
};
const ours = pem();
const theirs = pem();
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';

const sbomOf = (pkgs: readonly [string, string][]) =>
  JSON.stringify({
    spdxVersion: 'SPDX-2.3',
    packages: pkgs.map(([n, v]) => ({
      name: n,
      versionInfo: v,
      externalRefs: [
        {
          referenceCategory: 'PACKAGE-MANAGER',
          referenceType: 'purl',
          referenceLocator: `pkg:deb/debian/${n}@${encodeURIComponent(v)}?arch=amd64`,
        },
      ],
    })),
  });
/** imgsdk's provenance of the image whose config (image id) is `config`. */
const provenanceOf = (config: string) =>
  JSON.stringify({
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'acme/web', digest: { sha256: config.slice(7) } }],
    predicateType: PREDICATE.provenance,
    predicate: { buildDefinition: {} },
  });
const provenance = provenanceOf(`sha256:${'ee'.repeat(32)}`);
/** The config digest of manifest `digest` in the fake registry. */
const configOf = (digest: string) =>
  (JSON.parse(reg.manifests.get(digest)!.body.toString()) as { config: { digest: string } }).config.digest;

/** Pushes an image whose one layer holds status.d stanzas of `pkgs`; returns its manifest digest. */
async function pushImage(client: RegistryClient, repo: string, pkgs: readonly [string, string][], arch: string): Promise<string> {
  const layer = gzipSync(
    await tarOf([
      { name: 'var/lib/dpkg/status.d/' },
      ...pkgs.map(([n, v]) => ({
        name: `var/lib/dpkg/status.d/${n}`,
        data: Buffer.from(`Package: ${n}\nStatus: install ok installed\nVersion: ${v}\nArchitecture: ${arch}\n`),
      })),
    ]),
  );
  const config = Buffer.from(canonicalJson({ architecture: arch, os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  await client.putBlob(repo, sha256Digest(layer), layer);
  await client.putBlob(repo, sha256Digest(config), config);
  const m = canonicalJson({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256Digest(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256Digest(layer), size: layer.length }],
  });
  await client.putManifest(repo, sha256Digest(m), m, OCI_MANIFEST);
  return sha256Digest(m);
}

const pkgs: [string, string][] = [
  ['hello', '2.10-3'],
  ['libc6', '2.36-9+deb12u9'],
];
let reg: FakeRegistry;
test.after.each(async () => reg?.close());

for (const referrers of [false, true]) {
  test(`a signed two-platform index verifies for the index and each platform (${referrers ? 'referrers API' : 'cosign tags'})`, async () => {
    reg = await fakeRegistry({ referrers });
    const client = new RegistryClient(reg.address, null);
    const signer = await keySigner(ours.priv);
    const digests = [await pushImage(client, 'team/acme/web', pkgs, 'amd64'), await pushImage(client, 'team/acme/web', pkgs, 'arm64')];
    for (const d of digests)
      await signPushed(`${reg.address}/team`, null, 'acme/web', d, signer, { provenance: provenanceOf(configOf(d)), sbom: sbomOf(pkgs) });
    const index = canonicalJson({
      schemaVersion: 2,
      mediaType: INDEX,
      manifests: digests.map((d, i) => ({
        mediaType: OCI_MANIFEST,
        digest: d,
        size: reg.manifests.get(d)!.body.length,
        platform: { os: 'linux', architecture: ['amd64', 'arm64'][i] },
      })),
    });
    await client.putManifest('team/acme/web', 'latest', index, INDEX);
    await signPushed(`${reg.address}/team`, null, 'acme/web', sha256Digest(index), signer, null);

    const found = await findArtifacts(client, 'team/acme/web', digests[0], 'sig');
    assert.equal(
      found.map((f) => f.via),
      [referrers ? 'referrers' : `${digests[0].replace(':', '-')}.sig`],
    );
    const lines: string[] = [];
    const r = await verifyImage(`${reg.address}/team/acme/web:latest`, await trustedKeys([theirs.pub, ours.pub]), {
      log: (l) => lines.push(l),
    });
    assert.equal(
      r.manifests.map((m) => m.platform ?? m.kind),
      ['index', 'linux/amd64', 'linux/arm64'],
    );
    for (const m of r.manifests.slice(1)) {
      assert.equal(m.attestations, [PREDICATE.provenance, PREDICATE.sbom]);
      assert.is(m.packages, 2);
    }
    assert.is(lines.length, 3);
  });
}

test('verification fails naming the image: the provenance of another image, another key, an unsigned re-push, a tampered attestation, an SBOM the image does not match', async () => {
  reg = await fakeRegistry({ referrers: false });
  const client = new RegistryClient(reg.address, null);
  const ref = `${reg.address}/acme/web`;
  const digest = await pushImage(client, 'acme/web', pkgs, 'amd64');
  await client.putManifest('acme/web', 'latest', reg.manifests.get(digest)!.body.toString(), OCI_MANIFEST);
  // First with the provenance of another image: refused.
  await signPushed(reg.address, null, 'acme/web', digest, await keySigner(ours.priv), { provenance, sbom: sbomOf(pkgs) });
  const keys = await trustedKeys([ours.pub]);
  await rejects(() => verifyImage(`${ref}:latest`, keys), /the provenance is not about this image: no subject is its config/);
  await signPushed(reg.address, null, 'acme/web', digest, await keySigner(ours.priv), {
    provenance: provenanceOf(configOf(digest)),
    sbom: sbomOf(pkgs),
  });
  await verifyImage(`${ref}:latest`, keys);

  // A verifier that trusts another key.
  await rejects(() => verifyImage(`${ref}:latest`, awaitKeys.theirs), /which is not trusted/);

  // The attestation's statement changed, its signature kept, pushed as a new artifact under the .att tag.
  const attTag = `${digest.replace(':', '-')}.att`;
  const original = reg.manifests.get(reg.tags.get(`acme/web:${attTag}`)!)!.body.toString();
  const att = JSON.parse(original) as { layers: { digest: string; size: number }[] };
  const bundle = JSON.parse(reg.blobs.get(att.layers[0].digest)!.toString());
  const stmt = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString());
  stmt.predicate = { buildDefinition: { externalParameters: { forged: true } } };
  bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(stmt)).toString('base64');
  const forged = Buffer.from(JSON.stringify(bundle));
  await client.putBlob('acme/web', sha256Digest(forged), forged);
  att.layers[0] = { ...att.layers[0], digest: sha256Digest(forged), size: forged.length };
  await client.putManifest('acme/web', attTag, JSON.stringify(att), OCI_MANIFEST);
  await rejects(
    () => verifyImage(`${ref}:latest`, keys),
    new RegExp(`attestation ${attTag} of acme/web@${digest}, ${PREDICATE.provenance}: the signature by .* does not verify`),
  );
  await client.putManifest('acme/web', attTag, original, OCI_MANIFEST);
  await verifyImage(`${ref}:latest`, keys);

  // An image pushed again under the same tag without a signature.
  const unsigned = await pushImage(client, 'acme/web', [['hello', '2.10-3']], 'amd64');
  await client.putManifest('acme/web', 'latest', reg.manifests.get(unsigned)!.body.toString(), OCI_MANIFEST);
  await rejects(() => verifyImage(`${ref}:latest`, keys), new RegExp(`${unsigned}.*is not signed`));

  // Signed, but its SBOM names a package the image does not have.
  await signPushed(reg.address, null, 'acme/web', unsigned, await keySigner(ours.priv), {
    provenance: provenanceOf(configOf(unsigned)),
    sbom: sbomOf(pkgs),
  });
  await rejects(
    () => verifyImage(`${ref}:latest`, keys),
    /SBOM does not match the package database in the image: in the SBOM only: deb:libc6@2\.36-9\+deb12u9/,
  );
});

test('the signed statements are about the pushed manifest; the provenance keeps the image id it was written for', () => {
  const s = imageStatements('r/acme/web', `sha256:${'ab'.repeat(32)}`, {
    provenance,
    sbom: sbomOf(pkgs),
    vex: JSON.stringify({ '@context': 'https://openvex.dev/ns/v0.2.0', statements: [] }),
  });
  assert.equal(
    s.map((x) => x.predicateType),
    [PREDICATE.provenance, PREDICATE.sbom, PREDICATE.vex],
  );
  const p = JSON.parse(s[0].statement.toString());
  assert.equal(
    p.subject.map((x: { digest: { sha256: string } }) => x.digest.sha256),
    ['ab'.repeat(32), 'ee'.repeat(32)],
  );
});

const awaitKeys: { theirs: Awaited<ReturnType<typeof trustedKeys>> } = { theirs: [] };
test.before(async () => {
  awaitKeys.theirs = await trustedKeys([theirs.pub]);
});

async function rejects(f: () => Promise<unknown>, re: RegExp): Promise<void> {
  const err = await f().then(
    () => null,
    (e: Error) => e,
  );
  assert.ok(err, `expected a rejection matching ${re}`);
  assert.match(err!.message, re);
}

test.run();
