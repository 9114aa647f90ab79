import { relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app } from '../../src/sdk/app';
import { debian } from '../../src/sdk/builder';
import { image } from '../../src/sdk/image';
import { noShell, nonRoot } from '../../src/sdk/policy';
import { Testing } from '../../src/sdk/testing';
import { line } from './_line';

const HERE = relative(process.cwd(), __filename);
const deb = debian.builder('acme/bookworm', { suite: 'bookworm' });

test('nonRoot judges the uid an account resolves to: a name declared with uid 0 fails, in the image or through a parent', () => {
  const l = line(); const direct = image('acme/direct').builder(deb).account({ user: 'web', uid: 0 }).user('web').entrypoint('/bin/app').allowRoot();
  const base = image('acme/base').builder(deb).account({ user: 'web', uid: 0 });
  const child = image('acme/child').from(base).user('web').entrypoint('/bin/app').allowRoot();
  const problems = Testing.problems(app(direct, child).policy(nonRoot()));
  assert.equal(problems, [
    `${HERE}:${l} acme/direct: policy nonRoot: runs as root (user web is uid 0)`,
    `${HERE}:${l + 2} acme/child: policy nonRoot: runs as root (user web is uid 0)`,
  ]);
});

test('without .allowRoot(), a user that resolves to uid 0 is running as root, policy or not', () => {
  const img = image('acme/sneaky').builder(deb).account({ user: 'web', uid: 0 }).user('web').entrypoint('/bin/app');
  assert.ok(Testing.problems(app(img)).some((p) => /runs as root/.test(p)), Testing.problems(app(img)).join('\n'));
});

test('nonRoot refuses the root group: a non-zero uid with gid 0, by account or by user:group, and a bare uid no account has', () => {
  const byAccount = image('acme/g1').builder(deb).account({ user: 'web', uid: 1000, gid: 0, group: 'root' }).user('web').entrypoint('/bin/app');
  const byPair = image('acme/g2').builder(deb).user('1000:0').entrypoint('/bin/app');
  const bareUid = image('acme/g3').builder(deb).user('1234').entrypoint('/bin/app');
  const problems = Testing.problems(app(byAccount, byPair, bareUid).policy(nonRoot()));
  assert.equal(problems.map((p) => p.replace(/^\S+ /, '')), [
    'acme/g1: policy nonRoot: runs with the root group (user web is uid 1000, gid 0)',
    'acme/g2: policy nonRoot: runs with the root group (user 1000:0 is uid 1000, gid 0)',
    'acme/g3: policy nonRoot: runs with the root group (user 1234 is uid 1234, gid 0)',
  ]);
  const fine = image('acme/fine').builder(deb).account({ user: 'web', uid: 1000 }).user('web').entrypoint('/bin/app');
  assert.equal(Testing.problems(app(fine, image('acme/nobody').builder(deb).user('nobody').entrypoint('/bin/app')).policy(nonRoot())), []);
});

test('Testing.runsAsNonRoot judges the resolved uid and gid the same way', () => {
  const base = image('acme/base').builder(deb).account({ user: 'web', uid: 0 });
  const t = Testing.synth(app(image('acme/child').from(base).user('web').entrypoint('/bin/app').allowRoot(), image('acme/ok').builder(deb).account({ user: 'app', uid: 1000 }).user('app').entrypoint('/bin/app')));
  assert.throws(() => t.image('acme/child').runsAsNonRoot(), /acme\/child runs as root \(user web is uid 0\)/);
  t.image('acme/ok').runsAsNonRoot();
});

test('the built-in policies travel to the runtime as rules, and change the key', () => {
  const img = image('acme/x').builder(deb).user('nobody').entrypoint('/bin/app');
  const withRules = Testing.synth(app(img).policy(nonRoot(), noShell())).image('acme/x');
  const without = Testing.synth(app(img)).image('acme/x');
  assert.equal(withRules.def.rules, ['noShell', 'nonRoot']);
  assert.is(without.def.rules, undefined);
  assert.is.not(withRules.key, without.key);
});

test.run();
