import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, deploy, image, loadApp } from '../../src';
import { bookworm, tempDir } from './_app';
import { engineOrSkip } from '../_kit/engine';
import { NS, removeNamespace, startRegistry } from './_ship';
import { checkProvenance, checkScannable } from './_trust';

const ROOT = resolve(__dirname, '..', '..');

test("two deploys of the repo's images.ts from one lock, each from a clean state, give identical digests for every image", async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const theApp = loadApp(join(ROOT, 'images.ts'));
  // The first deploy writes the lock, the second must find everything in it.
  const lockDir = tempDir('imgsdk-e2e-lock-');
  const lockFile = join(lockDir.dir, 'imgsdk.lock');
  const before = new Set((await docker.listImages()).flatMap((i) => i.RepoTags ?? []));
  const made = new Set<string>();
  const rounds: Record<string, string>[] = [];
  try {
    for (let round = 0; round < 2; round++) {
      const state = tempDir('imgsdk-e2e-state-');
      const out = tempDir('imgsdk-e2e-out-');
      try {
        // The first round also ships: OCI layout and a loopback registry, for the trust checks below.
        const registry = round === 0 ? await startRegistry() : null;
        const oci = tempDir('imgsdk-e2e-oci-');
        try {
          const r = await deploy(theApp, {
            stateDir: state.dir,
            assemblyDir: out.dir,
            epoch: 0,
            lockFile,
            frozenLock: round === 1,
            ...(registry ? { oci: oci.dir, push: registry.address } : {}),
          });
          assert.ok(r.ok, JSON.stringify(r.images.map((i) => [i.id, i.status, i.reason])));
          assert.ok(
            r.images.every((i) => i.status === 'built'),
            'a clean state builds everything',
          );
          if (registry) {
            // What scanners and auditors read of the nginx image: its package database
            // lists every package of PACKAGES.md, its SBOM validates, its provenance is in
            // the OCI layout and in the registry.
            const nginx = r.images.find((i) => i.id === 'imgsdk/nginx')!;
            assert.ok((await checkScannable(state.dir, nginx)).includes('nginx-light'));
            checkProvenance(nginx, oci.dir, registry.address);
          }
          rounds.push(Object.fromEntries(r.images.map((i) => [i.id, i.digest!])));
          // Remove what the first round loaded, so the second cannot reuse it.
          for (const i of r.images) {
            for (const t of i.tags) {
              made.add(t);
              if (round === 0)
                await docker
                  .getImage(t)
                  .remove({ force: true })
                  .catch(() => undefined);
            }
          }
        } finally {
          await registry?.stop();
          if (registry) await removeNamespace(docker, registry.address);
          oci.remove();
        }
      } finally {
        state.remove();
        out.remove();
      }
    }
    assert.equal(Object.keys(rounds[0]).sort(), ['imgsdk/base', 'imgsdk/nginx']);
    assert.equal(rounds[1], rounds[0]);
    const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as { images: Record<string, { packages: { name: string }[] }> };
    assert.ok(lock.images['imgsdk/nginx'].packages.some((p) => p.name === 'nginx-light'));
  } finally {
    lockDir.remove();
    // The second round left the same images under the same tags; drop the tags this test added.
    for (const t of made)
      if (!before.has(t))
        await docker
          .getImage(t)
          .remove({ force: true })
          .catch(() => undefined);
  }
});

test('SOURCE_DATE_EPOCH sets the creation time of the config and of every layer entry, and nothing else varies', async () => {
  // load: false — phase 2 needs no engine; an image of files only needs no builder either.
  const files = image(`${NS}/epoch`).builder(bookworm).file('/etc/motd', 'hi\n').user('nobody');
  const digests: string[] = [];
  const saved = process.env.SOURCE_DATE_EPOCH;
  try {
    for (const epoch of ['1700000000', '1700000000', '0']) {
      const state = tempDir('imgsdk-e2e-state-');
      const out = tempDir('imgsdk-e2e-out-');
      try {
        process.env.SOURCE_DATE_EPOCH = epoch;
        const r = await deploy(app(files), { stateDir: state.dir, assemblyDir: out.dir, load: false });
        assert.ok(r.ok, r.images[0].reason);
        digests.push(r.images[0].digest!);
        const rec = JSON.parse(readFileSync(join(state.dir, 'images', NS, 'epoch', recordName(state.dir)), 'utf8')) as {
          configJson: string;
          layer: { diffId: string };
        };
        const cfg = JSON.parse(rec.configJson) as { created: string; history: { created: string }[] };
        const iso = new Date(Number(epoch) * 1000).toISOString().replace('.000Z', 'Z');
        assert.is(cfg.created, iso);
        assert.ok(cfg.history.every((h) => h.created === iso));
        const layer = readFileSync(join(state.dir, 'layers', `${rec.layer.diffId.slice(7)}.tar`));
        // ustar mtime field: 12 bytes of octal at offset 136 of every header; check the first.
        assert.is(parseInt(layer.subarray(136, 147).toString('ascii'), 8), Number(epoch));
      } finally {
        state.remove();
        out.remove();
      }
    }
  } finally {
    if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
    else process.env.SOURCE_DATE_EPOCH = saved;
  }
  assert.is(digests[0], digests[1], 'same epoch, same digest');
  assert.is.not(digests[2], digests[0], 'another epoch, another digest');
});

function recordName(stateDir: string): string {
  return readdirSync(join(stateDir, 'images', NS, 'epoch')).find((n) => /^[0-9a-f]{64}\.json$/.test(n))!;
}

test.run();
