/**
 * Signed images and a signed registry cache, against Debian's docker-registry on
 * loopback (no referrers API: cosign's tags carry the signatures; the referrers
 * path is covered by test/runtime/image/sign/verify.test.ts):
 *
 * - an app of a two-platform image (files only: nothing runs emulated) and a
 *   one-package image, pushed signed; `imgsdk verify` passes for every tag and
 *   platform; the bundles are Sigstore bundles by @sigstore/bundle's own checks
 *   and openssl verifies the image signature on its own; an unsigned re-push, a
 *   tampered attestation and another key each fail;
 * - two state directories sharing a signed registry cache: the second deploys
 *   the two-platform image with no building event; a forged entry (unsigned, and
 *   signed by another key) is refused and rebuilt.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertBundle, bundleFromJSON, bundleToJSON, isBundleWithPublicKey } from '@sigstore/bundle';
import { app, debian, deploy, image, keygen, verify, type DeployEvent } from '../../src';
import { bookworm, removeImages, tempDir } from './_app';
import { runCli } from '../_kit/cli';
import { engineOrSkip } from '../_kit/engine';
import { startRegistry, type Registry } from './_ship';

const NS = `imgsdk-signed-${randomBytes(4).toString('hex')}`;
// Two platforms; a files-only image never starts a builder, so nothing runs under qemu.
const twoPlatforms = debian.builder('imgsdk-e2e/signed-files', {
  suite: 'bookworm',
  platforms: ['linux/amd64', 'linux/arm64'],
  network: 'host',
});
const conf = image(`${NS}/conf`).builder(twoPlatforms).file('/etc/imgsdk-signed.conf', `signed ${NS}\n`);
const hello = image(`${NS}/hello`)
  .builder(bookworm)
  .packages('hello')
  .user('nobody')
  .entrypoint('/usr/bin/hello')
  .vex({ vulnerability: 'CVE-2023-4911', status: 'not_affected', justification: 'vulnerable_code_not_in_execute_path' });
const ids = [`${NS}/conf`, `${NS}/hello`];

let registry: Registry | undefined;
const keys = tempDir('imgsdk-e2e-keys-');
const key = (name: string) => join(keys.dir, name);
test.before(async () => {
  await keygen(key('ours'));
  await keygen(key('theirs'));
});
test.after(async () => {
  await registry?.stop();
  keys.remove();
});

const OCI = 'application/vnd.oci.image.manifest.v1+json';
const get = async (
  path: string,
  accept = `${OCI}, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json`,
) => {
  const res = await fetch(`http://${registry!.address}${path}`, { headers: { Accept: accept } });
  assert.ok(res.ok, `GET ${path}: ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
};
const put = async (path: string, body: string, type = OCI) => {
  const res = await fetch(`http://${registry!.address}${path}`, { method: 'PUT', headers: { 'Content-Type': type }, body });
  assert.is(res.status, 201, `PUT ${path}: ${await res.text()}`);
};
const rejects = async (f: () => Promise<unknown>, re: RegExp) => {
  const err = await f().then(
    () => null,
    (e: Error) => e,
  );
  assert.ok(err, `expected a failure matching ${re}`);
  assert.match(err!.message, re);
};

test('a two-platform app pushed signed verifies for every tag and platform; an unsigned re-push, a tampered attestation and another key fail', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  registry = await startRegistry();
  const state = tempDir('imgsdk-e2e-signed-state-');
  const out = tempDir('imgsdk-e2e-signed-out-');
  try {
    const r = await deploy(app(conf, hello), {
      stateDir: state.dir,
      assemblyDir: out.dir,
      push: registry.address,
      signKey: key('ours.key'),
    });
    assert.ok(r.ok, JSON.stringify(r.images.map((i) => [i.id, i.status, i.reason])));
    const refs = r.images.flatMap((i) => i.pushed!.map((p) => p.ref));
    assert.ok(refs.length >= 4, refs.join(', '));
    for (const ref of refs) {
      const v = await verify(ref, { keys: [key('ours.pub')] });
      const two = ref.includes('/conf:');
      assert.equal(
        v.manifests.map((m) => m.platform ?? m.kind),
        two ? ['index', 'linux/amd64', 'linux/arm64/v8'] : ['image'],
        ref,
      );
      // The SLSA provenance and the SPDX SBOM for each; hello's .vex() statements as an OpenVEX document.
      const expected = ['https://slsa.dev/provenance/v1', 'https://spdx.dev/Document', ...(two ? [] : ['https://openvex.dev/ns/v0.2.0'])];
      for (const m of v.manifests.filter((x) => x.kind === 'image')) assert.equal(m.attestations, expected, ref);
    }
    // The one-package image: its SBOM's packages are the package database in its layer.
    const helloRef = `${registry.address}/${NS}/hello:latest`;
    const v = await verify(helloRef, { keys: [key('ours.pub')] });
    assert.ok(v.manifests[0].packages! >= 2, `hello and libc6: ${v.manifests[0].packages}`);
    // The CLI says the same, and exits 1 naming what failed.
    assert.is((await runCli(['verify', helloRef, '--key', key('ours.pub')])).code, 0);
    const other = await runCli(['verify', helloRef, '--key', key('theirs.pub')]);
    assert.is(other.code, 1);
    assert.match(other.stderr, /which is not trusted/);

    // The bundles are Sigstore bundles by the library's own checks, and openssl alone verifies the image signature.
    const digest = v.digest;
    const sig = JSON.parse((await get(`/v2/${NS}/hello/manifests/${digest.replace(':', '-')}.sig`)).toString()) as {
      layers: { mediaType: string; digest: string; annotations: Record<string, string> }[];
    };
    const bundleJson = JSON.parse((await get(`/v2/${NS}/hello/blobs/${sig.layers[0].digest}`)).toString());
    const bundle = bundleFromJSON(bundleJson);
    assertBundle(bundle);
    assert.ok(isBundleWithPublicKey(bundle));
    assert.equal(bundleToJSON(bundle), bundleJson);
    const payload = await get(`/v2/${NS}/hello/blobs/${sig.layers[1].digest}`);
    assert.is(JSON.parse(payload.toString()).critical.image['docker-manifest-digest'], digest);
    writeFileSync(join(keys.dir, 'payload'), payload);
    writeFileSync(join(keys.dir, 'sig.der'), Buffer.from(sig.layers[1].annotations['dev.cosignproject.cosign/signature'], 'base64'));
    assert.match(
      execFileSync(
        'openssl',
        ['dgst', '-sha256', '-verify', key('ours.pub'), '-signature', join(keys.dir, 'sig.der'), join(keys.dir, 'payload')],
        { encoding: 'utf8' },
      ),
      /Verified OK/,
    );

    // A tampered attestation: the provenance's statement changed, its signature kept.
    const attPath = `/v2/${NS}/hello/manifests/${digest.replace(':', '-')}.att`;
    const original = (await get(attPath)).toString();
    const att = JSON.parse(original) as { layers: { digest: string; size: number }[] };
    const b = JSON.parse((await get(`/v2/${NS}/hello/blobs/${att.layers[0].digest}`)).toString());
    const stmt = JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString());
    stmt.predicate.runDetails = { builder: { id: 'https://forged.invalid' } };
    b.dsseEnvelope.payload = Buffer.from(JSON.stringify(stmt)).toString('base64');
    const forged = await pushBlob(`${NS}/hello`, Buffer.from(JSON.stringify(b)));
    att.layers[0] = { ...att.layers[0], ...forged };
    await put(attPath, JSON.stringify(att));
    await rejects(() => verify(helloRef, { keys: [key('ours.pub')] }), /attestation .*\.att of .*: the signature by .* does not verify/);
    await put(attPath, original);
    await verify(helloRef, { keys: [key('ours.pub')] });

    // Someone with registry credentials pushes another manifest under the same tag, unsigned.
    const manifest = JSON.parse((await get(`/v2/${NS}/hello/manifests/latest`)).toString());
    const type = manifest.mediaType as string;
    manifest.annotations = { 'org.example.forged': 'yes' };
    await put(`/v2/${NS}/hello/manifests/latest`, JSON.stringify(manifest), type);
    await rejects(() => verify(helloRef, { keys: [key('ours.pub')] }), /is not signed/);
  } finally {
    await removeImages(docker, ids);
    state.remove();
    out.remove();
  }
});

/** Uploads a blob (monolithic), returns its descriptor's digest and size. */
async function pushBlob(repo: string, data: Buffer): Promise<{ digest: string; size: number }> {
  const { createHash } = await import('node:crypto');
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const start = await fetch(`http://${registry!.address}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  const url = new URL(start.headers.get('location')!, `http://${registry!.address}`);
  url.searchParams.set('digest', digest);
  const res = await fetch(url, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: data });
  assert.is(res.status, 201);
  return { digest, size: data.length };
}

