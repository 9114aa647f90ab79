import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gentoo } from '../../../src/sdk/builder';
import { executeClean, planClean } from '../../../src/runtime/deploy/clean';
import type { ContainerInfo, Engine, ImageInfo, VolumeInfo } from '../../../src/runtime/engine/engine';
import { readUsers, recordUses } from '../../../src/runtime/store/users';

const PORTAGE_IMAGE_ID = 'sha256:0123456789ab' + 'c'.repeat(52);

/**
 * A fake engine: labelled images, containers and volumes in memory (some volumes
 * mounted by a container, one not imgsdk's); removals recorded.
 */
function fakeEngine(): { engine: Engine; removed: string[] } {
  const removed: string[] = [];
  const images: ImageInfo[] = [
    {
      id: 'sha256:b1',
      repoTags: ['imgsdk-builder/acme-bookworm:abc'],
      labels: { 'org.imgsdk': '1', 'org.imgsdk.builder': 'acme/bookworm' },
      size: 1,
    },
    {
      id: 'sha256:i1',
      repoTags: ['acme/web:latest', 'acme/web:0123456789ab'],
      labels: { 'org.imgsdk.id': 'acme/web', 'org.imgsdk.key': 'k' },
      size: 1,
    },
    { id: 'sha256:x1', repoTags: ['someone/else:1'], labels: {}, size: 1 },
    { id: PORTAGE_IMAGE_ID, repoTags: ['gentoo/portage:latest'], labels: {}, size: 1 },
  ];
  const containers: ContainerInfo[] = [
    { id: 'c1', names: ['imgsdk-1234'], image: 'imgsdk-builder/acme-bookworm:abc', labels: { 'org.imgsdk': '1' }, state: 'exited' },
  ];
  const volumes: (VolumeInfo & { used: boolean })[] = [
    { name: 'imgsdk-binpkgs-kubler-bob', labels: {}, used: false },
    { name: 'imgsdk-binpkgs-kubler-gone', labels: {}, used: false },
    { name: 'imgsdk-binpkgs-kubler-busy', labels: {}, used: true },
    { name: 'imgsdk-distfiles', labels: {}, used: false },
    { name: 'imgsdk-portage-0123456789ab', labels: {}, used: false },
    { name: 'imgsdk-portage-20240430', labels: {}, used: false },
    { name: 'imgsdk-portage-20240501', labels: {}, used: false },
    { name: 'imgsdk-portage-20240502', labels: {}, used: true },
    { name: 'imgsdk-test-vol-x', labels: {}, used: false },
    { name: 'pgdata', labels: {}, used: false },
  ];
  const has = (labels: Readonly<Record<string, string>>, label?: string) => !label || label in labels;
  const engine = {
    host: 'fake',
    inspectImage: async (ref: string) => images.find((i) => i.id === ref || i.repoTags.includes(ref)) ?? null,
    listImages: async (o: { label?: string } = {}) => images.filter((i) => has(i.labels, o.label)),
    listContainers: async (o: { label?: string } = {}) => containers.filter((c) => has(c.labels, o.label)),
    listVolumes: async (o: { prefix?: string; unused?: boolean } = {}) =>
      volumes.filter((v) => v.name.startsWith(o.prefix ?? '') && !(o.unused && v.used)).map(({ name, labels }) => ({ name, labels })),
    removeContainer: async (id: string) => (removed.push(`container ${id}`), true),
    removeImage: async (id: string) => (removed.push(`image ${id}`), true),
    removeVolume: async (name: string) => (removed.push(`volume ${name}`), true),
  } satisfies Partial<Engine>;
  return { engine: engine as unknown as Engine, removed };
}

let dir: string;
let users: string;
let other: string;
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'imgsdk-clean-'));
  mkdirSync(join(dir, 'state', 'rootfs'), { recursive: true });
  writeFileSync(join(dir, 'state', 'rootfs', 'k.tar'), 'x');
  users = join(dir, 'users');
  other = join(dir, 'other-app', '.imgsdk');
  mkdirSync(other, { recursive: true });
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

const GENTOO_VOLUMES = [
  'imgsdk-binpkgs-kubler-bob',
  'imgsdk-binpkgs-kubler-gone',
  'imgsdk-distfiles',
  'imgsdk-portage-20240430',
  'imgsdk-portage-20240501',
];

