import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { debian, gentoo } from '../../src/sdk/builder';
import { filesOf, Image, image } from '../../src/sdk/image';
import { Site } from '../../src/sdk/site';
import { assemble } from '../../src/sdk/synth';
import { Testing } from '../../src/sdk/testing';
import { line } from './_line';

const bob = gentoo.builder('kubler/bob', { stage3: 'amd64-hardened-nomultilib' });
const deb = debian.builder('acme/bookworm', { from: 'debian:bookworm-slim' });
const HERE = relative(process.cwd(), __filename);

/** The state of an image as comparable data: call sites left out, bytes as base64. */
function snapshot(img: Image): string {
  return JSON.stringify(img.state, (_k, v: unknown) => {
    if (v instanceof Site) return 'site';
    if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer') return Buffer.from((v as { data: number[] }).data).toString('base64');
    return v;
  });
}

const problemsOf = (img: Image): string[] => img.state.problems.map((p) => `${p.site} ${p.message}`);

test('a base shared by two children never sees either child\'s packages, files or env', () => {
  const base = image('acme/base').builder(bob).packages('sys-libs/glibc').env('A', '1');
  const before = snapshot(base);
  const one = base.packages('net-misc/curl').file('/etc/one', 'one').env('B', '2').user('nobody');
  const two = base.packages('app-misc/jq').file('/etc/two', 'two').env('A', 'changed');
  assert.is(snapshot(base), before);
  assert.equal(base.state.packages.map((p) => p.spec), ['sys-libs/glibc']);
  assert.equal(one.state.packages.map((p) => p.spec), ['sys-libs/glibc', 'net-misc/curl']);
  assert.equal(two.state.packages.map((p) => p.spec), ['sys-libs/glibc', 'app-misc/jq']);
  assert.equal(filesOf(one.state).map((f) => f.path), ['/etc/one']);
  assert.equal(filesOf(two.state).map((f) => f.path), ['/etc/two']);
  assert.equal(base.state.config.env, { A: '1' });
  assert.equal(one.state.config.env, { A: '1', B: '2' });
  assert.equal(two.state.config.env, { A: 'changed' });
  assert.is(base.state.config.user, undefined);
});

test('children built with .from() leave the synthesized base as it was alone', () => {
  const base = image('acme/base').builder(deb).packages('libc6').env('A', '1');
  const alone = Testing.synth(base).image('acme/base');
  const app = Testing.synth(
    image('acme/one').from(base).packages('curl').env('B', '2').file('/etc/one', 'x'),
    image('acme/two').from(base).packages('jq').account({ user: 'app', uid: 1000 }),
  );
  assert.equal(app.image('acme/base').def, alone.def);
  assert.is(app.image('acme/base').key, alone.key);
});

