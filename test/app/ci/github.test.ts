import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { app, assemble, debian, image } from 'imgsdk';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { githubWorkflow } from '../../../src/app/ci/github';
import { ciTasks } from '../../../src/app/ci/tasks';
import { githubErrors } from './_parsers';
import { fixture, repositoryApps, twoPlatforms } from './_apps';

const OPTS = { cache: 'ghcr.io/acme/cache', push: 'registry.example.com/team', app: 'images.ts' };

interface Job {
  name: string;
  needs?: string[];
  'runs-on': string;
  steps: { name?: string; uses?: string; run?: string; with?: Record<string, string>; env?: Record<string, string> }[];
}
const jobsOf = (yaml: string) => (parse(yaml) as { jobs: Record<string, Job> }).jobs;

test("GitHub's workflow parser reads the workflow with no error, for a two-platform app and for the fixture app", async () => {
  for (const [m, extra] of [
    [twoPlatforms(), { runners: { 'linux/arm64': 'ubuntu-24.04-arm' } }],
    [twoPlatforms(), {}],
    [fixture(), { signKeySecret: 'SIGN_KEY' }],
  ] as const) {
    const r = await githubErrors(githubWorkflow(m, { ...OPTS, ...extra }));
    assert.equal(r.errors, []);
    assert.equal(
      r.jobs.map((j) => j.id),
      ciTasks(m, OPTS).map((t) => t.name),
    );
  }
});

test("the workflows of the repository's images.ts and of every example parse with no error", async () => {
  for (const [path, m] of repositoryApps()) {
    const r = await githubErrors(githubWorkflow(m, { ...OPTS, app: path }));
    assert.equal(r.errors, [], path);
    assert.equal(r.jobs.length, ciTasks(m, OPTS).length, path);
  }
});

test('the parser is a real check: a job that needs an unknown job, or a misspelt key, is reported', async () => {
  const yaml = githubWorkflow(twoPlatforms(), OPTS);
  const unknown = await githubErrors(yaml.replace('needs: [build-acme-base-linux-amd64]', 'needs: [build-acme-nothing]'));
  assert.match(unknown.errors.join('\n'), /depends on unknown job 'build-acme-nothing'/);
  const misspelt = await githubErrors(yaml.replace(/runs-on:/, 'run-on:'));
  assert.ok(misspelt.errors.length > 0);
});

test("each job needs exactly its task's dependencies, as GitHub reads them (not a whole level)", async () => {
  const m = twoPlatforms();
  const { jobs } = await githubErrors(githubWorkflow(m, OPTS));
  const tasks = new Map(ciTasks(m, OPTS).map((t) => [t.name, t]));
  for (const j of jobs) assert.equal(j.needs, [...tasks.get(j.id)!.dependencies], j.id);
  // acme/jq waits for acme/base only, on its own platform; acme/tools for base and jq.
  assert.equal(jobs.find((j) => j.id === 'build-acme-jq-linux-arm64')!.needs, ['build-acme-base-linux-arm64']);
});

test('a platform with a native runner runs there without QEMU; without one it runs on the default runner with QEMU', () => {
  const native = jobsOf(githubWorkflow(twoPlatforms(), { ...OPTS, runners: { 'linux/arm64': 'ubuntu-24.04-arm' } }))[
    'build-acme-jq-linux-arm64'
  ];
  assert.is(native['runs-on'], 'ubuntu-24.04-arm');
  assert.not.ok(native.steps.some((s) => s.run?.includes('qemu')));
  const emulated = jobsOf(githubWorkflow(twoPlatforms(), OPTS))['build-acme-jq-linux-arm64'];
  assert.is(emulated['runs-on'], 'ubuntu-latest');
  assert.match(emulated.steps.find((s) => s.run?.includes('apt-get'))!.run!, /mmdebstrap qemu-user-static binfmt-support arch-test/);
  const amd = jobsOf(githubWorkflow(twoPlatforms(), OPTS))['build-acme-jq-linux-amd64'];
  assert.not.ok(amd.steps.some((s) => s.run?.includes('qemu')));
});

