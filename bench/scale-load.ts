/**
 * The load figure of issue 25 (outside `npm test`: minutes, needs root and dockerd):
 * a generated catalogue of small images (a few parents with busybox-static, many
 * children that add a file) run as an Argo Workflow by the stand-in for Argo
 * (test/e2e/_argo-driver.ts) on three engines, then on one fresh engine, then again
 * on the three with everything cached. Prints wall times, builds and cache hits, the
 * registry's bytes, and the load average while each ran (the machine is shared).
 *
 *   npm run scale:load -- [--images 200] [--parents 4] [--platforms linux/amd64,linux/arm64] [--parallelism 6]
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { readAssembly } from '../src/contract/read';
import { engineFromDocker } from '../src/runtime/engine/docker';
import { ensureDebianBuilderImage } from '../src/runtime/phase1/builders/debian';
import { readWorkflow, runWorkflow, type RunResult } from '../test/e2e/_argo-driver';
import { copyImage, startEngines } from '../test/e2e/_engines';
import { secondEngineUnavailable, type SecondEngine } from '../test/e2e/_second-engine';
import { startRegistry, type Registry } from '../test/e2e/_ship';
import { argoWorkflow } from '../src/app/ci/argo';

const BIN = resolve(__dirname, '..', 'bin', 'imgsdk.js');

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '200' },
    parents: { type: 'string', default: '4' },
    platforms: { type: 'string', default: 'linux/amd64' },
    parallelism: { type: 'string', default: '6' },
  },
});
const IMAGES = Number(values.images);
const PARENTS = Number(values.parents);
const PLATFORMS = values.platforms!.split(',').filter(Boolean);
const PARALLELISM = Number(values.parallelism);

/** The catalogue: PARENTS parents (busybox-static and a file), the rest children of them adding a file each. */
function catalogue(ns: string): string {
  const lines = [
    `import { debian, image } from 'imgsdk';`,
    `const deb = debian.builder('${ns}/bookworm', { suite: 'bookworm', network: 'host'${PLATFORMS.length > 1 || PLATFORMS[0] !== 'linux/amd64' ? `, platforms: ${JSON.stringify(PLATFORMS)}` : ''} });`,
  ];
  for (let p = 0; p < PARENTS; p++)
    lines.push(
      `const p${p} = image('${ns}/parent-${p}').builder(deb).packages('busybox-static').file('/etc/parent', '${p}\\n').user('nobody').entrypoint('/bin/busybox');`,
      `export { p${p} };`,
    );
  for (let c = 0; c < IMAGES - PARENTS; c++)
    lines.push(`export const c${c} = image('${ns}/child-${c}').from(p${c % PARENTS}).file('/etc/child', '${c}\\n').env('CHILD', '${c}');`);
  return lines.join('\n') + '\n';
}

/** Bytes under a directory. */
function du(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? du(p) : e.isFile() ? statSync(p).size : 0;
  }
  return n;
}

/** Runs the workflow, sampling the load average every 5 s. */
async function measured(what: string, run: () => Promise<RunResult>): Promise<RunResult & { load: number }> {
  const samples: number[] = [loadavg()[0]];
  const timer = setInterval(() => samples.push(loadavg()[0]), 5000);
  const r = await run().finally(() => clearInterval(timer));
  const load = samples.reduce((a, b) => a + b, 0) / samples.length;
  const results = r.attempts.filter((a) => a.exitCode === 0).map((a) => a.result?.status);
  const count = (s: string) => results.filter((x) => x === s).length;
  const retried = r.attempts.filter((a) => a.exitCode !== 0).length;
  console.log(
    `${what}: ${(r.wallMs / 1000).toFixed(1)} s, ${r.ok ? 'ok' : 'FAILED'}; ${count('built')} built, ${count('cached')} cached, ${count('published')} published; ${retried} failed attempts; load average ${load.toFixed(1)} (mean of 1-min samples)`,
  );
  if (!r.ok)
    for (const a of r.attempts.filter((x) => x.exitCode !== 0).slice(0, 5))
      console.log(`  ${a.task}#${a.attempt}: exit ${a.exitCode}\n${a.stderr.slice(-800)}`);
  return { ...r, load };
}

async function main(): Promise<void> {
  const why = secondEngineUnavailable();
  if (why) throw new Error(why);
  const docker = new Docker();
  const ns = `imgsdk-load-${randomBytes(4).toString('hex')}`;
  const app = mkdtempSync(join(tmpdir(), 'imgsdk-load-app-'));
  let engines: SecondEngine[] = [];
  let registry: Registry | undefined;
  const builderRefs: string[] = [];
  try {
    writeFileSync(join(app, 'images.ts'), catalogue(ns));
    const out = join(app, 'imgsdk.out');
    const synth = spawnSync(process.execPath, [BIN, 'synth', '--app', app, '-o', out], { encoding: 'utf8' });
    if (synth.status !== 0) throw new Error(synth.stderr);
    const asm = await readAssembly(out);
    const images = Object.values(asm.manifest.images);
    const builds = images.reduce((n, m) => n + (m.platforms ? Object.keys(m.platforms).length : 1), 0);
    console.log(
      `catalogue: ${images.length} images (${PARENTS} parents), ${asm.manifest.order.length} levels, ${builds} builds on ${PLATFORMS.join(', ')}`,
    );

    // The builder image (per platform) from the host engine, copied into every engine.
    const engine = engineFromDocker(docker);
    const b = asm.manifest.builders[`${ns}/bookworm`].def;
    for (const p of PLATFORMS)
      builderRefs.push((await ensureDebianBuilderImage(engine, b, { platform: p, log: (l) => console.log(`  ${l}`) })).ref);
    [engines, registry] = await Promise.all([startEngines(4), startRegistry()]);
    for (const ref of builderRefs) await copyImage(docker, ref, engines);
    const three = engines.slice(0, 3).map((e) => e.host);
    const one = [engines[3].host];

    // The file imgsdk ci argo writes; the nodes read the assembly synthesized once (--app), as the Kubernetes design plans once.
    const workflow = (prefix: string) =>
      argoWorkflow(asm.manifest, { cache: `${registry!.address}/${prefix}`, runnerImage: 'imgsdk-runner', app: out });
    const tasks = (prefix: string) => readWorkflow(workflow(prefix));
    const wf = workflow('three');
    console.log(`workflow: ${wf.split('\n').length} lines, ${Buffer.byteLength(wf)} bytes, ${tasks('three').length} tasks`);
    const opts = { cwd: app, imgsdk: [process.execPath, BIN], parallelism: PARALLELISM };
    await measured('3 engines', () => runWorkflow(tasks('three'), { ...opts, engines: three }));
    const bytes3 = du(registry.storage);
    console.log(`registry: ${(bytes3 / 1e6).toFixed(1)} MB after the 3-engine run`);
    await measured('3 engines, all cached', () => runWorkflow(tasks('three'), { ...opts, engines: three }));
    await measured('1 engine (fresh)', () => runWorkflow(tasks('one'), { ...opts, engines: one }));
    console.log(
      `registry: ${((du(registry.storage) - bytes3) / 1e6).toFixed(1)} MB more after the 1-engine run (its own prefix; layers are stored once per digest)`,
    );
  } finally {
    await Promise.all(engines.map((e) => e.stop()));
    await registry?.stop();
    for (const ref of builderRefs)
      await docker
        .getImage(ref)
        .remove()
        .catch(() => undefined);
    rmSync(app, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
