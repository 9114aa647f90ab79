/**
 * Beyond one machine, here: three Docker engines of their own (own data roots,
 * sockets, bridges) and one loopback registry; the app's Argo Workflow run by a
 * stand-in for Argo (_argo-driver.ts), each task a separate `imgsdk node` process
 * on one of the engines with an empty state directory. The images are tiny
 * (busybox-static, GNU hello, a file, a copy) to stay within CI's time; the one
 * builder image is copied from the host engine into each, not bootstrapped three times.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deployApp } from '../../src';
import { readWorkflow, runWorkflow, type Attempt, type RunResult } from './_argo-driver';
import { argoWorkflow } from '../../src/app/ci/argo';
import { readAssembly } from '../../src/contract/read';
import { removeImages, tempDir } from './_app';
import { engineOrSkip } from '../_kit/engine';
import { copyImage, startEngines } from './_engines';
import { secondEngineUnavailable, type SecondEngine } from './_second-engine';
import { startRegistry, type Registry } from './_ship';

const BIN = resolve(__dirname, '..', '..', 'bin', 'imgsdk.js');
const NS = `imgsdk-scale-${randomBytes(4).toString('hex')}`;
const IDS = ['base', 'motd', 'hello', 'both'].map((n) => `${NS}/${n}`);

// network: 'host': the engines' own bridges have no NAT; apt reaches the archive through the host's network.
const APP = `
import { debian, image } from 'imgsdk';
const deb = debian.builder('${NS}/bookworm', { suite: 'bookworm', network: 'host' });
export const base = image('${NS}/base').builder(deb).packages('busybox-static').user('nobody').entrypoint('/bin/busybox');
export const motd = image('${NS}/motd').from(base).file('/etc/motd', 'built by a node\\n');
export const hello = image('${NS}/hello').from(base).packages('hello').entrypoint('/usr/bin/hello');
export const both = image('${NS}/both').from(motd).copy({ from: hello, paths: ['/usr/bin/hello'] });
`;

/** `imgsdk …` in the app's directory, to the end. */
function cli(dir: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 600_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `imgsdk node …` as a process on `engine` with its own state directory; its result. */
function node(
  dir: string,
  engine: string,
  args: string[],
): Promise<{ code: number | null; result: Record<string, unknown>; stderr: string }> {
  const pod = tempDir('imgsdk-e2e-scale-pod-');
  const child = spawn(process.execPath, [BIN, 'node', ...args], {
    cwd: dir,
    env: { ...process.env, DOCKER_HOST: engine, IMGSDK_STATE_DIR: join(pod.dir, 'state'), IMGSDK_OUTDIR: join(pod.dir, 'out') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((res) =>
    child.on('close', (code) => {
      pod.remove();
      res({ code, result: JSON.parse(out.trim().split('\n').pop() || '{}') as Record<string, unknown>, stderr: err });
    }),
  );
}

/** Tags of a repository in the registry. */
async function tagsOf(registry: Registry, repo: string): Promise<string[]> {
  const res = await fetch(`http://${registry.address}/v2/${repo}/tags/list`);
  return res.ok ? (((await res.json()) as { tags: string[] | null }).tags ?? []).sort() : [];
}

const finalOf = (r: RunResult, task: string) => r.attempts.filter((a) => a.task === task).pop()!;

test('three engines run the Argo DAG of an app: the digests of one machine, every key built once, an interrupted node converges on retry, nothing left behind', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const why = secondEngineUnavailable();
  if (why) {
    if (process.env.IMGSDK_REQUIRE_ENGINE === '1') throw new Error(`${why} (IMGSDK_REQUIRE_ENGINE=1)`);
    console.log(`  skipped: ${why}`);
    return;
  }
  const app = tempDir('imgsdk-e2e-scale-app-');
  const single = tempDir('imgsdk-e2e-scale-single-');
  let engines: SecondEngine[] = [];
  let registry: Registry | undefined;
  let builderRef: string | undefined;
  const t0 = Date.now();
  const took = (what: string) => console.log(`  ${what}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  try {
    writeFileSync(join(app.dir, 'images.ts'), APP);
    // One machine: the reference digests, a deploy of the app's assembly (synthesized as every node does; no lock to resolve).
    const synth = cli(app.dir, ['synth', '-o', join(single.dir, 'out')]);
    assert.is(synth.code, 0, synth.stderr);
    const one = await deployApp({ app: join(single.dir, 'out'), state: join(single.dir, 'state') });
    assert.ok(one.ok, JSON.stringify(one.images.map((i) => [i.id, i.status, i.reason])));
    const reference = new Map(one.images.map((i) => [i.id, i.digest!]));
    builderRef = (await docker.listImages()).flatMap((i) => i.RepoTags ?? []).find((t) => t.startsWith(`imgsdk-builder/${NS}-bookworm:`));
    assert.ok(builderRef, 'the builder image of the app is in the host engine');

    took('one machine');
    [engines, registry] = await Promise.all([startEngines(3), startRegistry()]);
    await copyImage(docker, builderRef!, engines);
    took('three engines up, the builder in each');
    const plan = JSON.parse(cli(app.dir, ['graph', '--format', 'json']).stdout) as { images: Record<string, { key: string }> };
    assert.equal(Object.keys(plan.images).sort(), [...IDS].sort());

    // Idempotent, even at once: two nodes of one image on two engines, one cache entry, one digest.
    const twice = `${registry.address}/twice`;
    const [a, b] = await Promise.all([
      node(app.dir, engines[0].host, [`${NS}/base`, '--cache', twice]),
      node(app.dir, engines[1].host, [`${NS}/base`, '--cache', twice]),
    ]);
    assert.is(a.code, 0, a.stderr);
    assert.is(b.code, 0, b.stderr);
    assert.is(a.result.digest, reference.get(`${NS}/base`));
    assert.is(b.result.digest, reference.get(`${NS}/base`));
    const baseKey = plan.images[`${NS}/base`].key;
    assert.equal(await tagsOf(registry, `twice/${NS}/base`), [baseKey, `${baseKey}.build`], 'one entry');
    const again = await node(app.dir, engines[2].host, [`${NS}/base`, '--cache', twice]);
    assert.equal(
      [again.code, again.result.status, again.result.digest],
      [0, 'cached', reference.get(`${NS}/base`)],
      'a third run finds it in the cache',
    );

    took('one image twice at once, and again');
    // The workflow, on the three engines; the node of hello is interrupted in phase 1 (as Kubernetes stops a pod) once.
    const cache = `${registry.address}/ci`;
    // The file imgsdk ci argo writes for the app (the runner image is the cluster's; here the app's directory stands for it).
    const tasks = readWorkflow(
      argoWorkflow((await readAssembly(join(single.dir, 'out'))).manifest, { cache, runnerImage: 'imgsdk-runner' }),
    );
    const taskOf = (kind: 'build' | 'publish', id: string) =>
      tasks.find((t) => t.argv.includes(id) && t.argv.includes('--publish') === (kind === 'publish'))!.name;
    const helloTask = taskOf('build', `${NS}/hello`);
    const publishes = new Set(tasks.filter((t) => t.argv.includes('--publish')).map((t) => t.name));
    const builds = (r: RunResult) => r.attempts.filter((x) => !publishes.has(x.task));
    const first = await runWorkflow(tasks, {
      engines: engines.map((e) => e.host),
      cwd: app.dir,
      imgsdk: [process.execPath, BIN],
      interrupt: { task: helloTask, when: /: building \(phase1\)/ },
    });
    const show = (r: RunResult) =>
      r.attempts
        .map(
          (x: Attempt) =>
            `${x.task}#${x.attempt} on ${x.engine.slice(-20)}: exit ${x.exitCode} ${JSON.stringify(x.result)}${x.exitCode ? `\n${x.stderr}` : ''}`,
        )
        .join('\n');
    assert.ok(first.ok, show(first));

    took('the workflow');
    // Every digest is the single machine's.
    for (const id of IDS) {
      const build = finalOf(first, taskOf('build', id));
      assert.is(build.result?.digest, reference.get(id), `${id}: ${JSON.stringify(build.result)}`);
      assert.is(build.result?.key, plan.images[id].key);
      assert.is(finalOf(first, taskOf('publish', id)).result?.status, 'published');
    }
    // Every key built exactly once across the engines.
    const built = builds(first)
      .filter((x) => x.result?.status === 'built')
      .map((x) => x.result!.key as string)
      .sort();
    assert.equal(built, IDS.map((id) => plan.images[id].key).sort(), show(first));
    // The interrupted attempt said "retry me" (75), and its retry converged.
    const killed = first.attempts.filter((x) => x.interrupted);
    assert.is(killed.length, 1, show(first));
    assert.equal(
      [killed[0].task, killed[0].exitCode, (killed[0].result?.error as { retryable: boolean })?.retryable],
      [helloTask, 75, true],
    );
    assert.is(first.attempts.filter((x) => x.task === helloTask).length, 2);

    // Nothing left: no temp file in any node's state directory, no container in any engine,
    // no tag of the app's repositories on anything but its digest, one cache entry per key.
    assert.equal(
      first.attempts.flatMap((x) => x.tempFiles),
      [],
    );
    for (const e of engines) {
      assert.equal(
        (await e.docker.listContainers({ all: true })).map((c) => c.Names),
        [],
        `containers in ${e.host}`,
      );
      for (const img of await e.docker.listImages()) {
        for (const tag of img.RepoTags ?? []) {
          const id = IDS.find((i) => tag.startsWith(i + ':'));
          if (id) assert.is(img.Id, reference.get(id), `${tag} in ${e.host}`);
        }
      }
    }
    for (const id of IDS) {
      const key = plan.images[id].key;
      assert.equal(await tagsOf(registry, `ci/${id}`), [key, `${key}.build`], `${id}: one entry`);
    }

    // A fully cached re-run: nothing is built, everything comes from the cache.
    const cached = await runWorkflow(tasks, { engines: engines.map((e) => e.host), cwd: app.dir, imgsdk: [process.execPath, BIN] });
    assert.ok(cached.ok, show(cached));
    assert.equal(
      builds(cached).map((x) => x.result?.status),
      IDS.map(() => 'cached'),
      show(cached),
    );
    console.log(
      `  three engines: ${(first.wallMs / 1000).toFixed(1)} s (one node interrupted and retried), cached re-run ${(cached.wallMs / 1000).toFixed(1)} s`,
    );
  } finally {
    await Promise.all(engines.map((e) => e.stop()));
    await registry?.stop();
    await removeImages(docker, [...IDS, ...(builderRef ? [builderRef.split(':')[0]] : [])]);
    app.remove();
    single.remove();
  }
});

test.run();