test("every job logs in to the cache's and the push registry's host from the named secrets, and runs its task's node command", () => {
  const m = twoPlatforms();
  const jobs = jobsOf(githubWorkflow(m, { ...OPTS, userSecret: 'U', passwordSecret: 'P' }));
  for (const t of ciTasks(m, OPTS)) {
    const steps = jobs[t.name].steps;
    const logins = steps.filter((s) => s.uses === 'docker/login-action@v3').map((s) => s.with!);
    assert.equal(
      logins.map((w) => w.registry),
      ['ghcr.io', 'registry.example.com'],
    );
    assert.ok(logins.every((w) => w.username === '${{ secrets.U }}' && w.password === '${{ secrets.P }}'));
    assert.is(steps.at(-1)!.run!, `bash -c "$IMGSDK_NODE" node npx imgsdk ${t.argv.join(' ')}`, t.name);
  }
});

test("the job's run step (the workflow's retry loop around the node command) retries on exit 75 only, up to --retries times", () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-ci-retry-'));
  try {
    const workflow = parse(githubWorkflow(fixture(), { ...OPTS, retries: 2 })) as {
      env: Record<string, string>;
      jobs: Record<string, Job>;
    };
    const run = workflow.jobs['build-acme-web'].steps.at(-1)!.run!;
    // npx and sleep stand-ins: npx exits with the codes listed in $CODES, one per call, and counts its calls.
    writeFileSync(
      join(dir, 'npx'),
      '#!/bin/sh\nn=$(cat "$DIR/calls" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$DIR/calls"\nexit $(echo $CODES | cut -d" " -f$n)\n',
    );
    writeFileSync(join(dir, 'sleep'), '#!/bin/sh\n');
    chmodSync(join(dir, 'npx'), 0o755);
    chmodSync(join(dir, 'sleep'), 0o755);
    const attempt = (codes: string) => {
      rmSync(join(dir, 'calls'), { force: true });
      const r = spawnSync('bash', ['-e', '-c', run], {
        env: { ...process.env, ...workflow.env, PATH: `${dir}:${process.env.PATH}`, DIR: dir, CODES: codes },
      });
      return { status: r.status, calls: Number(spawnSync('cat', [join(dir, 'calls')], { encoding: 'utf8' }).stdout) };
    };
    assert.equal(attempt('75 75 0'), { status: 0, calls: 3 }, 'retried twice, then done');
    assert.equal(attempt('75 75 75 0'), { status: 75, calls: 3 }, 'gives up after two retries');
    assert.equal(attempt('1 0'), { status: 1, calls: 1 }, 'a permanent failure is not retried');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a workflow over GitHub's 500 KB file limit is an error that says how to split it", () => {
  const deb = debian.builder('load/bookworm', { suite: 'bookworm', platforms: ['linux/amd64', 'linux/arm64'] });
  const parent = image('load/parent').builder(deb);
  const children = Array.from({ length: 400 }, (_, i) => image(`load/child-${i}`).from(parent));
  const m = assemble(app(parent, ...children)).manifest;
  assert.throws(
    () => githubWorkflow(m, OPTS),
    /the workflow of 1203 jobs is \d+ KB; GitHub starts no run of a workflow file over 500 KB: write one workflow per group of images/,
  );
  assert.ok(Buffer.byteLength(githubWorkflow(m, { ...OPTS, select: ['load/child-1*'] })) < 500_000, 'a group of them fits');
});

test('the same app and options give the same bytes', () => {
  assert.is(githubWorkflow(twoPlatforms(), OPTS), githubWorkflow(twoPlatforms(), OPTS));
});

test("a runner for a platform no builder has is an error naming the app's platforms", () => {
  assert.throws(
    () => githubWorkflow(fixture(), { ...OPTS, runners: { 'linux/arm64': 'ubuntu-24.04-arm' } }),
    /--runner: no builder of the app builds for linux\/arm64/,
  );
  assert.throws(
    () => githubWorkflow(twoPlatforms(), { ...OPTS, runners: { arm64: 'a', 'linux/arm64': 'b' } }),
    /platform linux\/arm64 is given two runners \(a, b\)/,
  );
});

test.run();
