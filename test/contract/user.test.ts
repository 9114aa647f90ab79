import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nonRootProblem, resolveUser } from '../../src/contract/assembly';

const accounts = [
  { user: 'web', uid: 1000, group: 'web', gid: 1000 },
  { user: 'sneaky', uid: 0, group: 'sneaky', gid: 0 },
  { group: 'staff', gid: 50 },
];

test('a user resolves as the engine resolves it: unset and root are 0:0, names take their account, a bare uid without one gets gid 0', () => {
  assert.equal(resolveUser(null, accounts), { uid: 0, gid: 0 });
  assert.equal(resolveUser('root', accounts), { uid: 0, gid: 0 });
  assert.equal(resolveUser('nobody', []), { uid: 65534, gid: 65534 });
  assert.equal(resolveUser('web', accounts), { uid: 1000, gid: 1000 });
  assert.equal(resolveUser('sneaky', accounts), { uid: 0, gid: 0 });
  assert.equal(resolveUser('1000', accounts), { uid: 1000, gid: 1000 });
  assert.equal(resolveUser('4242', accounts), { uid: 4242, gid: 0 });
  assert.equal(resolveUser('web:staff', accounts), { uid: 1000, gid: 50 });
  assert.equal(resolveUser('web:0', accounts), { uid: 1000, gid: 0 });
  assert.is(resolveUser('ghost', accounts), null);
  assert.is(resolveUser('web:ghosts', accounts), null);
});

test('the nonRoot rule refuses uid 0 and gid 0, and passes anything else', () => {
  assert.is(nonRootProblem(null, { uid: 0, gid: 0 }), 'runs as root');
  assert.is(nonRootProblem('sneaky', { uid: 0, gid: 0 }), 'runs as root (user sneaky is uid 0)');
  assert.is(nonRootProblem('web', { uid: 1000, gid: 0 }), 'runs with the root group (user web is uid 1000, gid 0)');
  assert.is(nonRootProblem('web', { uid: 1000, gid: 1000 }), null);
});

test.run();
