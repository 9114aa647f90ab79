import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCreatedAccounts } from '../../../src/runtime/phase1/run';
import { adoptAccounts, resolveNamedOwners, unownedFiles } from '../../../src/runtime/rootfs/accounts';
import { BuildError } from '../../../src/contract/errors';
import { renderGroup } from '../../../src/runtime/rootfs/etc-files';
import type { FileDef, ImageDef } from '../../../src/contract/assembly';
import { dir, file } from './_tar-fixture';

const redisEtc = { ...dir('etc/redis', 0o2770), uid: 100, gid: 101 };
const created = parseCreatedAccounts('redis:x:100:101::/var/lib/redis:/usr/sbin/nologin\n', 'redis:x:101:\npostdrop:x:102:\n');

test('parseCreatedAccounts reads the users and groups an install added', () => {
  assert.equal(created, [
    { group: 'postdrop', gid: 102 },
    { user: 'redis', uid: 100, gid: 101, group: 'redis', home: '/var/lib/redis', shell: '/usr/sbin/nologin' },
  ]);
});

test('the members an install gave a group are read, kept when the image adds the group, and written to /etc/group', () => {
  const pg = parseCreatedAccounts('postgres:x:104:109::/var/lib/postgresql:/bin/bash\n', 'ssl-cert:x:108:postgres\npostgres:x:109:\n');
  assert.equal(
    pg.find((a) => a.group === 'ssl-cert'),
    { group: 'ssl-cert', gid: 108, members: ['postgres'] },
  );
  const declared = [{ user: 'postgres', uid: 10001, group: 'postgres', gid: 10001, home: '/nonexistent', shell: '/usr/sbin/nologin' }];
  const r = adoptAccounts([], pg, declared);
  assert.equal(r.groups, [{ name: 'ssl-cert', gid: 108, members: ['postgres'] }]);
  assert.match(renderGroup(declared, r.groups), /^ssl-cert:x:108:postgres$/m);
});

test('a created account the image declares gives its files to the declared ids', () => {
  const declared = [{ user: 'redis', uid: 10001, group: 'redis', gid: 10001, home: '/nonexistent', shell: '/usr/sbin/nologin' }];
  const r = adoptAccounts([redisEtc, file('etc/redis/redis.conf')], created, declared);
  assert.equal([r.entries[0].uid, r.entries[0].gid], [10001, 10001]);
  assert.equal(r.users, []);
  assert.equal(r.groups, [{ name: 'postdrop', gid: 102 }]);
});

test('a created account the image does not declare is added, so no file has an unknown owner', () => {
  const r = adoptAccounts([redisEtc], created, []);
  assert.equal(
    r.users.map((u) => `${u.user}:${u.uid}:${u.gid}`),
    ['redis:100:101'],
  );
  assert.equal(r.entries[0].uid, 100);
  assert.equal(unownedFiles(r.entries, new Set([0, 100]), new Set([0, 101])), []);
  assert.equal(unownedFiles(r.entries, new Set([0]), new Set([0])), [
    'no account in the image has uid 100, gid 101, which owns /etc/redis',
  ]);
});

const pgFile: FileDef = {
  path: '/etc/pg.conf',
  type: 'file',
  mode: 0o640,
  uid: 0,
  gid: 0,
  sha256: null,
  size: 0,
  target: null,
  owner: 'postgres:ssl-cert',
};
const pgDef = (user: string | null, files: readonly FileDef[]) => ({ id: 'acme/pg', config: { user }, files }) as unknown as ImageDef;
const postgres = { user: 'postgres', uid: 104, group: 'postgres', gid: 109, home: '/var/lib/postgresql', shell: '/bin/bash' };

test('names left to the build take the ids of the accounts the install created', () => {
  const dirs = [{ dest: '/srv/pg', entries: [{ ...pgFile, path: '/srv/pg', type: 'dir' as const, owner: 'postgres' }] }];
  const named = resolveNamedOwners({ ...pgDef('postgres', [pgFile]), dirs }, [postgres], [{ name: 'ssl-cert', gid: 108 }]);
  assert.equal(
    named.files.map((f) => [f.path, f.uid, f.gid]),
    [['/etc/pg.conf', 104, 108]],
  );
  assert.equal(
    named.dirs[0].entries.map((f) => [f.path, f.uid, f.gid]),
    [['/srv/pg', 104, 109]],
  );
});

test('a name no account has fails the build naming the image, the account and the accounts there are', () => {
  const err = (() => {
    try {
      resolveNamedOwners(pgDef('postgres', [{ ...pgFile, owner: 'postgres' }]), [{ ...postgres, user: 'redis' }], []);
    } catch (e) {
      return e;
    }
    return null;
  })();
  assert.instance(err, BuildError);
  const msg = (err as Error).message;
  assert.match(
    msg,
    /^acme\/pg: user "postgres" is not an account of the image: no \.account\(\) declares it and no package's install created it \(the image's accounts are redis\)/,
  );
  assert.match(msg, /file \/etc\/pg\.conf: owner "postgres" is not an account of the image/);
});

test.run();
