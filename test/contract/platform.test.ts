import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError, type Problem } from '../../src/contract/errors';
import { debian, forPlatform, gentoo } from '../../src/sdk/builder';
import { image, type Image } from '../../src/sdk/image';
import { checkPlatforms, hostPlatform, normalizePlatform, ociPlatform, platformInfo } from '../../src/contract/platform';
import { assemble } from '../../src/sdk/synth';
import { line } from '../sdk/_line';

const MIRROR = { suite: 'bookworm' };

function problemsOf(images: Image[]): Problem[] {
  try {
    assemble(images);
  } catch (e) {
    assert.instance(e, ValidationError);
    return [...(e as ValidationError).problems];
  }
  assert.unreachable('assemble did not fail');
  return [];
}

test('platform names are normalized, checked and sorted, so their order changes no key', () => {
  assert.is(normalizePlatform('linux/arm64/v8'), 'linux/arm64');
  assert.is(normalizePlatform('x86_64'), 'linux/amd64');
  assert.is(normalizePlatform('linux/riscv64'), null);
  assert.equal(checkPlatforms(['linux/arm64', 'linux/amd64']), { platforms: ['linux/amd64', 'linux/arm64'], problems: [] });
  assert.match(checkPlatforms(['linux/s390x']).problems[0], /unknown platform "linux\/s390x" \(known: linux\/amd64, linux\/arm64\)/);
  assert.match(checkPlatforms(['linux/arm64', 'linux/arm64/v8']).problems[0], /named twice/);
  assert.match(checkPlatforms([]).problems[0], /empty/);
});

test('each platform knows its Debian arch, ELF machine, loader, triplet and OCI platform', () => {
  const arm = platformInfo('linux/arm64');
  assert.equal([arm.debianArch, arm.elfMachine, arm.glibcLoader, arm.triplet, arm.uname], ['arm64', 183, '/lib/ld-linux-aarch64.so.1', 'aarch64-linux-gnu', 'aarch64']);
  const amd = platformInfo('linux/amd64');
  assert.equal([amd.debianArch, amd.elfMachine, amd.glibcLoader, amd.triplet], ['amd64', 62, '/lib64/ld-linux-x86-64.so.2', 'x86_64-linux-gnu']);
  assert.equal(ociPlatform('linux/arm64'), { architecture: 'arm64', os: 'linux', variant: 'v8' });
  assert.equal(ociPlatform('linux/amd64'), { architecture: 'amd64', os: 'linux' });
  assert.is(hostPlatform('x64'), 'linux/amd64');
  assert.is(hostPlatform('arm64'), 'linux/arm64');
});

test('an app that names no platform keeps its keys, and has no platforms in its assembly', () => {
  const plain = debian.builder('acme/bookworm', MIRROR);
  const named = debian.builder('acme/bookworm', { ...MIRROR, platforms: ['linux/amd64', 'linux/arm64'] });
  const a = assemble([image('acme/jq').builder(plain).packages('jq').entrypoint('/usr/bin/jq').user('nobody')]).manifest;
  const b = assemble([image('acme/jq').builder(named).packages('jq').entrypoint('/usr/bin/jq').user('nobody')]).manifest;
  assert.is(a.images['acme/jq'].platforms, undefined);
  assert.is(a.builders['acme/bookworm'].platforms, undefined);
  // The amd64 build of a two-platform image is the very build of the image that names none.
  assert.is(b.images['acme/jq'].platforms!['linux/amd64'].key, a.images['acme/jq'].key);
  assert.is(b.images['acme/jq'].key, a.images['acme/jq'].key);
  assert.is(b.builders['acme/bookworm'].platforms!['linux/amd64'].key, a.builders['acme/bookworm'].key);
});

test('the same definition on two platforms gives two keys, with the platform among the inputs', () => {
  const deb = debian.builder('acme/bookworm', { ...MIRROR, platforms: ['linux/arm64', 'linux/amd64'] });
  const m = assemble([image('acme/jq').builder(deb).packages('jq')]).manifest;
  const per = m.images['acme/jq'].platforms!;
  assert.equal(Object.keys(per), ['linux/amd64', 'linux/arm64']);
  assert.is.not(per['linux/amd64'].key, per['linux/arm64'].key);
  assert.is(per['linux/arm64'].inputs.platform, 'linux/arm64');
  assert.is(per['linux/amd64'].inputs.platform, undefined);
  assert.is.not(per['linux/amd64'].inputs.builder, per['linux/arm64'].inputs.builder);
  assert.is(m.builders['acme/bookworm'].platforms!['linux/arm64'].def.arch, 'arm64');
  assert.is(m.builders['acme/bookworm'].platforms!['linux/arm64'].def.platforms, undefined);
});

test('children inherit the platforms, narrow them with .platforms(), and their keys chain per platform', () => {
  const deb = debian.builder('acme/bookworm', { ...MIRROR, platforms: ['linux/amd64', 'linux/arm64'] });
  const base = image('acme/base').builder(deb).packages('libc6');
  const both = image('acme/both').from(base).packages('jq');
  const arm = image('acme/arm').from(base).packages('jq').platforms('linux/arm64');
  const asm = assemble([both, arm]);
  const m = asm.manifest.images;
  assert.equal(asm.images.get('acme/both')!.platforms, ['linux/amd64', 'linux/arm64']);
  assert.equal(asm.images.get('acme/arm')!.platforms, ['linux/arm64']);
  assert.is(m['acme/arm'].key, m['acme/arm'].platforms!['linux/arm64'].key);
  assert.is(m['acme/both'].platforms!['linux/arm64'].inputs.parent, m['acme/base'].platforms!['linux/arm64'].key);
  assert.is(m['acme/both'].platforms!['linux/amd64'].inputs.parent, m['acme/base'].platforms!['linux/amd64'].key);
});

