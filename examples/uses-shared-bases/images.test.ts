import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Testing } from 'imgsdk/testing';
import * as images from './images';

const asm = Testing.synth(images);
const redis = asm.image('acme/redis');

test('the app imports the base image from @imgsdk-examples/bases', () => {
  assert.equal(asm.ids, ['acme/redis', 'bases/debian-base']);
  redis.hasParent('bases/debian-base').hasPackage('redis-server');
  assert.is(redis.def.builder, 'bases/bookworm');
});

test('nonRootService makes redis run as its own user', () => {
  redis.runsAsNonRoot();
  assert.is(redis.config.user, 'redis');
  assert.equal(
    redis.def.accounts.map((a) => [a.user, a.uid]),
    [['redis', 10001]],
  );
  const data = redis.def.files.find((f) => f.path === '/data')!;
  assert.equal([data.type, data.uid, data.mode.toString(8)], ['dir', 10001, '700']);
});

test('withTimezone and hardened are applied', () => {
  assert.is(redis.config.env.TZ, 'Europe/Amsterdam');
  redis.hasFile('/etc/timezone').hasFile('/etc/localtime');
  assert.ok(redis.def.purge.includes('/bin/sh'));
  assert.is(redis.config.labels['org.imgsdk.examples.hardened'], 'true');
  // the base's label is inherited
  assert.is(redis.config.labels['org.opencontainers.image.vendor'], 'imgsdk examples');
});

test('redis runs in the foreground with its own config and the /data volume', () => {
  redis.hasEntrypoint('/usr/bin/redis-server', '/etc/redis/redis.conf').hasFile('/etc/redis/redis.conf');
  assert.equal(redis.config.volumes, ['/data']);
  assert.equal(redis.config.expose, ['6379/tcp']);
});

test.run();
