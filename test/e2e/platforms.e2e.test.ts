/**
 * One image for linux/amd64 and linux/arm64: built for real (the arm64 builder
 * bootstrapped with mmdebstrap --arch, phase 1 emulated by qemu-user-static),
 * pushed as an image index to a loopback registry, and pulled back and run on
 * each platform.
 */
import { execFileSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, debian, deploy, image, type DeployEvent } from '../../src';
import { emulation } from '../../src/runtime/deploy/targets';
import { tempDir } from './_app';
import { engineOrSkip } from '../_kit/engine';
import { NS, removeNamespace, startRegistry } from './_ship';

// The builder of the other e2e tests, naming two platforms: its amd64 builder image is theirs (the same
// bootstrap key). Host networking: phase 1 needs no bridge (the shared engine's may be gone).
const bookworm = debian.builder('imgsdk-e2e/bookworm', { suite: 'bookworm', platforms: ['linux/amd64', 'linux/arm64'], network: 'host' });
// coreutils for `uname` and `od`: the image can say which machine it runs on and what its jq is.
const jq = image(`${NS}/jq`).builder(bookworm).packages('jq', 'coreutils').entrypoint('/usr/bin/jq').user('nobody').debug();

/** Whether arm64 programs run here; without, a clear skip (a failure under IMGSDK_REQUIRE_ENGINE=1). */
function emulationOrSkip(): boolean {
  const e = emulation('linux/arm64');
  if (e.ok) return true;
  if (process.env.IMGSDK_REQUIRE_ENGINE === '1') throw new Error(`${e.how} (IMGSDK_REQUIRE_ENGINE=1, so this fails instead of skipping)`);
  console.log(`  skipped: ${e.how}`);
  return false;
}

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

