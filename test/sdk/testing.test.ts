import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../src/contract/errors';
import { app } from '../../src/sdk/app';
import { debian, gentoo } from '../../src/sdk/builder';
import { image } from '../../src/sdk/image';
import { nonRoot } from '../../src/sdk/policy';
import { Testing } from '../../src/sdk/testing';

const bob = gentoo.builder('kubler/bob', { stage3: 'amd64-hardened-nomultilib' });
const deb = debian.builder('acme/bookworm', { from: 'debian:bookworm-slim' });
const glibc = image('kubler/glibc').builder(bob).packages('sys-libs/glibc');
const nmap = image('mynamespace/nmap')
  .from(glibc)
  .packages('=net-analyzer/nmap-7.60')
  .use('net-analyzer/nmap', '+ipv6', '-nls', 'ssl')
  .keywords('=net-analyzer/nmap-7.60', '~amd64')
  .mask('>=dev-lang/perl-5.40')
  .unmask('=dev-libs/libressl-3.9.2')
  .provide('=sys-kernel/linux-headers-6.6')
  .makeConf({ MAKEOPTS: '-j2' })
  .overlay('berne', { uri: 'https://github.com/berney/gentoo-overlay.git' })
  .entrypoint('/usr/bin/nmap', '-v')
  .account({ user: 'nmap', uid: 1000 })
  .user('nmap')
  .file('/etc/nmap.conf', 'x');
const web = image('acme/web').builder(deb).packages('nginx-light').entrypoint('/usr/sbin/nginx').allowRoot();

/** Runs `fn`, expects it to throw a plain Error, and returns its message. */
function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.is((e as Error).constructor, Error, `not a plain Error: ${(e as Error).constructor.name}`);
    return (e as Error).message;
  }
  assert.unreachable('did not throw');
  return '';
}

test('Testing.synth lists every image, the reachable parents too, sorted', () => {
  const t = Testing.synth(nmap, web);
  assert.equal(t.ids, ['acme/web', 'kubler/glibc', 'mynamespace/nmap']);
  assert.equal(t.manifest.order, [['acme/web', 'kubler/glibc'], ['mynamespace/nmap']]);
});

test('Testing.synth writes no file and takes arrays, objects and apps', () => {
  assert.equal(Testing.synth([web], { nmap }).ids, Testing.synth(app(nmap, web)).ids);
  assert.is(Testing.synth(web).assembly.files.get('acme/web/apt/packages.list'), 'nginx-light\n');
});

test('an image view exposes the definition, key, config and packages', () => {
  const t = Testing.synth(nmap);
  const v = t.image('mynamespace/nmap');
  assert.is(v.id, 'mynamespace/nmap');
  assert.is(v.key, t.manifest.images['mynamespace/nmap'].key);
  assert.equal(v.packages, ['=net-analyzer/nmap-7.60']);
  assert.equal(v.config.entrypoint, ['/usr/bin/nmap', '-v']);
  assert.is(v.def.parent, 'kubler/glibc');
});

test('the assertions pass and chain when they hold', () => {
  Testing.synth(nmap)
    .image('mynamespace/nmap')
    .hasPackage('=net-analyzer/nmap-7.60')
    .hasPackage('net-analyzer/nmap')
    .hasPackage('nmap')
    .usesFlag('net-analyzer/nmap', '+ipv6')
    .usesFlag('net-analyzer/nmap', 'ipv6')
    .usesFlag('net-analyzer/nmap', '-nls')
    .usesFlag('net-analyzer/nmap', 'ssl')
    .runsAsNonRoot()
    .hasFile('/etc/nmap.conf')
    .hasEntrypoint('/usr/bin/nmap', '-v')
    .hasParent('kubler/glibc');
  Testing.synth(nmap).image('kubler/glibc').hasParent(null);
  Testing.synth(web).image('acme/web').hasPackage('nginx-light');
  Testing.synth(web.packages('curl=8.5.0-2', 'libc6:amd64'))
    .image('acme/web')
    .hasPackage('curl')
    .hasPackage('libc6')
    .hasPackage('curl=8.5.0-2');
});

