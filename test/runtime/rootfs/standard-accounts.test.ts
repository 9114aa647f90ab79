import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { namedStandardAccounts, parseStandardAccounts } from '../../../src/runtime/rootfs/standard-accounts';

const PASSWD =
  'root:*:0:0:root:/root:/bin/bash\nuucp:*:10:10:uucp:/var/spool/uucp:/usr/sbin/nologin\nwww-data:*:33:33:www-data:/var/www:/usr/sbin/nologin\nnobody:*:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n';
const GROUP = 'root:*:0:\nuucp:*:10:\nadm:*:4:\nwww-data:*:33:\nnogroup:*:65534:\n';
const none = { users: new Set<string>(), uids: new Set<number>(), groups: new Set<string>(), gids: new Set<number>() };

test("an account a configuration names is added as base-passwd defines it (nginx's www-data, exim's uucp)", () => {
  const std = parseStandardAccounts(PASSWD, GROUP);
  const r = namedStandardAccounts(['user', 'www-data', 'trusted_users', 'uucp', 'root', 'nobody'], std, none);
  assert.equal(
    r.users.map((u) => [u.user, u.uid, u.group, u.gid, u.home]),
    [
      ['uucp', 10, 'uucp', 10, '/var/spool/uucp'],
      ['www-data', 33, 'www-data', 33, '/var/www'],
    ],
  );
  assert.is(r.notes.length, 2);
});

test('a group alone is added as a group; nothing is added that the image has by name or by id', () => {
  const std = parseStandardAccounts(PASSWD, GROUP);
  assert.equal(namedStandardAccounts(['adm'], std, none).groups, [{ name: 'adm', gid: 4 }]);
  assert.equal(
    namedStandardAccounts(['nogroup'], std, { ...none, gids: new Set([65534]) }).groups,
    [{ name: 'nogroup', gid: 65534 }],
    "Debian's name for the nobody group",
  );
  const have = { users: new Set(['www-data']), uids: new Set([10, 33]), groups: new Set(['www-data', 'news']), gids: new Set([4, 10, 33]) };
  const r = namedStandardAccounts(['www-data', 'uucp', 'adm'], std, have);
  assert.equal([r.users, r.groups], [[], []]);
});

test.run();