test('every method returns a new Image and leaves the one it was called on unchanged', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-image-'));
  writeFileSync(join(dir, 'fix.patch'), '--- a\n+++ b\n');
  const other = image('acme/other').builder(bob);
  const base = image('acme/base').builder(bob).packages('sys-libs/glibc').env('A', '1');
  const calls: [string, (i: Image) => Image][] = [
    ['from', (i) => i.from(other)],
    ['builder', (i) => i.builder(deb)],
    ['packages', (i) => i.packages('net-misc/curl')],
    ['use', (i) => i.use('net-misc/curl', '+ssl')],
    ['keywords', (i) => i.keywords('net-misc/curl', '~amd64')],
    ['mask', (i) => i.mask('>=dev-lang/perl-5.40')],
    ['unmask', (i) => i.unmask('=dev-libs/libressl-3.9.2')],
    ['unmaskUse', (i) => i.unmaskUse('dev-lang/python', 'jit')],
    ['makeConf', (i) => i.makeConf({ MAKEOPTS: '-j2' })],
    ['packageEnv', (i) => i.packageEnv('app-shells/bash', { CFLAGS: '-Os' })],
    ['overlay', (i) => i.overlay('berne', { uri: 'https://github.com/berney/gentoo-overlay.git' })],
    ['provide', (i) => i.provide('sys-libs/glibc')],
    ['unprovide', (i) => i.unprovide('dev-libs/openssl')],
    ['patch', (i) => i.patch('app-shells/bash', join(dir, 'fix.patch'))],
    ['uninstall', (i) => i.uninstall('sys-apps/portage')],
    ['noBinpkgCache', (i) => i.noBinpkgCache('dev-libs/openssl')],
    ['runtimeLibs', (i) => i.runtimeLibs('gcc')],
    ['download', (i) => i.download('https://example.org/a.tar.gz', 'a'.repeat(64))],
    ['record', (i) => i.record('manual', 'jdk')],
    ['locale', (i) => i.locale('en_US.UTF-8')],
    ['keep', (i) => i.keep('headers')],
    ['purge', (i) => i.purge('usr/share/doc/**')],
    ['closure', (i) => i.closure({ roots: ['/usr/bin/curl'] })],
    ['copy', (i) => i.copy({ from: other, paths: ['/bin/x'] })],
    ['file', (i) => i.file('/etc/x', 'x')],
    ['account', (i) => i.account({ user: 'app', uid: 1000 })],
    ['user', (i) => i.user('nobody')],
    ['allowRoot', (i) => i.allowRoot()],
    ['entrypoint', (i) => i.entrypoint('/bin/app')],
    ['cmd', (i) => i.cmd('--help')],
    ['env', (i) => i.env('B', '2')],
    ['workdir', (i) => i.workdir('/srv')],
    ['expose', (i) => i.expose(8080)],
    ['volume', (i) => i.volume('/data')],
    ['label', (i) => i.label('a.b', 'c')],
    ['tag', (i) => i.tag('1.0')],
    ['needs', (i) => i.needs('libnss_files.so.2')],
    ['configureBuilder', (i) => i.configureBuilder('true')],
    ['configureRootfs', (i) => i.configureRootfs('true')],
    ['finishRootfs', (i) => i.finishRootfs('true')],
    ['test', (i) => i.test('/bin/app --version')],
    ['healthcheck', (i) => i.healthcheck({ cmd: ['/bin/app', 'ping'] })],
    ['ready', (i) => i.ready({ port: 8080 })],
    ['debug', (i) => i.debug()],
    ['vex', (i) => i.vex({ vulnerability: 'CVE-2023-4911', status: 'fixed' })],
  ];
  const before = snapshot(base);
  for (const [name, call] of calls) {
    const next = call(base);
    assert.instance(next, Image, name);
    assert.is.not(next, base, `${name} returned the same Image`);
    assert.is.not(snapshot(next), before, `${name} recorded nothing`);
    assert.is(snapshot(base), before, `${name} changed the Image it was called on`);
    assert.equal(next.state.problems, [], `${name}: ${problemsOf(next).join('; ')}`);
  }
});

test('Portage methods record their data in the definition', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-image-'));
  writeFileSync(join(dir, 'fix.patch'), 'patch bytes');
  const def = Testing.synth(
    image('acme/p').builder(bob)
      .packages('net-analyzer/nmap', 'sys-libs/zlib')
      .use('net-analyzer/nmap', '+ipv6', '-nls')
      .keywords('=net-analyzer/nmap-7.60', '~amd64')
      .mask('>=dev-lang/perl-5.40')
      .unmask('=dev-libs/libressl-3.9.2')
      .unmaskUse('dev-lang/python', 'jit')
      .makeConf({ MAKEOPTS: '-j2' })
      .packageEnv('app-shells/bash', { CFLAGS: '-Os' })
      .overlay('berne', { uri: 'https://github.com/berney/gentoo-overlay.git', branch: 'main' })
      .provide('sys-libs/glibc')
      .unprovide('dev-libs/openssl')
      .patch('app-shells/bash', join(dir, 'fix.patch'))
      .uninstall('sys-apps/portage')
      .noBinpkgCache('dev-libs/openssl')
      .runtimeLibs('gfortran', 'gcc')
      .download('https://example.org/app.tar.gz?x=1', 'b'.repeat(64))
      .record('manual', 'oracle-jdk-21')
      .locale('en_US.UTF-8', 'C.UTF-8'),
  ).image('acme/p').def;
  const p = def.portage;
  assert.equal(def.packages, ['net-analyzer/nmap', 'sys-libs/zlib']);
  assert.equal(p.use, [{ atom: 'net-analyzer/nmap', values: ['+ipv6', '-nls'] }]);
  assert.equal(p.keywords, [{ atom: '=net-analyzer/nmap-7.60', values: ['~amd64'] }]);
  assert.equal(p.mask, ['>=dev-lang/perl-5.40']);
  assert.equal(p.unmask, ['=dev-libs/libressl-3.9.2']);
  assert.equal(p.unmaskUse, [{ atom: 'dev-lang/python', values: ['jit'] }]);
  assert.equal(p.makeConf, { MAKEOPTS: '-j2' });
  assert.equal(p.packageEnv, [{ atom: 'app-shells/bash', name: 'imgsdk-app-shells_bash', vars: { CFLAGS: '-Os' } }]);
  assert.equal(p.overlays, [{ name: 'berne', uri: 'https://github.com/berney/gentoo-overlay.git', type: 'git', branch: 'main' }]);
  assert.equal(p.provide, ['sys-libs/glibc']);
  assert.equal(p.unprovide, ['dev-libs/openssl']);
  assert.equal(p.patches.map((x) => [x.atom, x.name]), [['app-shells/bash', 'fix.patch']]);
  assert.match(p.patches[0].sha256, /^[0-9a-f]{64}$/);
  assert.equal(p.uninstall, ['sys-apps/portage']);
  assert.equal(p.noBinpkgCache, ['dev-libs/openssl']);
  assert.equal(p.runtimeLibs, ['gcc', 'gfortran']);
  assert.equal(p.downloads, [{ url: 'https://example.org/app.tar.gz?x=1', sha256: 'b'.repeat(64), name: 'app.tar.gz' }]);
  assert.equal(p.record, [{ group: 'manual', name: 'oracle-jdk-21' }]);
  assert.equal(p.locales, ['C.UTF-8', 'en_US.UTF-8']);
});

