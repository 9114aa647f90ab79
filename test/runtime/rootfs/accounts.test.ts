import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCreatedAccounts } from '../../../src/runtime/build/phase1';
import { adoptAccounts, unownedFiles } from '../../../src/runtime/rootfs/accounts';
import { dir, file } from './_tar-fixture';

const redisEtc = { ...dir('etc/redis', 0o2770), uid: 100, gid: 101 };
const created = parseCreatedAccounts('redis:x:100:101::/var/lib/redis:/usr/sbin/nologin\n', 'redis:x:101:\npostdrop:x:102:\n');

test('parseCreatedAccounts reads the users and groups an install added', () => {
  assert.equal(created, [
    { group: 'postdrop', gid: 102 },
    { user: 'redis', uid: 100, gid: 101, group: 'redis', home: '/var/lib/redis', shell: '/usr/sbin/nologin' },
  ]);
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
  assert.equal(r.users.map((u) => `${u.user}:${u.uid}:${u.gid}`), ['redis:100:101']);
  assert.equal(r.entries[0].uid, 100);
  assert.equal(unownedFiles(r.entries, new Set([0, 100]), new Set([0, 101])), []);
  assert.equal(unownedFiles(r.entries, new Set([0]), new Set([0])), ['no account in the image has uid 100, gid 101, which owns /etc/redis']);
});

test.run();
