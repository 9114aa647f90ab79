import { relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../src/contract/errors';
import { app } from '../../src/sdk/app';
import { debian, gentoo } from '../../src/sdk/builder';
import { image } from '../../src/sdk/image';
import { noShell, nonRoot } from '../../src/sdk/policy';
import { resolveApp } from '../../src/sdk/resolve';
import { Testing } from '../../src/sdk/testing';
import { line } from './_line';

const HERE = relative(process.cwd(), __filename);
const bob = gentoo.builder('kubler/bob', { stage3: 'amd64-hardened-nomultilib' });
const musl = gentoo.builder('kubler/bob-musl', { stage3: 'amd64-musl-hardened' });
const deb = debian.builder('acme/bookworm', { from: 'debian:bookworm-slim' });

test('an unknown parent id is one problem at the .from() call', () => {
  const l = line(); const orphan = image('acme/orphan').from('acme/nope');
  assert.equal(Testing.problems(orphan), [`${HERE}:${l} acme/orphan: unknown parent "acme/nope": no image with that id in the app`]);
});

test('a copy from an unknown id is a problem at the .copy() call', () => {
  const l = line(); const img = image('acme/x').builder(deb).copy({ from: 'acme/nope', paths: ['/bin/x'] });
  assert.equal(Testing.problems(img), [`${HERE}:${l} acme/x: copy from unknown image "acme/nope"`]);
});

test('a parent given by id resolves to the image of that id in the app', () => {
  const base = image('acme/base').builder(deb).packages('libc6');
  const child = image('acme/child').from('acme/base').packages('curl');
  const t = Testing.synth(base, child);
  t.image('acme/child').hasParent('acme/base');
  assert.is(t.image('acme/child').def.builder, 'acme/bookworm');
  assert.equal(t.manifest.images['acme/child'].dependsOn, ['acme/base']);
});

test('a cycle through .from() with string ids names every image in it, once each', () => {
  const la = line(); const a = image('acme/a').builder(bob).from('acme/c');
  const lb = line(); const b = image('acme/b').from('acme/a');
  const lc = line(); const c = image('acme/c').from('acme/b');
  const cycle = 'dependency cycle: acme/a -> acme/b -> acme/c -> acme/a';
  assert.equal(Testing.problems(a, b, c), [
    `${HERE}:${la} acme/a: ${cycle}`,
    `${HERE}:${lb} acme/b: ${cycle}`,
    `${HERE}:${lc} acme/c: ${cycle}`,
  ]);
});

test('a cycle with no builder anywhere is reported as a cycle, not as missing builders', () => {
  const problems = Testing.problems(image('acme/a').from('acme/b'), image('acme/b').from('acme/a'));
  assert.is(problems.length, 2);
  for (const p of problems) assert.match(p, /dependency cycle: acme\/a -> acme\/b -> acme\/a$/);
});

test('a cycle through .copy() is reported at the copy calls', () => {
  const la = line(); const a = image('acme/a').builder(deb).copy({ from: 'acme/b', paths: ['/b'] });
  const lb = line(); const b = image('acme/b').builder(deb).copy({ from: 'acme/a', paths: ['/a'] });
  assert.equal(Testing.problems(a, b), [
    `${HERE}:${la} acme/a: dependency cycle: acme/a -> acme/b -> acme/a`,
    `${HERE}:${lb} acme/b: dependency cycle: acme/a -> acme/b -> acme/a`,
  ]);
});

test('two different definitions with one id are a problem naming both places', () => {
  const l1 = line(); const one = image('acme/dup').builder(deb).packages('curl');
  const l2 = line(); const two = image('acme/dup').builder(deb).packages('wget');
  assert.equal(Testing.problems(one, two), [`${HERE}:${l2} acme/dup: defined twice with different definitions (also at ${HERE}:${l1})`]);
});

test('the same definition twice, or one value reached twice, is fine', () => {
  const make = () => image('acme/same').builder(deb).packages('curl').user('nobody').entrypoint('/usr/bin/curl');
  assert.equal(Testing.problems(make(), make()), []);
  const base = image('acme/base').builder(deb);
  assert.equal(Testing.problems(base, image('acme/a').from(base), image('acme/b').from(base), { again: base }), []);
  assert.equal(Testing.synth(make(), make()).ids, ['acme/same']);
});

test('Portage-only methods on a Debian image are a problem each, at their calls', () => {
  const l = line(); const img = image('acme/web').builder(deb).packages('nginx-light')
    .use('www-servers/nginx', 'ssl')
    .keywords('www-servers/nginx', '~amd64')
    .makeConf({ MAKEOPTS: '-j2' });
  const msg = (m: string) => `.${m}() is Portage-only, but acme/bookworm is a Debian builder`;
  assert.equal(Testing.problems(img), [
    `${HERE}:${l + 1} acme/web: ${msg('use')}`,
    `${HERE}:${l + 2} acme/web: ${msg('keywords')}`,
    `${HERE}:${l + 3} acme/web: ${msg('makeConf')}`,
  ]);
});

test('Portage-only methods on a child of a Debian image are caught through the inherited builder', () => {
  const base = image('acme/base').builder(deb);
  const l = line(); const child = image('acme/child').from(base).mask('dev-lang/perl');
  assert.equal(Testing.problems(child), [`${HERE}:${l} acme/child: .mask() is Portage-only, but acme/bookworm is a Debian builder`]);
});

test('.download() on a Debian image is a problem at its call: no checksum is accepted silently', () => {
  const sha = 'a'.repeat(64);
  const l = line(); const img = image('acme/dl').builder(deb).download('https://example.org/app.tar.gz', sha).user('nobody');
  assert.equal(Testing.problems(img), [
    `${HERE}:${l} acme/dl: .download("https://example.org/app.tar.gz") is not supported on Debian images (acme/bookworm is a Debian builder): add the file with .file(path, { src }), or fetch and check it in a .configureRootfs() hook`,
  ]);
  assert.equal(Testing.problems(image('acme/dl').builder(bob).download('https://example.org/app.tar.gz', sha).user('nobody')), []);
});

test('packages are checked against the builder kind: Portage atoms or Debian names', () => {
  const l1 = line(); const g = image('acme/g').builder(bob).packages('nginx light');
  const l2 = line(); const d = image('acme/d').builder(deb).packages('Nginx');
  assert.equal(Testing.problems(g, d), [
    `${HERE}:${l1} acme/g: "nginx light" is not a valid atom: contains whitespace`,
    `${HERE}:${l2} acme/d: Debian package "Nginx" is not valid: name "Nginx" has uppercase letters`,
  ]);
  // A Portage atom is fine on Gentoo; a Debian name with an arch qualifier is fine on Debian.
  assert.equal(Testing.problems(image('acme/g').builder(bob).packages('>=dev-libs/openssl-3:0='), image('acme/d').builder(deb).packages('libc6:amd64')), []);
});

test('a child whose builder has another libc than the parent\'s is a problem (glibc vs musl stage3)', () => {
  const base = image('acme/base').builder(bob);
  const l = line(); const child = image('acme/child').from(base).builder(musl);
  assert.equal(Testing.problems(child), [
    `${HERE}:${l} acme/child: builder kubler/bob-musl (gentoo, musl) does not match the parent acme/base's builder kubler/bob (gentoo, glibc)`,
  ]);
});

test('a child whose builder is of another family than the parent\'s is a problem', () => {
  const base = image('acme/base').builder(bob);
  const l = line(); const child = image('acme/child').from(base).builder(deb);
  assert.equal(Testing.problems(child), [
    `${HERE}:${l} acme/child: builder acme/bookworm (debian, glibc) does not match the parent acme/base's builder kubler/bob (gentoo, glibc)`,
  ]);
});

test('a child may name another builder of the same family and libc', () => {
  const bob2 = gentoo.builder('kubler/bob2', { stage3: 'amd64-nomultilib-openrc' });
  assert.equal(Testing.problems(image('acme/child').from(image('acme/base').builder(bob)).builder(bob2)), []);
});

test('an image with no builder, set or inherited, is a problem at its declaration', () => {
  const l = line(); const img = image('acme/lost').packages('curl');
  assert.equal(Testing.problems(img), [`${HERE}:${l} acme/lost: no builder: set .builder(...) or inherit one through .from(...)`]);
});

test('running as root without .allowRoot() is a problem; with it, or as another user, it is not', () => {
  const l1 = line(); const implicit = image('acme/a').builder(deb).entrypoint('/bin/app');
  const l2 = line(); const named = image('acme/b').builder(deb).cmd('/bin/app').user('root');
  const l3 = line(); const uid0 = image('acme/c').builder(deb).entrypoint('/bin/app').user('0:0');
  const msg = 'runs as root: set .user(...) or call .allowRoot()';
  assert.equal(Testing.problems(implicit, named, uid0), [`${HERE}:${l1} acme/a: ${msg}`, `${HERE}:${l2} acme/b: ${msg}`, `${HERE}:${l3} acme/c: ${msg}`]);
  assert.equal(Testing.problems(
    implicit.allowRoot(),
    image('acme/d').builder(deb).entrypoint('/bin/app').user('nobody'),
    image('acme/e').builder(deb).entrypoint('/bin/app').user(1000),
    image('acme/f').builder(deb).packages('libc6'), // runs nothing: a base image
  ), []);
});

test('naming root with .user() needs .allowRoot() even on an image that runs nothing yet', () => {
  const l = line(); const named = image('acme/r').builder(deb).packages('libc6').user('root');
  assert.equal(Testing.problems(named), [`${HERE}:${l} acme/r: .user('root') runs as root: call .allowRoot() to mean it`]);
  assert.equal(Testing.problems(image('acme/r').builder(deb).user('root').allowRoot()), []);
});

test('a root user inherited with the entrypoint is caught on the child', () => {
  const base = image('acme/base').builder(deb).entrypoint('/bin/app').allowRoot();
  const l = line(); const child = image('acme/child').from(base).packages('curl');
  assert.equal(Testing.problems(child), [`${HERE}:${l} acme/child: runs as root: set .user(...) or call .allowRoot()`]);
});

test('an empty entrypoint or cmd is a problem at its call', () => {
  const l = line(); const img = image('acme/e').builder(deb).user('nobody').entrypoint().cmd();
  assert.equal(Testing.problems(img), [`${HERE}:${l} acme/e: entrypoint is empty`, `${HERE}:${l} acme/e: cmd is empty`]);
  const l2 = line(); const blank = image('acme/f').builder(deb).user('nobody').entrypoint('');
  assert.equal(Testing.problems(blank), [`${HERE}:${l2} acme/f: entrypoint is empty`]);
});

test('a .user() name needs an .account() in the image or a parent; nobody, root and uids are known', () => {
  const l = line(); const ghost = image('acme/g').builder(deb).user('ghost');
  assert.equal(Testing.problems(ghost), [`${HERE}:${l} acme/g: user "ghost" has no .account() in this image or its parents, and acme/g installs no packages whose install could create it`]);
  const base = image('acme/base').builder(deb).account({ user: 'app', uid: 1000 });
  assert.equal(Testing.problems(
    image('acme/own').builder(deb).account({ user: 'app', uid: 1000 }).user('app'),
    image('acme/inherited').from(base).user('app'),
    image('acme/nobody').builder(deb).user('nobody'),
    image('acme/uid').builder(deb).user('1234:1234'),
  ), []);
});

test('file owners resolve through .account() of the image and its parents', () => {
  const base = image('acme/base').builder(deb).account({ user: 'app', uid: 1000, group: 'staff', gid: 50 });
  const img = image('acme/files').from(base)
    .account({ user: 'svc', uid: 2000 })
    .file('/a', 'a', { owner: 'app' })
    .file('/b', 'b', { owner: 'svc:staff' })
    .file('/c', 'c', { owner: 'nobody' })
    .file('/d', 'd', { owner: '12:34' })
    .file('/e', 'e', { owner: 7 })
    .file('/f', 'f');
  const files = Testing.synth(img).image('acme/files').def.files.map((f) => [f.path, f.uid, f.gid]);
  assert.equal(files, [['/a', 1000, 50], ['/b', 2000, 50], ['/c', 65534, 65534], ['/d', 12, 34], ['/e', 7, 7], ['/f', 0, 0]]);
});

test('an unknown file owner or group is a problem at the .file() call', () => {
  const l1 = line(); const a = image('acme/a').builder(deb).file('/x', 'x', { owner: 'ghost' });
  const l2 = line(); const b = image('acme/b').builder(deb).account({ user: 'app', uid: 1 }).file('/y', 'y', { owner: 'app:ghosts' });
  assert.equal(Testing.problems(a, b), [
    `${HERE}:${l1} acme/a: file /x: owner "ghost" has no .account() in this image or its parents, and acme/a installs no packages whose install could create it`,
    `${HERE}:${l2} acme/b: file /y: owner "app:ghosts" has no .account() in this image or its parents, and acme/b installs no packages whose install could create it`,
  ]);
});

test('a name no .account() declares is left to the build when the image or a parent installs packages', () => {
  const pg = image('acme/pg').builder(deb).packages('postgresql').user('postgres').file('/etc/pg.conf', 'x', { owner: 'postgres:postgres' });
  const child = image('acme/pg-child').from(pg).user('postgres').file('/etc/more', 'y', { owner: 'postgres' });
  assert.equal(Testing.problems(pg, child), []);
  const t = Testing.synth(pg, child);
  assert.is(t.image('acme/pg').config.user, 'postgres');
  assert.equal(t.image('acme/pg').def.files.map((f) => [f.path, f.owner, f.uid]), [['/etc/pg.conf', 'postgres:postgres', 0]]);
  assert.equal(t.image('acme/pg-child').def.files.map((f) => f.owner), ['postgres']);
});

test('a declared owner stays resolved at synth and carries no name for the build', () => {
  const img = image('acme/own').builder(deb).packages('jq').account({ user: 'app', uid: 1000 }).file('/a', 'a', { owner: 'app' });
  assert.equal(Testing.synth(img).image('acme/own').def.files.map((f) => [f.uid, 'owner' in f]), [[1000, false]]);
});

test('.init() puts tini before the entrypoint and installs it with the builder kind\'s package', () => {
  const t = Testing.synth(image('acme/api').builder(deb).packages('nodejs').user('nobody').entrypoint('/usr/bin/node', '/app/main.js').init());
  assert.equal(t.image('acme/api').config.entrypoint, ['/usr/bin/tini', '--', '/usr/bin/node', '/app/main.js']);
  assert.is(t.image('acme/api').config.init, true);
  assert.equal(t.image('acme/api').def.packages, ['nodejs', 'tini']);
  const g = Testing.synth(image('acme/g').builder(bob).packages('app-misc/jq').user('nobody').cmd('/usr/bin/jq').init());
  assert.equal(g.image('acme/g').def.packages, ['app-misc/jq', 'sys-process/tini']);
  assert.equal(g.image('acme/g').config.entrypoint, ['/usr/bin/tini', '--']);
});

test('a child inherits .init(): its own entrypoint gets tini in front, and the parent\'s tini is not installed again', () => {
  const base = image('acme/node').builder(deb).packages('nodejs').user('nobody').init();
  const app1 = image('acme/app').from(base).entrypoint('/usr/bin/node', '/app/a.js');
  const off = image('acme/off').from(base).entrypoint('/usr/bin/node').init(false);
  const t = Testing.synth(app1, off);
  assert.equal(t.image('acme/app').config.entrypoint, ['/usr/bin/tini', '--', '/usr/bin/node', '/app/a.js']);
  assert.equal(t.image('acme/app').def.packages, []);
  assert.equal(t.image('acme/off').config.entrypoint, ['/usr/bin/node']);
  assert.is(t.image('acme/off').config.init, undefined);
  // Nothing to run yet: the base's config has no entrypoint for tini to start.
  assert.is(t.image('acme/node').config.entrypoint, null);
});

test('config is inherited from the parent: env merged, user, workdir and ports kept', () => {
  const base = image('acme/base').builder(deb)
    .env('A', '1').env('B', '1').workdir('/srv').expose(80).label('l', 'base')
    .account({ user: 'app', uid: 1000 }).user('app')
    .entrypoint('/bin/app').cmd('serve');
  const child = image('acme/child').from(base).env('B', '2').env('C', '3').expose(443).label('m', 'child');
  const c = Testing.synth(child).image('acme/child').config;
  assert.equal(c.env, { A: '1', B: '2', C: '3' });
  assert.is(c.user, 'app');
  assert.is(c.workdir, '/srv');
  assert.equal(c.expose, ['443/tcp', '80/tcp']);
  assert.equal(c.labels, { l: 'base', m: 'child' });
  assert.equal(c.entrypoint, ['/bin/app']);
  assert.equal(c.cmd, ['serve']);
});

test('a new entrypoint resets the inherited cmd; a new cmd alone keeps the entrypoint', () => {
  const base = image('acme/base').builder(deb).user('nobody').entrypoint('/bin/app').cmd('serve');
  const t = Testing.synth(
    image('acme/ep').from(base).entrypoint('/bin/other'),
    image('acme/cmd').from(base).cmd('check'),
    image('acme/both').from(base).entrypoint('/bin/other').cmd('run'),
  );
  assert.equal([t.image('acme/ep').config.entrypoint, t.image('acme/ep').config.cmd], [['/bin/other'], null]);
  assert.equal([t.image('acme/cmd').config.entrypoint, t.image('acme/cmd').config.cmd], [['/bin/app'], ['check']]);
  assert.equal([t.image('acme/both').config.entrypoint, t.image('acme/both').config.cmd], [['/bin/other'], ['run']]);
});

test('the policy nonRoot() rejects root even with .allowRoot(), at the image\'s declaration', () => {
  const l = line(); const root = image('acme/root').builder(deb).entrypoint('/bin/app').allowRoot();
  const fine = image('acme/fine').builder(deb).entrypoint('/bin/app').user('nobody');
  assert.equal(Testing.problems(app(root, fine).policy(nonRoot())), [`${HERE}:${l} acme/root: policy nonRoot: runs as root`]);
  assert.equal(Testing.problems(app(root, fine)), []);
});

test('the policy noShell() rejects shell packages and shell files, and forbids shell paths at build', () => {
  const l = line(); const shelly = image('acme/shelly').builder(deb).packages('curl', 'bash').file('/bin/sh', '#!');
  const gentooShell = image('acme/g').builder(bob).packages('app-shells/bash:0', '>=sys-apps/busybox-1.36', 'app-shells/bash-completion');
  const clean = image('acme/clean').builder(deb).packages('curl', 'bash-completion', 'dash=0.5.12-2', 'zsh-common');
  const problems = Testing.problems(app(shelly, gentooShell, clean).policy(noShell()));
  assert.equal(problems, [
    `${HERE}:${l} acme/shelly: policy noShell: installs the shell package bash`,
    `${HERE}:${l} acme/shelly: policy noShell: adds the shell /bin/sh`,
    `${HERE}:${l + 1} acme/g: policy noShell: installs the shell package app-shells/bash:0`,
    `${HERE}:${l + 1} acme/g: policy noShell: installs the shell package >=sys-apps/busybox-1.36`,
    `${HERE}:${l + 2} acme/clean: policy noShell: installs the shell package dash=0.5.12-2`,
  ]);
  const quiet = image('acme/quiet').builder(deb).packages('curl', 'bash-completion');
  assert.equal(Testing.problems(app(quiet).policy(noShell())), []);
  assert.ok(Testing.synth(app(quiet).policy(noShell())).image('acme/quiet').def.forbid.includes('bin/sh'));
  assert.equal(Testing.synth(quiet).image('acme/quiet').def.forbid, []);
});

test('a chain thousands of images deep inherits builder, config and accounts from its root', () => {
  let img = image('acme/i0').builder(deb).account({ user: 'app', uid: 1000 }).env('ROOT', 'yes').user('app').entrypoint('/bin/app');
  for (let i = 1; i < 3000; i++) img = image(`acme/i${i}`).from(img).packages(`pkg${i}`);
  const t = Testing.synth(img);
  const leaf = t.image('acme/i2999');
  assert.is(leaf.def.builder, 'acme/bookworm');
  assert.equal(leaf.config.env, { ROOT: 'yes' });
  assert.is(leaf.config.user, 'app');
  assert.is(t.manifest.order.length, 3000);
  // The chain installs packages: a name no .account() declares is left to the build, found 3,000 parents up.
  assert.equal(Testing.problems(image('acme/pkg-user').from(img).user('ghost')), []);
});

test('a cycle below a long chain is found without overflowing the stack', () => {
  let img = image('acme/c0').from('acme/top');
  for (let i = 1; i < 1500; i++) img = image(`acme/c${i}`).from(img);
  const top = image('acme/top').builder(deb).from(img);
  const problems = Testing.problems(top);
  assert.is(problems.length, 1501);
  assert.match(problems[0], /dependency cycle: /);
});

test('every problem of an app is reported in one ValidationError', () => {
  const imgs = [
    image('acme/a').from('acme/nope'),
    image('acme/b').builder(deb).use('x/y', 'z'),
    image('acme/c').builder(deb).entrypoint('/x'),
    image('acme/d').builder(deb).user('ghost'),
  ];
  let e: unknown;
  try {
    Testing.synth(...imgs);
  } catch (err) {
    e = err;
  }
  assert.instance(e, ValidationError);
  assert.is((e as ValidationError).problems.length, 4);
  assert.match((e as ValidationError).message, /^4 problems in the image definitions:\n/);
});

test('resolveApp collects file contents as blobs by sha256', () => {
  const r = resolveApp(app(image('acme/a').builder(deb).file('/a', 'same').file('/b', 'same').file('/c', 'other')));
  assert.is(r.blobs.size, 2);
  assert.equal([...r.blobs.values()].map(String).sort(), ['other', 'same']);
  assert.equal(r.problems, []);
});

const pinHint = (atom: string, cpn: string, asked: string) =>
  `.keywords("${atom}") does not pin ${cpn}: ${asked}, and emerge installs the newest visible version, keyworded or not. To pin it, put "${atom}" in .packages()`;

test('keywords for a version the packages do not select are a warning at the .keywords() call that says how to pin, not a problem', () => {
  const l = line(); const nmap = image('acme/nmap').builder(bob).packages('net-analyzer/nmap').keywords('=net-analyzer/nmap-7.60', '~amd64');
  assert.equal(Testing.problems(nmap), []);
  assert.equal(Testing.warnings(nmap), [`${HERE}:${l} acme/nmap: ${pinHint('=net-analyzer/nmap-7.60', 'net-analyzer/nmap', 'the image\'s packages do not name a version of net-analyzer/nmap')}`]);
  assert.equal(resolveApp(app(nmap)).warnings.length, 1);
});

test('keywords that the packages pin, or that cannot miss, warn nothing', () => {
  const base = image('acme/nmap').builder(bob);
  const quiet = [
    base.packages('=net-analyzer/nmap-7.60').keywords('=net-analyzer/nmap-7.60', '~amd64'),
    base.packages('=net-analyzer/nmap-7.60-r1').keywords('~net-analyzer/nmap-7.60', '~amd64'),
    base.packages('=net-analyzer/nmap-7.60.1').keywords('=net-analyzer/nmap-7.60*', '~amd64'),
    // A range in .packages(): which version wins depends on the tree, so no guess.
    base.packages('<net-analyzer/nmap-7.70').keywords('=net-analyzer/nmap-7.60', '~amd64'),
    // Unversioned or open-ended keywords: the newest visible version is among them.
    base.packages('net-analyzer/nmap').keywords('net-analyzer/nmap', '~amd64'),
    base.packages('net-analyzer/nmap').keywords('>=net-analyzer/nmap-7.60', '~amd64'),
  ];
  for (const img of quiet) assert.equal(Testing.warnings(img), [], JSON.stringify(img.state.packages));
});

test('keywords for a version other than the one the packages pin, or for a package the image does not name, warn', () => {
  const base = image('acme/nmap').builder(bob);
  const other = base.packages('=net-analyzer/nmap-7.70').keywords('=net-analyzer/nmap-7.60', '~amd64');
  assert.match(Testing.warnings(other)[0], pinHint('=net-analyzer/nmap-7.60', 'net-analyzer/nmap', 'the image\'s packages ask for =net-analyzer/nmap-7.70'));
  const revision = base.packages('=net-analyzer/nmap-7.60-r1').keywords('=net-analyzer/nmap-7.60', '~amd64');
  assert.is(Testing.warnings(revision).length, 1);
  const dependency = base.packages('net-analyzer/nmap').keywords('<dev-libs/libpcre-9', '~amd64');
  assert.match(Testing.warnings(dependency)[0], pinHint('<dev-libs/libpcre-9', 'dev-libs/libpcre', 'the image\'s packages do not name a version of dev-libs/libpcre'));
});

test('the warnings of several .keywords() calls each name their own call', () => {
  const l = line(); const img = image('acme/nmap').builder(bob).packages('net-analyzer/nmap')
    .keywords('net-analyzer/nmap', '~amd64')
    .keywords('=dev-libs/libpcre-8.45', '~amd64');
  assert.equal(Testing.warnings(img).map((w) => w.split(' ')[0]), [`${HERE}:${l + 2}`]);
});

test.run();
