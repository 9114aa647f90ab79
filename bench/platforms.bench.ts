/**
 * Multi-platform benchmark: the cold build of one small image (jq) for linux/arm64,
 * emulated by qemu-user-static, against the same build for linux/amd64 (the
 * baseline, native), measured one after the other in the same run. Cold means no
 * builder image, no state: mmdebstrap bootstrap, import, phase 1 (apt-get install),
 * pipeline and phase 2. Both builder images are removed afterwards.
 *
 *   npm run bench -- platforms
 *
 * Needs a Docker engine, mmdebstrap, the network to Debian's archive, and a
 * qemu-aarch64 binfmt_misc handler with the F flag.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { app, debian, deploy, image } from '../src';
import { builderRef, bootstrapKey } from '../src/runtime/phase1/builders/debian';
import { emulation } from '../src/runtime/deploy/targets';
import { forPlatform } from '../src/sdk/builder';
import type { BuilderDef } from '../src/contract/assembly';

/** Seconds of a cold deploy of jq for `platform`, with its own builder id (so nothing is shared). */
async function coldBuild(platform: string, tag: string): Promise<number> {
  const b = debian.builder(`${tag}/bookworm-${platform.split('/')[1]}`, { suite: 'bookworm', platforms: [platform], network: 'host' });
  const jq = image(`${tag}/jq-${platform.split('/')[1]}`)
    .builder(b)
    .packages('jq')
    .entrypoint('/usr/bin/jq')
    .user('nobody');
  const state = mkdtempSync(join(tmpdir(), 'imgsdk-bench-state-'));
  const out = mkdtempSync(join(tmpdir(), 'imgsdk-bench-out-'));
  const docker = new Docker();
  const ref = builderRef(b.def, bootstrapKey(forPlatform(b.def, platform) as BuilderDef));
  try {
    const t = process.hrtime.bigint();
    const r = await deploy(app(jq), { stateDir: state, assemblyDir: out, load: false });
    const s = Number(process.hrtime.bigint() - t) / 1e9;
    if (!r.ok) throw new Error(`${platform}: ${r.images.map((i) => i.reason).join('; ')}`);
    return s;
  } finally {
    rmSync(state, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
    await docker
      .getImage(ref)
      .remove({ force: true })
      .catch(() => undefined);
  }
}

export async function run(): Promise<void> {
  const e = emulation('linux/arm64');
  if (!e.ok) throw new Error(e.how);
  const tag = `imgsdk-bench-${randomBytes(3).toString('hex')}`;
  const amd64 = await coldBuild('linux/amd64', tag);
  const arm64 = await coldBuild('linux/arm64', tag);
  console.log(`cold build of jq, linux/amd64 (native, baseline): ${amd64.toFixed(1)} s`);
  console.log(`cold build of jq, linux/arm64 (${e.how}): ${arm64.toFixed(1)} s = ${(arm64 / amd64).toFixed(2)}x the amd64 build`);
}
