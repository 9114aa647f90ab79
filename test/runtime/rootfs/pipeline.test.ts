import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { debian, image, type Image } from '../../../src';
import { BuildError } from '../../../src/contract/errors';
import { BlobStore } from '../../../src/runtime/store/blobs';
import type { Entry } from '../../../src/runtime/store/entry';
import { runPipeline } from '../../../src/runtime/rootfs/pipeline';
import { Testing } from '../../../src/sdk/testing';
import { dir, makeTar, type TarItem } from './_tar-fixture';

const deb = debian.builder('acme/bookworm', { suite: 'bookworm' });
let tmp: string;
let blobs: BlobStore;
test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'imgsdk-pipeline-'));
  blobs = new BlobStore(join(tmp, 'blobs'));
});
test.after(() => rm(tmp, { recursive: true, force: true }));

/** Runs the pipeline of `img` over a phase-1 tar made of `items`, on top of `parents`. */
async function build(img: Image, items: readonly TarItem[], parents: Entry[][] = [], files: Record<string, string> = {}) {
  const rootfsTar = join(tmp, `${Math.random().toString(36).slice(2)}.tar`);
  await pipeline(makeTar(items), createWriteStream(rootfsTar));
  const def = Testing.synth(img).image(img.id).def;
  const bodies = new Map(Object.values(files).map((c) => [createHash('sha256').update(c).digest('hex'), Buffer.from(c)]));
  return runPipeline({
    def,
    libc: 'glibc',
    rootfsTar,
    origins: {},
    packages: [],
    parents,
    inheritedAccounts: [],
    copySources: new Map(),
    blobs,
    readFile: async (sha) => bodies.get(sha)!,
  });
}

async function buildError(img: Image, items: readonly TarItem[], parents: Entry[][] = []): Promise<string> {
  try {
    await build(img, items, parents);
  } catch (e) {
    assert.instance(e, BuildError);
    return (e as Error).message;
  }
  assert.unreachable('the build passed');
  return '';
}

test('setuid and setgid files from packages lose the bits and are reported, unless the image keeps them', async () => {
  const items: TarItem[] = [
    { name: 'usr/', type: 'directory' },
    { name: 'usr/bin/', type: 'directory' },
    { name: 'usr/bin/passwd', mode: 0o4755, body: 'x' },
  ];
  const r = await build(image('acme/a').builder(deb).packages('passwd'), items);
  assert.is(r.entries.find((e) => e.path === 'usr/bin/passwd')!.mode, 0o755);
  assert.equal(
    r.stripped.map((s) => [s.path, s.what]),
    [['usr/bin/passwd', ['setuid']]],
  );
  const kept = await build(image('acme/a').builder(deb).packages('passwd').keep('setuid'), items);
  assert.is(kept.entries.find((e) => e.path === 'usr/bin/passwd')!.mode, 0o4755);
});

test("a hardlink header claiming setuid gets its target's mode, and is stripped like any file", async () => {
  const r = await build(image('acme/a').builder(deb).packages('xx'), [
    { name: 'opt/', type: 'directory' },
    { name: 'opt/plain', mode: 0o755, body: 'plain' },
    { name: 'opt/link', type: 'link', linkname: 'opt/plain', mode: 0o4755 },
  ]);
  assert.equal(
    r.entries.filter((e) => e.path.startsWith('opt/')).map((e) => [e.path, e.mode]),
    [
      ['opt/link', 0o755],
      ['opt/plain', 0o755],
    ],
  );
});

test('a whiteout name in a layer is refused, from a hook or from .file()', async () => {
  assert.match(
    await buildError(image('acme/w').builder(deb).packages('xx'), [{ name: 'usr/bin/.wh.hello', body: '' }]),
    /usr\/bin\/\.wh\.hello: a whiteout name/,
  );
});

test('a child may not put a file where its parent has a directory', async () => {
  const parent = [dir('usr'), dir('usr/lib'), dir('usr/lib/x86_64-linux-gnu')];
  const msg = await buildError(
    image('acme/c').builder(deb).packages('xx'),
    [
      { name: 'usr/', type: 'directory' },
      { name: 'usr/lib/', type: 'directory' },
      { name: 'usr/lib/x86_64-linux-gnu', body: 'oops' },
    ],
    [parent],
  );
  assert.match(msg, /usr\/lib\/x86_64-linux-gnu: a file where a parent layer has a directory/);
});