test('an image for linux/amd64 and linux/arm64 is pushed as one index; pulled for arm64 it runs emulated as aarch64', async () => {
  const engine = await engineOrSkip();
  if (!engine || !emulationOrSkip()) return;
  const registry = await startRegistry();
  const state = tempDir('arch-e2e-state-');
  const out = tempDir('arch-e2e-out-');
  const oci = tempDir('arch-e2e-oci-');
  // When each platform's build started and ended, for the figures printed below.
  const phases: Record<string, number[]> = {};
  const onEvent = (e: DeployEvent) => {
    if (e.type !== 'log') return;
    const m = /^\[(linux\/\w+)\] /.exec(e.line) ?? /^(linux\/\w+): (built|cached)/.exec(e.line);
    if (m) (phases[m[1]] ??= []).push(Date.now());
  };
  const ref = `${registry.address}/${NS}/jq:latest`;
  try {
    const started = Date.now();
    // With a lock, as `imgsdk deploy` always has: resolved on the host (amd64), pinning arm64 by version.
    const lockFile = `${state.dir}/imgsdk.lock`;
    const r = await deploy(app(jq), { stateDir: state.dir, assemblyDir: out.dir, lockFile, push: registry.address, oci: oci.dir, onEvent });
    assert.ok(r.ok, JSON.stringify(r.images.map((i) => [i.id, i.status, i.reason])));
    const result = r.images[0];
    assert.equal(
      result.platforms!.map((p) => p.platform),
      ['linux/amd64', 'linux/arm64'],
    );
    const [amd, arm] = result.platforms!;
    assert.is.not(amd.digest, arm.digest);
    for (const [p, t] of Object.entries(phases))
      console.log(`  # ${p}: ${((t[t.length - 1] - t[0]) / 1000).toFixed(1)} s (builder, phase 1, pipeline, phase 2)`);
    console.log(`  # deploy of both platforms: ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // The registry has an OCI image index under each tag, listing both platforms.
    assert.ok(
      result.pushed!.some((p) => p.ref === ref),
      JSON.stringify(result.pushed),
    );
    const raw = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], { encoding: 'utf8' })) as {
      mediaType: string;
      manifests: { platform: { architecture: string; os: string } }[];
    };
    assert.is(raw.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.equal(
      raw.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`),
      ['linux/amd64', 'linux/arm64'],
    );
    // The debug variants, one per platform (busybox-static from that platform's builder), are an index too.
    const debug = JSON.parse(
      execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.address}/${NS}/jq:debug`], {
        encoding: 'utf8',
      }),
    ) as typeof raw;
    assert.equal(
      debug.manifests.map((m) => m.platform.architecture),
      ['amd64', 'arm64'],
    );
    // So has the OCI layout.
    const layout = JSON.parse(
      execFileSync('skopeo', ['inspect', '--raw', `oci:${oci.dir}:${NS}/jq:latest`], { encoding: 'utf8' }),
    ) as typeof raw;
    assert.equal(
      layout.manifests.map((m) => m.platform.architecture),
      ['amd64', 'arm64'],
    );

    // The arm64 builder image says arm64 in its config (Docker 20.10 ignores docker import's platform).
    const builders = docker('images', '--filter', 'label=org.imgsdk.builder=imgsdk-e2e/bookworm', '--format', '{{.ID}}').split('\n');
    assert.ok(
      builders.some((b) => docker('image', 'inspect', '--format', '{{.Architecture}}/{{.Variant}}', b) === 'arm64/v8'),
      'an arm64 builder image',
    );

    // The local engine got the host's platform under the image's tags.
    assert.is(docker('image', 'inspect', '--format', '{{.Architecture}}', `${NS}/jq:latest`), 'amd64');

    // Pulled for arm64: the machine is aarch64 (emulated), jq works, and jq is an aarch64 ELF file (e_machine 183).
    docker('pull', '-q', '--platform', 'linux/arm64', ref);
    assert.is(docker('image', 'inspect', '--format', '{{.Architecture}}', ref), 'arm64');
    assert.is(
      docker('run', '--rm', '--network', 'none', '--platform', 'linux/arm64', '--entrypoint', '/usr/bin/uname', ref, '-m'),
      'aarch64',
    );
    assert.is(docker('run', '--rm', '--network', 'none', '--platform', 'linux/arm64', ref, '-n', '[1,2,3] | add'), '6');
    assert.match(docker('run', '--rm', '--network', 'none', '--platform', 'linux/arm64', ref, '--version'), /^jq-1\.6/);
    assert.is(
      docker(
        'run',
        '--rm',
        '--network',
        'none',
        '--platform',
        'linux/arm64',
        '--entrypoint',
        '/busybox/uname',
        `${registry.address}/${NS}/jq:debug`,
        '-m',
      ),
      'aarch64',
    );
    assert.is(
      docker(
        'run',
        '--rm',
        '--network',
        'none',
        '--platform',
        'linux/arm64',
        '--entrypoint',
        '/usr/bin/od',
        ref,
        '-An',
        '-tu2',
        '-j18',
        '-N2',
        '/usr/bin/jq',
      ).trim(),
      '183',
    );

    // Pulled for amd64, the same tag runs natively.
    docker('pull', '-q', '--platform', 'linux/amd64', ref);
    assert.is(
      docker('run', '--rm', '--network', 'none', '--platform', 'linux/amd64', '--entrypoint', '/usr/bin/uname', ref, '-m'),
      'x86_64',
    );

    // A second deploy builds nothing on either platform.
    const again = await deploy(app(jq), { stateDir: state.dir, assemblyDir: out.dir, lockFile });
    assert.equal(
      again.images[0].platforms!.map((p) => p.status),
      ['cached', 'cached'],
    );

    // --platform linux/arm64: the engine gets the arm64 build under the image's tags, with nothing built again in phase 1.
    const lines: string[] = [];
    const armLocal = await deploy(app(jq), {
      stateDir: state.dir,
      assemblyDir: out.dir,
      lockFile,
      platform: 'linux/arm64',
      onEvent: (e) => e.type === 'building' && lines.push(e.phase),
    });
    assert.ok(armLocal.ok, armLocal.images[0].reason);
    assert.not.ok(lines.includes('phase1'), lines.join(' '));
    assert.is(docker('image', 'inspect', '--format', '{{.Architecture}}', `${NS}/jq:latest`), 'arm64');
    assert.is(docker('run', '--rm', '--network', 'none', '--entrypoint', '/usr/bin/uname', `${NS}/jq:latest`, '-m'), 'aarch64');
  } finally {
    await registry.stop();
    const e = await engineOrSkip();
    if (e) {
      await removeNamespace(e);
      await removeNamespace(e, registry.address);
    }
    state.remove();
    out.remove();
    oci.remove();
  }
});

test.run();
