import { parse } from 'yaml';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { argoCommands, argoWorkflow } from '../../../src/app/ci/argo';
import { ciTasks } from '../../../src/app/ci/tasks';
import { validateArgo } from './_parsers';
import { fixture, repositoryApps, twoPlatforms } from './_apps';

const OPTS = {
  cache: 'registry.example.com/ci',
  push: 'registry.example.com/team',
  runnerImage: 'registry.example.com/team/runner:1',
  app: 'images.ts',
};

interface Doc {
  apiVersion: string;
  kind: string;
  spec: {
    entrypoint: string;
    templates: {
      name: string;
      volumes?: object[];
      dag?: {
        tasks: { name: string; template: string; dependencies?: string[]; arguments: { parameters: { name: string; value: string }[] } }[];
      };
      nodeSelector?: Record<string, string>;
      retryStrategy?: { limit: number; expression: string };
      container?: { env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[] };
    }[];
  };
}

test('the Workflow validates with the Argo Workflows model, for a two-platform app and for the fixture app', async () => {
  for (const m of [twoPlatforms(), fixture()]) {
    const doc = parse(argoWorkflow(m, OPTS)) as Doc;
    assert.is(doc.apiVersion, 'argoproj.io/v1alpha1');
    assert.is(doc.kind, 'Workflow');
    await validateArgo(doc);
  }
});

test("the Workflows of the repository's images.ts and of every example validate", async () => {
  for (const [path, m] of repositoryApps()) await validateArgo(parse(argoWorkflow(m, { ...OPTS, app: path })));
});

test('the model is a real check: a Workflow with a malformed task is refused', async () => {
  const doc = parse(argoWorkflow(twoPlatforms(), OPTS)) as Doc;
  (doc.spec.templates[0].dag!.tasks[1] as unknown as { dependencies: unknown }).dependencies = 'build-acme-base-linux-amd64';
  try {
    await validateArgo(doc);
    assert.unreachable('validated');
  } catch (e) {
    assert.match((e as Error).message, /dependencies must be array/);
  }
});

test("a DAG task per build and publish; its dependencies are the tasks' (the plan's edges); its parameters are the image, platform and architecture", () => {
  const m = twoPlatforms();
  const doc = parse(argoWorkflow(m, OPTS)) as Doc;
  const dag = doc.spec.templates.find((t) => t.name === doc.spec.entrypoint)!.dag!.tasks;
  const tasks = ciTasks(m, OPTS);
  assert.equal(
    dag.map((t) => t.name),
    tasks.map((t) => t.name),
  );
  dag.forEach((d, i) => {
    assert.equal(d.dependencies ?? [], tasks[i].dependencies, d.name);
    assert.is(d.template, tasks[i].kind);
    const p = Object.fromEntries(d.arguments.parameters.map((x) => [x.name, x.value]));
    assert.is(p.image, tasks[i].image);
    if (tasks[i].kind === 'build') assert.is(p.arch, tasks[i].platform!.split('/')[1]);
  });
});

test("the commands Argo would run are the tasks' node commands (an image that names no platform gets an empty --platform: the host's)", () => {
  for (const m of [twoPlatforms(), fixture()]) {
    const commands = argoCommands(argoWorkflow(m, OPTS));
    const tasks = ciTasks(m, OPTS);
    assert.equal(
      commands.map((c) => c.name),
      tasks.map((t) => t.name),
    );
    commands.forEach((c, i) => {
      const t = tasks[i];
      const argv = t.kind === 'build' && !t.platform ? [...t.argv.slice(0, 2), '--platform', '', ...t.argv.slice(2)] : t.argv;
      assert.equal(c.argv, ['imgsdk', ...argv], c.name);
      assert.equal(c.dependencies, t.dependencies);
      assert.is(c.retries, 3);
    });
  }
});

test('builds are placed on nodes of their platform and retried only on exit 75 or a lost pod; the registry credentials come from a Secret', () => {
  const doc = parse(argoWorkflow(twoPlatforms(), { ...OPTS, registrySecret: 'team-registry', retries: 5 })) as Doc;
  const build = doc.spec.templates.find((t) => t.name === 'build')!;
  assert.equal(build.nodeSelector, { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': '{{inputs.parameters.arch}}' });
  assert.is(build.retryStrategy!.limit, 5);
  assert.is(build.retryStrategy!.expression, 'lastRetry.status == "Error" || asInt(lastRetry.exitCode) == 75');
  const env = new Map(build.container!.env.map((e) => [e.name, e]));
  assert.equal(env.get('IMGSDK_REGISTRY_PASSWORD')!.valueFrom!.secretKeyRef, { name: 'team-registry', key: 'password' });
  assert.is(env.get('DOCKER_HOST')!.value, 'tcp://$(IMGSDK_NODE_IP):2376', 'the engine of the node the pod runs on');
  assert.is(env.get('DOCKER_TLS_VERIFY')!.value, '1');
});

test("a unix:// engine is the node's socket, mounted from the host; then no TLS", async () => {
  const text = argoWorkflow(fixture(), { ...OPTS, dockerHost: 'unix:///run/podman/podman.sock' });
  const doc = parse(text) as Doc;
  await validateArgo(doc);
  const build = doc.spec.templates.find((t) => t.name === 'build')!;
  assert.equal(build.volumes, [{ name: 'engine-socket', hostPath: { path: '/run/podman/podman.sock', type: 'Socket' } }]);
  assert.not.ok(build.container!.env.some((e) => e.name === 'DOCKER_TLS_VERIFY'));
});

test('the same app and options give the same bytes', () => {
  assert.is(argoWorkflow(twoPlatforms(), OPTS), argoWorkflow(twoPlatforms(), OPTS));
});

test('images that name no platform go to nodes of --host-platform; an unknown one is an error naming the known', () => {
  const doc = parse(argoWorkflow(fixture(), { ...OPTS, hostPlatform: 'linux/arm64' })) as Doc;
  const builds = doc.spec.templates[0].dag!.tasks.filter((t) => t.template === 'build');
  assert.ok(builds.every((t) => t.arguments.parameters.find((p) => p.name === 'arch')!.value === 'arm64'));
  assert.throws(
    () => argoWorkflow(fixture(), { ...OPTS, hostPlatform: 'linux/s390x' }),
    /--host-platform: unknown platform "linux\/s390x" \(known: linux\/amd64, linux\/arm64\)/,
  );
});

test.run();