test('a prune removes only the volumes this state directory used that no container, no builder of the app and no other app uses now', async () => {
  const { engine, removed } = fakeEngine();
  await recordUses(users, join(dir, 'state'), {
    builders: ['kubler/bob'],
    volumes: [...GENTOO_VOLUMES, 'imgsdk-binpkgs-kubler-busy', 'imgsdk-portage-0123456789ab'],
  });
  await recordUses(users, other, { volumes: ['imgsdk-binpkgs-kubler-gone'] });
  const bob = gentoo.builder('kubler/bob', { stage3: 'amd64-openrc' }); // portage: latest
  const fromImage = gentoo.builder('kubler/bob-img', { stage3: 'amd64-openrc', portage: 'gentoo/portage:latest' });
  const plan = await planClean(engine, {
    stateDir: join(dir, 'state'),
    usersDir: users,
    pruneVolumes: true,
    builders: [bob.def, fromImage.def],
    now: new Date('2024-05-01T12:00:00Z'),
  });
  assert.equal([plan.stateDir, plan.containers, plan.images], [null, [], []]);
  // Kept: today's `latest` snapshot, the snapshot of the portage image the engine has, the app's binpkgs,
  // the shared distfiles, volumes in use, another app's snapshot, and anything not a builder's volume.
  assert.equal(
    plan.volumes.map((v) => v.name),
    ['imgsdk-portage-20240430'],
  );
  assert.equal(plan.kept, [`volume imgsdk-binpkgs-kubler-gone (also used by ${other})`]);
  const r = await executeClean(engine, plan);
  assert.equal(removed, ['volume imgsdk-portage-20240430']);
  assert.equal(r.removed, { containers: 0, images: 0, tags: 0, volumes: 1, stateDir: false });
  assert.ok(existsSync(join(dir, 'state')));
  // The pruned volumes are no longer this state directory's: a second prune plans nothing.
  assert.equal(
    (
      await planClean(engine, {
        stateDir: join(dir, 'state'),
        usersDir: users,
        pruneVolumes: true,
        builders: [bob.def, fromImage.def],
        now: new Date('2024-05-01T12:00:00Z'),
      })
    ).volumes,
    [],
  );
});

test('a prune without any recorded use removes no volume of the engine', async () => {
  const { engine } = fakeEngine();
  const plan = await planClean(engine, { stateDir: join(dir, 'state'), usersDir: users, pruneVolumes: true });
  assert.equal(plan.volumes, []);
});

test('clean of an app that used no volume (Debian only) plans no volume, whoever else has them', async () => {
  const { engine, removed } = fakeEngine();
  await recordUses(users, join(dir, 'state'), { builders: ['acme/bookworm'] });
  await recordUses(users, other, { builders: ['kubler/bob'], volumes: GENTOO_VOLUMES });
  const plan = await planClean(engine, { stateDir: join(dir, 'state'), usersDir: users });
  assert.equal(plan.volumes, []);
  await executeClean(engine, plan);
  assert.not.ok(
    removed.some((r) => r.startsWith('volume')),
    removed.join(', '),
  );
});

test('a builder image another app uses is kept and said; the plan is exactly what the run removes', async () => {
  const { engine, removed } = fakeEngine();
  await recordUses(users, join(dir, 'state'), { builders: ['acme/bookworm'], volumes: ['imgsdk-distfiles', 'imgsdk-portage-20240430'] });
  await recordUses(users, other, { builders: ['acme/bookworm'], volumes: ['imgsdk-distfiles'] });
  const plan = await planClean(engine, {
    stateDir: join(dir, 'state'),
    usersDir: users,
    scope: { ids: ['acme/web'], builders: ['acme/bookworm'], keys: {} },
  });
  assert.equal(
    plan.images.map((i) => i.id),
    ['sha256:i1'],
  );
  assert.equal(
    plan.volumes.map((v) => v.name),
    ['imgsdk-portage-20240430'],
  );
  assert.equal(plan.kept, [
    `image imgsdk-builder/acme-bookworm:abc (also used by ${other})`,
    `volume imgsdk-distfiles (also used by ${other})`,
  ]);
  await executeClean(engine, plan);
  assert.equal(
    removed.filter((r) => !r.startsWith('container')),
    ['image sha256:i1', 'volume imgsdk-portage-20240430'],
  );
  // This state directory is gone, and with it its uses: the other app is now the only user.
  assert.equal(
    (await readUsers(users)).map((u) => u.root),
    [other],
  );
});

test('a user whose state directory is gone keeps nothing: the builder goes with the last app that used it', async () => {
  const { engine } = fakeEngine();
  await recordUses(users, join(dir, 'state'), { builders: ['acme/bookworm'] });
  await recordUses(users, other, { builders: ['acme/bookworm'] });
  rmSync(other, { recursive: true });
  const plan = await planClean(engine, {
    stateDir: join(dir, 'state'),
    usersDir: users,
    scope: { ids: [], builders: ['acme/bookworm'], keys: {} },
  });
  assert.equal(
    plan.images.map((i) => i.id),
    ['sha256:b1'],
  );
  assert.equal(plan.kept, []);
});

test('a volume that cannot be removed is reported, and the rest goes on', async () => {
  const { engine } = fakeEngine();
  await recordUses(users, join(dir, 'state'), { volumes: GENTOO_VOLUMES });
  const failing = {
    ...engine,
    removeVolume: async (n: string) => (n === 'imgsdk-distfiles' ? Promise.reject(new Error('a container uses it')) : true),
  } as Engine;
  const r = await executeClean(failing, await planClean(failing, { stateDir: join(dir, 'state'), usersDir: users }));
  assert.equal(r.failed, ['volume imgsdk-distfiles: a container uses it']);
  assert.is(r.removed.volumes, 4);
  assert.not.ok(existsSync(join(dir, 'state')));
});

test.run();