test('rootfs, account and config methods record their data in the definition', () => {
  const busybox = image('acme/busybox').builder(bob).packages('sys-apps/busybox');
  const def = Testing.synth(
    image('acme/r').builder(bob)
      .keep('static-libs', 'headers')
      .purge('usr/share/nginx/**')
      .closure({ roots: ['/usr/bin/nmap'], keep: ['/usr/share/nmap/**'] })
      .copy({ from: busybox, paths: ['/bin/busybox'] })
      .account({ user: 'app', uid: 1000 })
      .account({ user: 'svc', uid: 1001, group: 'daemon', gid: 2, home: '/srv', shell: '/bin/false' })
      .file('/etc/app.conf', 'x=1\n', { mode: '0600', owner: 'app' })
      .file('/var/cache/app', { dir: true }, { owner: 'svc:daemon' })
      .file('/usr/bin/app', { symlink: '/opt/app/bin/app' })
      .user('app')
      .entrypoint('/usr/bin/app', '-v')
      .cmd('serve')
      .env('LANG', 'C.UTF-8')
      .workdir('/srv')
      .expose(8080, '53/udp')
      .volume('/data')
      .label('org.opencontainers.image.source', 'https://example.org')
      .tag('stable', '1.0')
      .needs('libnss_files.so.2')
      .configureBuilder('echo b')
      .configureRootfs('echo r')
      .finishRootfs('echo f')
      .test('/usr/bin/app --version')
      .healthcheck({ cmd: 'wget -q localhost:8080', retries: 5 })
      .debug(),
  ).image('acme/r').def;
  assert.equal(def.keep, ['headers', 'static-libs']);
  assert.equal(def.purge, ['usr/share/nginx/**']);
  assert.equal(def.closure, { roots: ['/usr/bin/nmap'], keep: ['/usr/share/nmap/**'] });
  assert.equal(def.copies, [{ from: 'acme/busybox', paths: ['/bin/busybox'] }]);
  assert.equal(def.accounts, [
    { user: 'app', uid: 1000, group: 'app', gid: 1000, home: '/home/app', shell: '/sbin/nologin' },
    { user: 'svc', uid: 1001, group: 'daemon', gid: 2, home: '/srv', shell: '/bin/false' },
  ]);
  assert.equal(def.files.map((f) => [f.path, f.type, f.mode, f.uid, f.gid, f.size, f.target]), [
    ['/etc/app.conf', 'file', 0o600, 1000, 1000, 4, null],
    ['/usr/bin/app', 'symlink', 0o777, 0, 0, 0, '/opt/app/bin/app'],
    ['/var/cache/app', 'dir', 0o755, 1001, 2, 0, null],
  ]);
  assert.equal(def.config, {
    entrypoint: ['/usr/bin/app', '-v'], cmd: ['serve'], env: { LANG: 'C.UTF-8' }, workdir: '/srv',
    expose: ['53/udp', '8080/tcp'], volumes: ['/data'], labels: { 'org.opencontainers.image.source': 'https://example.org' },
    user: 'app', healthcheck: { cmd: ['/bin/sh', '-c', 'wget -q localhost:8080'], interval: 5, timeout: 5, retries: 5, startPeriod: 3 },
  });
  assert.equal(def.tags, ['1.0', 'stable']);
  assert.equal(def.needs, ['libnss_files.so.2']);
  assert.equal(def.hooks, { configureBuilder: ['echo b'], configureRootfs: ['echo r'], finishRootfs: ['echo f'] });
  assert.equal(def.tests, ['/usr/bin/app --version']);
  assert.is(def.debug, true);
  assert.is(def.allowRoot, false);
  assert.is(Testing.synth(image('acme/root').builder(bob).entrypoint('/x').allowRoot()).image('acme/root').def.allowRoot, true);
});