test('an unknown platform is reported at the line that names it', () => {
  const at = line() + 1;
  const deb = debian.builder('acme/bookworm', { ...MIRROR, platforms: ['linux/amd64', 'linux/sparc'] });
  const img = image('acme/jq').builder(deb).packages('jq');
  const at2 = line() + 1;
  const narrowed = image('acme/x').builder(debian.builder('acme/bookworm', MIRROR)).platforms('windows/amd64');
  const p = problemsOf([img, narrowed]);
  const unknown = p.filter((x) => /unknown platform/.test(x.message));
  assert.ok(unknown.some((x) => /"linux\/sparc"/.test(x.message) && x.site!.endsWith(`platform.test.ts:${at}`)), JSON.stringify(p));
  assert.ok(unknown.some((x) => /"windows\/amd64"/.test(x.message) && x.id === 'acme/x' && x.site!.endsWith(`platform.test.ts:${at2}`)), JSON.stringify(p));
});

test('a platform the builder does not build for is an error naming the builder', () => {
  const deb = debian.builder('acme/bookworm', MIRROR);
  const at = line() + 1;
  const img = image('acme/jq').builder(deb).packages('jq').platforms('linux/arm64');
  const [p] = problemsOf([img]);
  assert.is(p.id, 'acme/jq');
  assert.match(p.message, /builder acme\/bookworm names no platforms, so it cannot build for linux\/arm64/);
  assert.ok(p.site!.endsWith(`platform.test.ts:${at}`));
});

test('a parent without the child\'s platform is an error at the child\'s .platforms()', () => {
  const deb = debian.builder('acme/bookworm', { ...MIRROR, platforms: ['linux/amd64', 'linux/arm64'] });
  const base = image('acme/base').builder(deb).packages('libc6').platforms('linux/amd64');
  const at = line() + 1;
  const child = image('acme/child').from(base).packages('jq').platforms('linux/amd64', 'linux/arm64');
  const [p] = problemsOf([child]);
  assert.is(p.id, 'acme/child');
  assert.match(p.message, /built for linux\/amd64, linux\/arm64, but its parent acme\/base is built for linux\/amd64: the parent has no linux\/arm64/);
  assert.ok(p.site!.endsWith(`platform.test.ts:${at}`));
});

test('.copy() across platforms is an error at the .copy()', () => {
  const deb = debian.builder('acme/bookworm', { ...MIRROR, platforms: ['linux/amd64', 'linux/arm64'] });
  const tools = image('acme/tools').builder(deb).packages('busybox-static').platforms('linux/amd64');
  const at = line() + 1;
  const img = image('acme/app').builder(deb).copy({ from: tools, paths: ['/bin/busybox'] });
  const [p] = problemsOf([img]);
  assert.match(p.message, /\.copy\(\) across platforms: this image is built for linux\/amd64, linux\/arm64, but acme\/tools for linux\/amd64 \(no linux\/arm64\)/);
  assert.ok(p.site!.endsWith(`platform.test.ts:${at}`));
});

test('a Debian builder from a pulled image cannot name another platform', () => {
  const deb = debian.builder('acme/slim', { from: 'debian:bookworm-slim', platforms: ['linux/amd64', 'linux/arm64'] });
  const [p] = problemsOf([image('acme/x').builder(deb).packages('jq')]);
  assert.match(p.message, /need a bootstrapped builder \(mmdebstrap --arch\): a `from` image has one architecture/);
});

test('a Gentoo builder takes the stage3 flavour of each platform', () => {
  const bob = gentoo.builder('kubler/bob', { stage3: 'amd64-openrc', platforms: ['linux/amd64', 'linux/arm64'] });
  const arm = forPlatform(bob.def, 'linux/arm64');
  assert.ok(typeof arm !== 'string');
  assert.equal([arm.arch, arm.gentoo!.stage3], ['arm64', 'arm64-openrc']);
  const m = assemble([image('kubler/busybox').builder(bob).packages('sys-apps/busybox')]).manifest;
  assert.is(m.builders['kubler/bob'].platforms!['linux/arm64'].def.gentoo!.stage3, 'arm64-openrc');
  assert.is(m.builders['kubler/bob'].platforms!['linux/amd64'].def.gentoo!.stage3, 'amd64-openrc');
});

test('a stage3 flavour without an arm64 counterpart is an error at the builder', () => {
  const at = line() + 1;
  const bob = gentoo.builder('kubler/bob', { stage3: 'amd64-hardened-nomultilib', platforms: ['linux/amd64', 'linux/arm64'] });
  const [p] = problemsOf([image('kubler/busybox').builder(bob).packages('sys-apps/busybox')]);
  assert.match(p.message, /stage3 flavour "amd64-hardened-nomultilib" has no linux\/arm64 counterpart \("arm64-hardened-nomultilib" is not a known flavour; known: arm64-openrc/);
  assert.ok(p.site!.endsWith(`platform.test.ts:${at}`));
});

test.run();
