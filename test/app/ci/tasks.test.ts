import { app, assemble, debian, image } from 'imgsdk';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ciTasks, checkCiPlatform } from '../../../src/app/ci/tasks';
import { renderPlan, type GraphPlan } from '../../../src/app/graph';
import { UsageError } from '../../../src/contract/errors';
import { fixture, twoPlatforms } from './_apps';

const CACHE = 'registry.example.com/ci';

test('one build per image and platform and one publish per image, in build order', () => {
  const m = twoPlatforms();
  const tasks = ciTasks(m, { cache: CACHE });
  const plan = JSON.parse(renderPlan(m)) as GraphPlan;
  for (const id of Object.keys(plan.images)) {
    assert.equal(
      tasks.filter((t) => t.image === id && t.kind === 'build').map((t) => t.platform),
      ['linux/amd64', 'linux/arm64'],
      id,
    );
    assert.is(tasks.filter((t) => t.image === id && t.kind === 'publish').length, 1, id);
  }
  const levelOf = (id: string) => plan.images[id].level;
  tasks.forEach((t, i) => i && assert.ok(levelOf(tasks[i - 1].image) <= levelOf(t.image), `${t.name} after ${tasks[i - 1].name}`));
});

test("a build waits for exactly the builds of its own dependencies on its platform (the plan's edges), a publish for its image's builds", () => {
  for (const m of [twoPlatforms(), fixture()]) {
    const tasks = ciTasks(m, { cache: CACHE });
    const byName = new Map(tasks.map((t) => [t.name, t]));
    const plan = JSON.parse(renderPlan(m)) as GraphPlan;
    for (const t of tasks) {
      const deps = t.dependencies.map((d) => byName.get(d)!);
      if (t.kind === 'build') {
        assert.equal(deps.map((d) => d.image).sort(), [...plan.images[t.image].dependsOn].sort(), t.name);
        assert.ok(
          deps.every((d) => d.kind === 'build' && d.platform === t.platform),
          t.name,
        );
        assert.is(t.key, t.platform ? plan.images[t.image].platforms![t.platform] : plan.images[t.image].key, `${t.name}: the plan's key`);
      } else {
        assert.equal(
          deps.map((d) => d.name),
          tasks.filter((b) => b.kind === 'build' && b.image === t.image).map((b) => b.name),
          t.name,
        );
      }
    }
  }
});

test('the node command of a build names the image, its platform, the cache and the app; a publish adds --publish and --push', () => {
  const tasks = ciTasks(twoPlatforms(), { cache: 'https://registry.example.com/ci/', push: 'registry.example.com/team', app: 'images.ts' });
  const arm = tasks.find((t) => t.image === 'acme/jq' && t.platform === 'linux/arm64')!;
  assert.equal(arm.argv, ['node', 'acme/jq', '--platform', 'linux/arm64', '--cache', 'registry.example.com/ci', '--app', 'images.ts']);
  const pub = tasks.find((t) => t.image === 'acme/jq' && t.kind === 'publish')!;
  assert.equal(pub.argv, [
    'node',
    'acme/jq',
    '--publish',
    '--cache',
    'registry.example.com/ci',
    '--push',
    'registry.example.com/team',
    '--app',
    'images.ts',
  ]);
  const trusting = ciTasks(twoPlatforms(), { cache: CACHE, trustKeys: ['keys/ci.pub', 'keys/old.pub'] });
  assert.equal(trusting[0].argv.slice(-4), ['--trust-key', 'keys/ci.pub', '--trust-key', 'keys/old.pub'], 'a build trusts the keys given');
  const plain = ciTasks(fixture(), { cache: CACHE }).find((t) => t.kind === 'build')!;
  assert.not.ok(plain.argv.includes('--platform'), "an image that names no platform is built for the runner's");
});

test('task names are unique, the same for the same app, and valid as GitHub job ids and Argo task names, also for ids that map to one name or are long', () => {
  const tasks = ciTasks(twoPlatforms(), { cache: CACHE });
  assert.equal(
    tasks.map((t) => t.name),
    ciTasks(twoPlatforms(), { cache: CACHE }).map((t) => t.name),
  );
  assert.is(tasks.find((t) => t.image === 'acme/jq' && t.platform === 'linux/arm64')!.name, 'build-acme-jq-linux-arm64');
  // Names as ciTasks makes them for clashing and long ids (the naming sees only ids and platforms).
  const deb = debian.builder('acme/bookworm', { suite: 'bookworm' });
  const long = `acme/${'x'.repeat(80)}`;
  const m = assemble(
    app(image('a/b-c').builder(deb), image('a-b/c').builder(deb), image('a.b/c').builder(deb), image(long).builder(deb)),
  ).manifest;
  const names = ciTasks(m, { cache: CACHE }).map((t) => t.name);
  assert.is(new Set(names).size, names.length, names.join(' '));
  for (const n of names) assert.match(n, /^[a-z][a-z0-9-]{0,62}$/);
});

test("a selection brings its dependencies; an id or glob that matches nothing is one error naming the app's images", () => {
  const tasks = ciTasks(fixture(), { cache: CACHE, select: ['acme/tools'] });
  assert.equal([...new Set(tasks.map((t) => t.image))].sort(), ['acme/tools', 'acme/web', 'kubler/glibc', 'mynamespace/nmap']);
  assert.equal([...new Set(ciTasks(fixture(), { cache: CACHE, select: ['acme/w*'] }).map((t) => t.image))], ['acme/web']);
  try {
    ciTasks(fixture(), { cache: CACHE, select: ['acme/nope'] });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, UsageError);
    assert.match((e as Error).message, /no image matches "acme\/nope" \(the app's images: .*acme\/web/);
  }
});

test('a cache or push that is no registry reference is an error naming the option', () => {
  assert.throws(() => ciTasks(fixture(), { cache: 'not a registry' }), /--cache takes REGISTRY\/PREFIX .*"not a registry"/);
  assert.throws(() => ciTasks(fixture(), { cache: CACHE, push: 'x y' }), /--push takes REGISTRY\[\/PREFIX\]/);
});

test("a platform no builder of the app has, or one imgsdk does not know, is an error naming the app's platforms", () => {
  assert.is(checkCiPlatform(twoPlatforms(), 'arm64', '--runner'), 'linux/arm64');
  assert.throws(
    () => checkCiPlatform(fixture(), 'linux/arm64', '--runner'),
    /--runner: no builder of the app builds for linux\/arm64 \(the app's platforms: linux\/amd64\)/,
  );
  assert.throws(
    () => checkCiPlatform(twoPlatforms(), 'linux/s390x', '--runner'),
    /--runner: unknown platform "linux\/s390x" \(known: linux\/amd64, linux\/arm64\)/,
  );
});

test.run();