const building = (events: readonly DeployEvent[]) =>
  events.filter((e) => e.type === 'building').map((e) => `${e.id} ${(e as { phase: string }).phase}`);

/** One CI runner: its own state directory and assembly. */
async function runner(cache: string, signKey: string, trustKeys: readonly string[] = []) {
  const state = tempDir('imgsdk-e2e-signed-cache-state-');
  const out = tempDir('imgsdk-e2e-signed-cache-out-');
  const events: DeployEvent[] = [];
  try {
    const r = await deploy(app(conf), {
      stateDir: state.dir,
      assemblyDir: out.dir,
      cache,
      signKey,
      trustKeys,
      load: false,
      onEvent: (e) => events.push(e),
    });
    assert.ok(r.ok, JSON.stringify(r.images.map((i) => [i.id, i.status, i.reason])));
    return { r, events, logs: events.filter((e) => e.type === 'log').map((e) => (e as { line: string }).line) };
  } finally {
    state.remove();
    out.remove();
  }
}

test('two state directories share a signed registry cache of a two-platform image; forged entries are refused and rebuilt', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  registry ??= await startRegistry();
  const cache = `${registry.address}/signed-cache`;
  const first = await runner(cache, key('ours.key'));
  assert.equal(
    first.r.images[0].platforms!.map((p) => p.status),
    ['built', 'built'],
  );

  const second = await runner(cache, key('ours.key'));
  assert.equal(building(second.events), [], 'nothing builds on the second runner');
  assert.equal(
    second.r.images[0].platforms!.map((p) => [p.platform, p.status]),
    [
      ['linux/amd64', 'cached'],
      ['linux/arm64', 'cached'],
    ],
  );
  assert.equal(
    second.r.images[0].platforms!.map((p) => p.digest),
    first.r.images[0].platforms!.map((p) => p.digest),
  );

  // Someone with registry credentials replaces the arm64 entry: the same artifact with one more annotation, unsigned.
  const arm = first.r.images[0].platforms![1];
  const armKey = arm.tags[0].split(':')[1];
  const repo = `/v2/signed-cache/${NS}/conf/manifests`;
  const tag = (
    (await (await fetch(`http://${registry.address}/v2/signed-cache/${NS}/conf/tags/list`)).json()) as { tags: string[] }
  ).tags.find((t) => t.startsWith(armKey) && t.endsWith('.build'))!;
  const entry = JSON.parse((await get(`${repo}/${tag}`)).toString());
  entry.annotations['org.example.forged'] = 'yes';
  await put(`${repo}/${tag}`, JSON.stringify(entry));
  const third = await runner(cache, key('ours.key'));
  assert.ok(
    third.logs.some((l) => /refused: .* is not signed.*; building it instead/.test(l)),
    third.logs.join('\n'),
  );
  assert.equal(
    third.r.images[0].platforms!.map((p) => p.status),
    ['cached', 'built'],
  );
  assert.equal(building(third.events).length > 0, true);

  // Signed again by this runner's publish; then forged and signed by another key: refused too, by a runner that trusts ours only.
  const fourth = await runner(cache, key('ours.key'));
  assert.equal(building(fourth.events), [], 'the rebuilt entry was published signed');
  entry.annotations['org.example.forged'] = 'signed by another key';
  await put(`${repo}/${tag}`, JSON.stringify(entry));
  // The forger signs the forged entry with their key, as they could.
  const { keySigner } = await import('../../src');
  const { pushSignature } = await import('../../src/runtime/image/sign/artifacts');
  const { RegistryClient } = await import('../../src/runtime/image/attest');
  const body = JSON.stringify(entry);
  const { createHash } = await import('node:crypto');
  await pushSignature(
    new RegistryClient(registry.address, null),
    `signed-cache/${NS}/conf`,
    `${registry.address}/signed-cache/${NS}/conf`,
    { mediaType: OCI, digest: `sha256:${createHash('sha256').update(body).digest('hex')}`, size: Buffer.byteLength(body) },
    await keySigner(key('theirs.key')),
  );
  const fifth = await runner(cache, key('ours.key'));
  assert.ok(
    fifth.logs.some((l) => /refused: .*which is not trusted/.test(l)),
    fifth.logs.join('\n'),
  );
  assert.equal(
    fifth.r.images[0].platforms!.map((p) => p.status),
    ['cached', 'built'],
  );
});

test.run();