test('a later .file() at the same path replaces the earlier one, and .account() of the same user too', () => {
  const img = image('acme/f').builder(deb).file('/etc/a', 'one').file('/etc/./a', 'two').account({ user: 'app', uid: 1 }).account({ user: 'app', uid: 2 });
  assert.equal(filesOf(img.state).map((f) => [f.path, f.content?.toString()]), [['/etc/a', 'two']]);
  assert.equal(img.state.accounts.map((a) => a.uid), [2]);
});

test('a call-site problem carries the caller\'s file and line and does not throw', () => {
  const l1 = line(); const a = image('acme/a').builder(bob).use('net-analyzer/nmap', '+ip v6');
  const l2 = line(); const b = a.account({ user: 'app', uid: -1 });
  const l3 = line(); const c = b
    .expose(70000);
  assert.equal(problemsOf(a), [`${HERE}:${l1} USE flag "+ip v6" is not a flag`]);
  // The gid defaults to the uid, so it is out of range too.
  assert.equal(problemsOf(b).slice(1), [`${HERE}:${l2} uid -1 is out of range (0 to 2147483647)`, `${HERE}:${l2} gid -1 is out of range (0 to 2147483647)`]);
  // The line of the method call, not of the statement's start.
  assert.is(problemsOf(c)[3], `${HERE}:${l3 + 1} port "70000" is not a port (1 to 65535, optionally /tcp, /udp or /sctp)`);
});

test('.file() refuses a whiteout name, which would delete a parent\'s file', () => {
  const l = line(); const img = image('acme/w').builder(bob).file('/usr/bin/.wh.hello', '');
  assert.equal(problemsOf(img), [`${HERE}:${l} file /usr/bin/.wh.hello: ".wh." names are layer whiteouts, which would delete a parent's files`]);
});

test('call-site problems reach synth as one line each, naming file, line and image', () => {
  const l = line(); const bad = image('acme/bad').builder(bob).file('etc/x', 'x').tag('no tags!').keep('nope' as never);
  const lines = Testing.problems(bad);
  assert.is(lines.length, 3);
  for (const s of lines) assert.ok(s.startsWith(`${HERE}:${l} acme/bad: `), s);
  assert.match(lines.join('\n'), /file path "etc\/x" is not absolute/);
  assert.match(lines.join('\n'), /"no tags!" is not a valid tag/);
  assert.match(lines.join('\n'), /keep: unknown category "nope"/);
});

test('a bad image id is reported at image(...)', () => {
  const l = line(); const bad = image('Not An Id').builder(deb);
  assert.equal(problemsOf(bad), [`${HERE}:${l} "Not An Id" is not an image id of the form namespace/name (lowercase letters, digits, . _ -)`]);
});

test('.file(path, { src }) reads the file relative to the defining file and reports a missing one', () => {
  const rel = relative(__dirname, join(mkdtempSync(join(tmpdir(), 'imgsdk-src-')), 'conf'));
  writeFileSync(join(__dirname, rel), 'from disk');
  const ok = image('acme/s').builder(deb).file('/etc/conf', { src: rel });
  assert.is(filesOf(ok.state)[0].content?.toString(), 'from disk');
  const l = line(); const missing = image('acme/s').builder(deb).file('/etc/conf', { src: 'no/such/file' });
  assert.is(missing.state.problems.length, 1);
  assert.ok(problemsOf(missing)[0].startsWith(`${HERE}:${l} file /etc/conf: cannot read ${join(__dirname, 'no/such/file')}: ENOENT`), problemsOf(missing)[0]);
});