test('an entry whose path passes through a symlink is refused (esc -> / plus esc/usr/bin/sh)', async () => {
  const msg = await buildError(image('acme/s').builder(deb).packages('xx'), [
    { name: 'esc', type: 'symlink', linkname: '/' },
    { name: 'esc/usr/bin/sh', body: '#!x' },
  ]);
  assert.match(msg, /esc\/usr\/bin\/sh: its path passes through a symlink/);
});

test('accounts that the install created own their files in the image', async () => {
  const img = image('acme/r').builder(deb).packages('redis-server');
  const rootfsTar = join(tmp, 'redis.tar');
  await pipeline(
    makeTar([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/redis/', type: 'directory', mode: 0o2770 },
    ]),
    createWriteStream(rootfsTar),
  );
  const r = await runPipeline({
    def: Testing.synth(img).image('acme/r').def,
    libc: 'glibc',
    rootfsTar,
    origins: {},
    packages: [],
    parents: [],
    inheritedAccounts: [],
    copySources: new Map(),
    blobs,
    readFile: async () => Buffer.alloc(0),
    createdAccounts: [{ user: 'redis', uid: 100, gid: 101, group: 'redis', home: '/var/lib/redis', shell: '/usr/sbin/nologin' }],
  });
  const passwd = (await blobs.read(r.entries.find((e) => e.path === 'etc/passwd')!.sha256!)).toString();
  assert.match(passwd, /^redis:x:100:101:/m);
  assert.equal(
    r.createdAccounts.map((a) => a.user),
    ['redis'],
  );
});

/** A phase-1 tar of `items` with owners, run through the pipeline as `img` with these packages. */
async function buildOwned(
  img: Image,
  items: readonly TarItem[],
  origins: Record<string, string>,
  packages: { name: string; section: string; depends?: string[] }[],
) {
  const rootfsTar = join(tmp, `${Math.random().toString(36).slice(2)}.tar`);
  await pipeline(makeTar(items), createWriteStream(rootfsTar));
  return runPipeline({
    def: Testing.synth(img).image(img.id).def,
    libc: 'glibc',
    rootfsTar,
    origins,
    parents: [],
    inheritedAccounts: [],
    copySources: new Map(),
    blobs,
    packages: packages.map((p) => ({ version: '1', origin: 'debian' as const, priority: 'optional', depends: [], ...p })),
    readFile: async () => Buffer.alloc(0),
  });
}

