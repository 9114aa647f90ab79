import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LoadedAssembly } from '../../../src/contract/read';
import { emulation, platformTargets } from '../../../src/runtime/deploy/targets';
import { shipIndex } from '../../../src/runtime/image/platform-index';
import { debian } from '../../../src/sdk/builder';
import { image } from '../../../src/sdk/image';
import { assemble } from '../../../src/sdk/synth';

let dir: string;
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'imgsdk-platforms-'));
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

function loaded(platforms?: string[]): LoadedAssembly {
  const deb = debian.builder('acme/bookworm', { suite: 'bookworm', ...(platforms ? { platforms } : {}) });
  const asm = assemble([image('acme/jq').builder(deb).packages('jq').tag('1.6')]);
  return { dir, manifest: asm.manifest, images: asm.images };
}

test('an image without platforms has one build, for the host, with its tags as always', () => {
  const [t, ...more] = platformTargets(loaded(), 'acme/jq');
  assert.is(more.length, 0);
  assert.is(t.platform, null);
  assert.equal(
    t.tags.map((x) => x.split(':')[1]).filter((x) => x.length !== 12),
    ['latest', '1.6'],
  );
});

test("the engine's platform gets the tags; the other platform only its key tag, and its reports a subdirectory", () => {
  const asm = loaded(['linux/amd64', 'linux/arm64']);
  const [amd, arm] = platformTargets(asm, 'acme/jq', 'linux/amd64');
  assert.equal([amd.platform, amd.engine, amd.prefix, amd.builder.arch], ['linux/amd64', true, '', 'amd64']);
  assert.equal([arm.platform, arm.engine, arm.prefix, arm.builder.arch], ['linux/arm64', false, 'linux-arm64/', 'arm64']);
  assert.ok(amd.tags.includes('acme/jq:latest') && amd.tags.includes('acme/jq:1.6'));
  assert.equal(arm.tags, [`acme/jq:${arm.key.slice(0, 12)}`]);
  // --platform linux/arm64: the engine gets arm64 under the tags instead.
  const [amd2, arm2] = platformTargets(asm, 'acme/jq', 'linux/arm64');
  assert.equal([amd2.engine, arm2.engine], [false, true]);
  assert.ok(arm2.tags.includes('acme/jq:latest'));
});

test('emulation is found through a binfmt_misc handler with the F flag, and its absence says how to get one', () => {
  const binfmt = join(dir, 'binfmt_misc');
  mkdirSync(binfmt);
  assert.equal(emulation('linux/amd64', 'linux/amd64', binfmt), { ok: true, how: 'native' });
  const missing = emulation('linux/arm64', 'linux/amd64', binfmt);
  assert.not.ok(missing.ok);
  assert.match(missing.how, /no binfmt_misc handler .*qemu-aarch64\. Install qemu-user-static and binfmt-support/);
  writeFileSync(join(binfmt, 'qemu-aarch64'), 'enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: P\n');
  assert.match(emulation('linux/arm64', 'linux/amd64', binfmt).how, /lacks the F \(fix-binary\) flag/);
  writeFileSync(join(binfmt, 'qemu-aarch64'), 'enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\n');
  assert.equal(emulation('linux/arm64', 'linux/amd64', binfmt), { ok: true, how: 'emulated by /usr/libexec/qemu-binfmt/aarch64-binfmt-P' });
});

/** A fake platform build: one "layer" file and a config naming it. */
function fakeBuild(platform: string, debug = false) {
  const exports = [];
  for (const v of debug ? ['', '-debug'] : ['']) {
    const layer = Buffer.from(`layer of ${platform}${v}`);
    const diffId = `sha256:${createHash('sha256').update(layer).digest('hex')}`;
    writeFileSync(join(dir, diffId.slice(7)), layer);
    const json = JSON.stringify({ architecture: platform.split('/')[1], os: 'linux', rootfs: { diff_ids: [diffId] } });
    exports.push({
      config: { json, digest: `sha256:${createHash('sha256').update(json).digest('hex')}` },
      diffIds: [diffId],
      repoTags: [],
    });
  }
  return { platform, exports };
}

test("--oci writes one image index per tag listing each platform's manifest, and a debug index", async () => {
  const layout = join(dir, 'oci');
  const lines: string[] = [];
  await shipIndex(
    'acme/jq',
    ['acme/jq:latest', 'acme/jq:1.6'],
    [fakeBuild('linux/amd64', true), fakeBuild('linux/arm64', true)],
    { load: false, oci: layout },
    (d) => join(dir, d.slice(7)),
    (l) => lines.push(l),
  );
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
    manifests: { mediaType: string; digest: string; annotations: Record<string, string> }[];
  };
  assert.equal(
    index.manifests.map((m) => [m.annotations['org.opencontainers.image.ref.name'], m.mediaType]),
    [
      ['acme/jq:1.6', 'application/vnd.oci.image.index.v1+json'],
      ['acme/jq:debug', 'application/vnd.oci.image.index.v1+json'],
      ['acme/jq:latest', 'application/vnd.oci.image.index.v1+json'],
    ],
  );
  const latest = index.manifests.find((m) => m.annotations['org.opencontainers.image.ref.name'] === 'acme/jq:latest')!;
  const nested = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', latest.digest.slice(7)), 'utf8')) as {
    manifests: { digest: string; platform: object }[];
  };
  assert.equal(
    nested.manifests.map((m) => m.platform),
    [
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux', variant: 'v8' },
    ],
  );
  const arm = JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', nested.manifests[1].digest.slice(7)), 'utf8'));
  assert.is(JSON.parse(readFileSync(join(layout, 'blobs', 'sha256', arm.config.digest.slice(7)), 'utf8')).architecture, 'arm64');
  assert.match(lines[0], /linux\/amd64, linux\/arm64\) to the OCI layout/);
});

test.run();