test('.file() of "/" or of a path ending in "/" is a problem at its line; a directory may end in "/"', () => {
  const l = line(); const bad = image('acme/f').builder(deb).file('/', 'x').file('/etc/x/', 'y').file('/etc/.', 'z').file('/etc/l/', { symlink: 'x' });
  assert.equal(problemsOf(bad), [
    `${HERE}:${l} file "/": the root directory is the image's own; name a path below it`,
    `${HERE}:${l} file "/etc/x/" ends in "/": name the file (a directory is { dir: true })`,
    `${HERE}:${l} file "/etc/." ends in "/": name the file (a directory is { dir: true })`,
    `${HERE}:${l} file "/etc/l/" ends in "/": name the link (a directory is { dir: true })`,
  ]);
  const dir = image('acme/f').builder(deb).file('/srv/data/', { dir: true });
  assert.equal(problemsOf(dir), []);
  assert.equal(filesOf(dir.state).map((f) => f.path), ['/srv/data']);
});

test('.file() with a source outside the project is a warning at synth and keeps the source mode unless one is given', () => {
  const secret = join(mkdtempSync(join(tmpdir(), 'imgsdk-outside-')), 'shadow');
  writeFileSync(secret, 'root:*:1::::::\n', { mode: 0o640 });
  const rel = relative(__dirname, secret);
  const l = line(); const img = image('acme/o').builder(deb).file('/etc/shadow', { src: rel }).user('nobody');
  assert.equal(img.state.problems, []);
  assert.is(filesOf(img.state)[0].mode, 0o640, 'the source mode, not 0644');
  const warnings = assemble(img, { epoch: 0 }).warnings.map((w) => `${w.site} ${w.id}: ${w.message}`);
  const root = resolve(__dirname, '..', '..');
  assert.equal(warnings, [`${HERE}:${l} acme/o: file /etc/shadow: its source ${secret} is outside the project (${root}); it is copied into the assembly and the image with its mode 0640`]);

  const told = image('acme/o').builder(deb).file('/etc/shadow', { src: rel }, { mode: 0o600 }).user('nobody');
  assert.is(filesOf(told.state)[0].mode, 0o600);
  assert.match(assemble(told, { epoch: 0 }).warnings[0].message, /and the image$/);

  const inside = image('acme/o').builder(deb).file('/etc/app.conf', { src: '../fixtures/app.ts' }).user('nobody');
  assert.equal(assemble(inside, { epoch: 0 }).warnings, []);
  assert.is(filesOf(inside.state)[0].mode, 0o644);
});

test('.with(fn) applies a transform, and a problem inside it names the transform\'s line', () => {
  let l = 0;
  const hardened = (i: Image): Image => {
    l = line(); return i.user('nobody').label('hardened', 'yes').env('bad name', 'x');
  };
  const base = image('acme/w').builder(deb);
  const img = base.with(hardened);
  assert.is.not(img, base);
  assert.is(img.state.config.user, 'nobody');
  assert.equal(img.state.config.labels, { hardened: 'yes' });
  assert.is(base.state.config.user, undefined);
  assert.equal(problemsOf(img), [`${HERE}:${l} "bad name" is not an environment variable name`]);
});

test('the id getter returns the image id', () => {
  assert.is(image('acme/id').id, 'acme/id');
});

test('.ready() records a port or a command with its timeout, and says what is wrong with anything else', () => {
  const base = image('acme/srv').builder(deb).packages('redis-server').user('nobody');
  assert.equal(Testing.synth(base.ready({ port: 6379 })).image('acme/srv').def.ready, { port: 6379, timeout: 30 });
  assert.equal(Testing.synth(base.ready({ cmd: 'redis-cli ping', timeout: 5 })).image('acme/srv').def.ready, { cmd: ['redis-cli', 'ping'], timeout: 5 });
  assert.is(Testing.synth(base).image('acme/srv').def.ready, undefined, 'an image without .ready() has none (its definition is as before)');
  const problems = (i: Image) => Testing.problems(i).join('\n');
  assert.match(problems(base.ready({})), /acme\/srv.*ready: give either a port or a cmd/);
  assert.match(problems(base.ready({ port: 70000 })), /port 70000 is not a TCP port/);
  assert.match(problems(base.ready({ port: 80, timeout: 0 })), /timeout 0 must be a number of seconds > 0/);
});

test.run();