test("privileges removed from a file of a package the image names are a warning for the console; a dependency's are not", async () => {
  const items: TarItem[] = [
    { name: 'usr/', type: 'directory' },
    { name: 'usr/bin/', type: 'directory' },
    { name: 'usr/bin/sudo', mode: 0o4755, body: 'x' },
    { name: 'usr/bin/passwd', mode: 0o4755, body: 'y' },
  ];
  const origins = { 'usr/bin/sudo': 'sudo', 'usr/bin/passwd': 'passwd' };
  const r = await buildOwned(image('acme/s').builder(deb).packages('sudo'), items, origins, [
    { name: 'sudo', section: 'admin', depends: ['passwd'] },
    { name: 'passwd', section: 'admin' },
  ]);
  assert.equal(r.stripped.map((f) => f.path).sort(), ['usr/bin/passwd', 'usr/bin/sudo']);
  assert.is(r.warnings.length, 1);
  assert.match(r.warnings[0], /setuid removed from \/usr\/bin\/sudo \(package sudo.*\.keep\('setuid'\)/);
  const kept = await buildOwned(image('acme/s').builder(deb).packages('sudo').keep('setuid'), items, origins, [
    { name: 'sudo', section: 'admin' },
  ]);
  assert.equal(kept.warnings, []);
});

test('a standard account a kept configuration file names is written to /etc/passwd as base-passwd defines it, and tmpfiles.d makes /run directories', async () => {
  const items: TarItem[] = [
    { name: 'etc/', type: 'directory' },
    { name: 'etc/nginx/', type: 'directory' },
    { name: 'etc/nginx/nginx.conf', body: 'user www-data;\nworker_processes auto;\n' },
    { name: 'usr/', type: 'directory' },
    { name: 'usr/lib/', type: 'directory' },
    { name: 'usr/lib/tmpfiles.d/', type: 'directory' },
    { name: 'usr/lib/tmpfiles.d/nginx.conf', body: 'd /run/nginx 0750 www-data www-data -\n' },
    { name: 'usr/share/', type: 'directory' },
    { name: 'usr/share/base-passwd/', type: 'directory' },
    {
      name: 'usr/share/base-passwd/passwd.master',
      body: 'root:*:0:0:root:/root:/bin/bash\nwww-data:*:33:33:www-data:/var/www:/usr/sbin/nologin\n',
    },
    { name: 'usr/share/base-passwd/group.master', body: 'root:*:0:\nwww-data:*:33:\n' },
  ];
  const origins = {
    'etc/nginx/nginx.conf': 'nginx',
    'usr/lib/tmpfiles.d/nginx.conf': 'nginx',
    'usr/share/base-passwd/passwd.master': 'base-passwd',
    'usr/share/base-passwd/group.master': 'base-passwd',
  };
  const r = await buildOwned(image('acme/n').builder(deb).packages('nginx'), items, origins, [{ name: 'nginx', section: 'httpd' }]);
  const text = async (p: string) => (await blobs.read(r.entries.find((e) => e.path === p)!.sha256!)).toString();
  assert.match(await text('etc/passwd'), /^www-data:x:33:33:/m);
  assert.match(await text('etc/group'), /^www-data:x:33:/m);
  const run = r.entries.find((e) => e.path === 'run/nginx')!;
  assert.equal([run.type, run.mode, run.uid, run.gid], ['dir', 0o750, 33, 33]);
  assert.not.ok(
    r.entries.some((e) => e.type === 'file' && e.path.startsWith('usr/share/base-passwd/')),
    'base-passwd is offered, not kept',
  );
  assert.equal(
    r.createdAccounts.map((a) => a.user ?? a.group),
    ['www-data'],
  );
});

test("an image with a C compiler keeps the headers and start files it compiles against (varnish's VCL); one without drops them", async () => {
  const items: TarItem[] = [
    { name: 'usr/', type: 'directory' },
    { name: 'usr/include/', type: 'directory' },
    { name: 'usr/include/stdio.h', body: '#pragma once\n' },
    { name: 'usr/lib/', type: 'directory' },
    { name: 'usr/lib/crti.o', body: 'o' },
  ];
  const origins = { 'usr/include/stdio.h': 'libc6-dev', 'usr/lib/crti.o': 'libc6-dev' };
  const packages = [
    { name: 'varnish', section: 'web', depends: ['gcc', 'libc6-dev'] },
    { name: 'gcc', section: 'devel' },
    { name: 'libc6-dev', section: 'libdevel' },
  ];
  const r = await buildOwned(image('acme/v').builder(deb).packages('varnish'), items, origins, packages);
  assert.ok(['usr/include/stdio.h', 'usr/lib/crti.o'].every((p) => r.entries.some((e) => e.path === p)));
  assert.ok(
    r.notes.some((n) => /headers and static-libs kept: the image has a C compiler \(gcc\)/.test(n)),
    r.notes.join('\n'),
  );
  const none = await buildOwned(image('acme/v').builder(deb).packages('varnish'), items, origins, [
    { name: 'varnish', section: 'web', depends: ['libc6-dev'] },
    packages[2],
  ]);
  assert.not.ok(none.entries.some((e) => e.path === 'usr/include/stdio.h' || e.path === 'usr/lib/crti.o'));
});

test("the directories a purged service unit makes before its daemon starts exist in the image (sshd's RuntimeDirectory=sshd)", async () => {
  const items: TarItem[] = [
    { name: 'usr/', type: 'directory' },
    { name: 'usr/sbin/', type: 'directory' },
    { name: 'usr/sbin/sshd', body: 'x', mode: 0o755 },
    { name: 'usr/lib/', type: 'directory' },
    { name: 'usr/lib/systemd/', type: 'directory' },
    { name: 'usr/lib/systemd/system/', type: 'directory' },
    { name: 'usr/lib/systemd/system/ssh.service', body: '[Service]\nRuntimeDirectory=sshd\nRuntimeDirectoryMode=0755\n' },
    { name: 'usr/lib/systemd/system/other.service', body: '[Service]\nRuntimeDirectory=other\n' },
  ];
  const origins = {
    'usr/sbin/sshd': 'openssh-server',
    'usr/lib/systemd/system/ssh.service': 'openssh-server',
    'usr/lib/systemd/system/other.service': 'other',
  };
  const r = await buildOwned(image('acme/ssh').builder(deb).packages('openssh-server'), items, origins, [
    { name: 'openssh-server', section: 'net' },
    { name: 'other', section: 'libs' },
  ]);
  const sshd = r.entries.find((e) => e.path === 'run/sshd');
  assert.equal([sshd?.type, sshd?.mode, sshd?.uid], ['dir', 0o755, 0]);
  assert.not.ok(
    r.entries.some((e) => e.path.startsWith('usr/lib/systemd/')),
    'the units themselves are purged',
  );
  assert.not.ok(
    r.entries.some((e) => e.path === 'run/other'),
    'a unit of a package the image keeps nothing of makes nothing',
  );
});

test.run();