test('hasPackage fails with the image id and what it installs', () => {
  const v = Testing.synth(nmap).image('mynamespace/nmap');
  assert.is(
    failure(() => v.hasPackage('net-misc/curl')),
    'mynamespace/nmap does not install net-misc/curl (installs: =net-analyzer/nmap-7.60)',
  );
  assert.is(
    failure(() => v.hasPackage('net-analyzer')),
    'mynamespace/nmap does not install net-analyzer (installs: =net-analyzer/nmap-7.60)',
  );
  assert.is(
    failure(() => Testing.synth(web).image('acme/web').hasPackage('nginx')),
    'acme/web does not install nginx (installs: nginx-light)',
  );
  assert.is(
    failure(() => Testing.synth(image('acme/none').builder(deb)).image('acme/none').hasPackage('x')),
    'acme/none does not install x (installs: nothing)',
  );
});

test('usesFlag fails for a missing flag and for the opposite sign', () => {
  const v = Testing.synth(nmap).image('mynamespace/nmap');
  assert.is(
    failure(() => v.usesFlag('net-analyzer/nmap', 'lua')),
    'mynamespace/nmap: net-analyzer/nmap has no USE flag lua',
  );
  assert.is(
    failure(() => v.usesFlag('net-analyzer/nmap', 'nls')),
    'mynamespace/nmap: net-analyzer/nmap has no USE flag nls',
  );
  assert.is(
    failure(() => v.usesFlag('net-analyzer/nmap', '-ipv6')),
    'mynamespace/nmap: net-analyzer/nmap has no USE flag -ipv6',
  );
  assert.is(
    failure(() => v.usesFlag('other/pkg', 'ipv6')),
    'mynamespace/nmap: other/pkg has no USE flag ipv6',
  );
});

test('runsAsNonRoot fails for an image that runs as root, naming the user', () => {
  assert.is(
    failure(() => Testing.synth(web).image('acme/web').runsAsNonRoot()),
    'acme/web runs as root (user unset)',
  );
  const root = web.user('root');
  assert.is(
    failure(() => Testing.synth(root).image('acme/web').runsAsNonRoot()),
    'acme/web runs as root (user root)',
  );
});

test('hasFile, hasEntrypoint and hasParent fail with what was found', () => {
  const v = Testing.synth(nmap).image('mynamespace/nmap');
  assert.is(
    failure(() => v.hasFile('/etc/other')),
    'mynamespace/nmap adds no file /etc/other',
  );
  assert.is(
    failure(() => v.hasEntrypoint('/usr/bin/nmap')),
    'mynamespace/nmap: entrypoint is ["/usr/bin/nmap","-v"], not ["/usr/bin/nmap"]',
  );
  assert.is(
    failure(() => v.hasParent(null)),
    'mynamespace/nmap: parent is kubler/glibc, not scratch',
  );
  assert.is(
    failure(() => Testing.synth(glibc).image('kubler/glibc').hasParent('a/b')),
    'kubler/glibc: parent is scratch, not a/b',
  );
  assert.is(
    failure(() => Testing.synth(glibc).image('kubler/glibc').hasEntrypoint('/x')),
    'kubler/glibc: entrypoint is null, not ["/x"]',
  );
});

test('image() of an unknown id fails listing the ids there are', () => {
  assert.is(
    failure(() => Testing.synth(nmap).image('acme/nope')),
    'no image acme/nope (images: kubler/glibc, mynamespace/nmap)',
  );
});

