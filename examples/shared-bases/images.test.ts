import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { image } from 'imgsdk';
import { Testing } from 'imgsdk/testing';
import * as bases from './index';
import * as images from './images';

const pkg = require('./package.json');

test('the package is @imgsdk-examples/bases with imgsdk as an optional peer', () => {
  assert.is(pkg.name, '@imgsdk-examples/bases');
  assert.equal(pkg.peerDependencies, { imgsdk: '>=0.1.0' });
  assert.equal(pkg.peerDependenciesMeta, { imgsdk: { optional: true } });
  assert.is(require.resolve('@imgsdk-examples/bases'), require.resolve('./index'));
});

test('the base image is built from bookworm with CA certificates and time zones', () => {
  const base = Testing.synth(images).image('bases/debian-base').hasPackage('ca-certificates').hasPackage('tzdata');
  assert.is(base.def.builder, 'bases/bookworm');
  assert.is(bases.bookworm.kind, 'debian');
});

const demo = image('bases/demo').from(bases.debianBase).entrypoint('/usr/bin/true');

test('nonRootService adds a system account and runs as it', () => {
  const img = Testing.synth(demo.with(bases.nonRootService('svc', 10001)))
    .image('bases/demo')
    .runsAsNonRoot();
  assert.is(img.config.user, 'svc');
  assert.equal(img.def.accounts, [{ user: 'svc', uid: 10001, group: 'svc', gid: 10001, home: '/nonexistent', shell: '/usr/sbin/nologin' }]);
});

test('withTimezone sets TZ, /etc/timezone and the /etc/localtime link', () => {
  const img = Testing.synth(demo.user('nobody').with(bases.withTimezone('Europe/Amsterdam'))).image('bases/demo');
  assert.is(img.config.env.TZ, 'Europe/Amsterdam');
  const byPath = new Map(img.def.files.map((f) => [f.path, f]));
  assert.is(img.file(`files/${byPath.get('/etc/timezone')!.sha256}`), 'Europe/Amsterdam\n');
  assert.is(byPath.get('/etc/localtime')!.target, '/usr/share/zoneinfo/Europe/Amsterdam');
});

test('hardened purges shells and the package manager and labels the image', () => {
  const img = Testing.synth(demo.user('nobody').with(bases.hardened)).image('bases/demo');
  for (const p of ['/bin/sh', '/bin/bash', '/usr/bin/dpkg*', '/var/lib/dpkg', '/usr/bin/su']) assert.ok(img.def.purge.includes(p), p);
  assert.is(img.config.labels['org.imgsdk.examples.hardened'], 'true');
});

test('transforms return new images and leave the shared base alone', () => {
  const before = Testing.synth(bases.debianBase).image('bases/debian-base').key;
  demo.with(bases.hardened).with(bases.nonRootService('svc', 10001));
  assert.is(Testing.synth(bases.debianBase).image('bases/debian-base').key, before);
  assert.is(bases.debianBase.state.files, null, 'no .file() reached the shared base');
});

test.run();