test('the portage view parses the rendered files back into lines', () => {
  const p = Testing.synth(nmap).image('mynamespace/nmap').portage;
  assert.equal(p.packageUse, ['net-analyzer/nmap ipv6 -nls ssl']);
  assert.equal(p.acceptKeywords, ['=net-analyzer/nmap-7.60 ~amd64']);
  assert.equal(p.mask, ['>=dev-lang/perl-5.40']);
  assert.equal(p.unmask, ['=dev-libs/libressl-3.9.2']);
  assert.equal(p.provided, ['sys-kernel/linux-headers-6.6']);
  assert.match(p.makeConf, /^MAKEOPTS="-j2"$/m);
  assert.equal(Object.keys(p.reposConf), ['berne']);
  assert.match(p.reposConf.berne, /^sync-uri = https:\/\/github\.com\/berney\/gentoo-overlay\.git$/m);
  assert.is(p.file('package.use/imgsdk'), '# generated by imgsdk\nnet-analyzer/nmap ipv6 -nls ssl\n');
  assert.is(p.file('nope'), undefined);
  const empty = Testing.synth(glibc).image('kubler/glibc').portage;
  assert.equal([empty.packageUse, empty.mask, empty.makeConf], [[], [], '']);
});

test("file() reads any file of the image's assembly directory", () => {
  const v = Testing.synth(web).image('acme/web');
  assert.match(v.file('build.sh')!, /debian\.sh/);
  assert.is(v.file('apt/packages.list'), 'nginx-light\n');
  assert.is(v.file('portage/make.conf'), undefined);
});

test("Testing.problems returns synth's lines, or none", () => {
  assert.equal(Testing.problems(nmap, web), []);
  const lines = Testing.problems(app(web).policy(nonRoot()), image('acme/x').from('acme/nope'));
  assert.is(lines.length, 2);
  // Problems of the definitions first, then what the policies say.
  assert.match(lines[0], /^test\/sdk\/testing\.test\.ts:\d+ acme\/x: unknown parent "acme\/nope"/);
  assert.match(lines[1], /^test\/sdk\/testing\.test\.ts:\d+ acme\/web: policy nonRoot: runs as root$/);
});

test("Testing.warnings and TestAssembly.warnings return synth's warning lines, or none", () => {
  assert.equal(Testing.warnings(nmap, web), []);
  assert.equal(Testing.synth(nmap).warnings, []);
  const unpinned = image('mynamespace/nmap2').from(glibc).packages('net-analyzer/nmap').keywords('=net-analyzer/nmap-7.60', '~amd64');
  assert.equal(Testing.warnings(unpinned), Testing.synth(unpinned).warnings);
  assert.match(
    Testing.warnings(unpinned)[0],
    /^test\/sdk\/testing\.test\.ts:\d+ mynamespace\/nmap2: \.keywords\("=net-analyzer\/nmap-7\.60"\) does not pin/,
  );
});

test('Testing.synth throws the ValidationError synth would', () => {
  try {
    Testing.synth(image('acme/x').from('acme/nope'));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, ValidationError);
    assert.match((e as Error).message, /^1 problem in the image definitions:\n.*acme\/x: unknown parent/);
  }
});

test('hasPlatforms holds for the platforms an image is built for, in any order and by short name', () => {
  const multi = debian.builder('acme/bookworm-multi', { suite: 'bookworm', platforms: ['linux/amd64', 'linux/arm64'] });
  const jq = image('acme/jq').builder(multi).packages('jq').user('nobody');
  const child = image('acme/jq-child').from(jq).file('/x', 'x');
  const t = Testing.synth(jq, child);
  t.image('acme/jq').hasPlatforms('linux/arm64', 'linux/amd64');
  t.image('acme/jq-child').hasPlatforms('amd64', 'arm64');
  assert.throws(() => t.image('acme/jq').hasPlatforms('linux/amd64'), /acme\/jq is built for linux\/amd64, linux\/arm64, not linux\/amd64/);
  const host = Testing.synth(image('acme/host').builder(deb).packages('jq').user('nobody')).image('acme/host');
  assert.is(host.platforms, null);
  assert.throws(
    () => host.hasPlatforms('linux/amd64'),
    /acme\/host is built for the host's platform only \(it names none\), not linux\/amd64/,
  );
  assert.throws(() => host.hasPlatforms('linux/sparc'), /"linux\/sparc" is not a platform imgsdk knows/);
});

test.run();
