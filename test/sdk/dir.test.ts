import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { debian } from '../../src/sdk/builder';
import { image } from '../../src/sdk/image';
import { assemble } from '../../src/sdk/synth';
import { Testing } from '../../src/sdk/testing';
import { ValidationError } from '../../src/contract/errors';

const deb = debian.builder('acme/bookworm', { from: 'debian:bookworm-slim' });

/** A fresh host tree from `files` (path → content; a trailing `/` makes a directory). */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'imgsdk-dir-'));
  for (const [p, content] of Object.entries(files)) {
    if (p.endsWith('/')) mkdirSync(join(root, p), { recursive: true });
    else {
      mkdirSync(join(root, p, '..'), { recursive: true });
      writeFileSync(join(root, p), content);
    }
  }
  return root;
}

const problems = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.problems.map((p) => `${p.id}: ${p.message}`);
    throw e;
  }
  return [];
};

const paths = (img: ReturnType<typeof image>, id = img.id) =>
  Testing.synth(img)
    .image(id)
    .def.dirs!.flatMap((d) => d.entries.map((e) => e.path));

test('a directory becomes sorted entries under its destination, with bodies in the assembly', () => {
  const src = tree({ 'server.js': 'console.log(1)', 'lib/a.js': 'a', 'lib/b.js': 'b' });
  const img = image('acme/app').builder(deb).dir('/app', { src });
  const asm = assemble(img);
  const def = asm.images.get('acme/app')!;
  assert.equal(
    def.dirs!.map((d) => d.dest),
    ['/app'],
  );
  assert.equal(
    def.dirs![0].entries.map((e) => [e.path, e.type]),
    [
      ['/app', 'dir'],
      ['/app/lib', 'dir'],
      ['/app/lib/a.js', 'file'],
      ['/app/lib/b.js', 'file'],
      ['/app/server.js', 'file'],
    ],
  );
  const server = def.dirs![0].entries.find((e) => e.path === '/app/server.js')!;
  assert.is(asm.files.get(`acme/app/files/${server.sha256}`)!.toString(), 'console.log(1)');
});

test("Testing's hasFile sees the files of a .dir()", () => {
  const src = tree({ 'server.js': 'x' });
  const view = Testing.synth(image('acme/app').builder(deb).dir('/app', { src })).image('acme/app');
  view.hasFile('/app/server.js');
  assert.throws(() => view.hasFile('/app/other.js'), /acme\/app adds no file \/app\/other\.js/);
});

test("modes are the host's unless told, and owners resolve through .account()", () => {
  const src = tree({ 'run.sh': '#!/bin/sh\n', 'data.txt': 'x' });
  chmodSync(join(src, 'run.sh'), 0o750);
  chmodSync(join(src, 'data.txt'), 0o640);
  const base = image('acme/app').builder(deb).account({ user: 'app', uid: 1000 });
  const host = Testing.synth(base.dir('/srv', { src, owner: 'app' })).image('acme/app').def.dirs![0].entries;
  assert.equal(host.map((e) => [e.path, e.mode.toString(8), e.uid, e.gid]).slice(1), [
    ['/srv/data.txt', '640', 1000, 1000],
    ['/srv/run.sh', '750', 1000, 1000],
  ]);
  const told = Testing.synth(base.dir('/srv', { src, mode: { file: 0o644, dir: '0750' } })).image('acme/app').def.dirs![0].entries;
  assert.equal(
    told.map((e) => e.mode.toString(8)),
    ['750', '644', '644'],
  );
  assert.equal(
    problems(() => assemble(base.dir('/srv', { src, owner: 'nope' }))).map((p) => p.replace(/^\S+ /, '')),
    [
      'dir /srv: owner "nope" has no .account() in this image or its parents, and acme/app installs no packages whose install could create it',
    ],
  );
});

test("ignore patterns and the tree's .dockerignore leave paths out, ! brings them back with their directories", () => {
  const src = tree({
    '.dockerignore': '# local\nnode_modules\n*.log\n',
    'a.js': '',
    'x.log': '',
    'node_modules/m/index.js': '',
    'node_modules/m/keep.txt': '',
    'docs/r.md': '',
  });
  const img = image('acme/app').builder(deb);
  assert.equal(paths(img.dir('/app', { src })), ['/app', '/app/.dockerignore', '/app/a.js', '/app/docs', '/app/docs/r.md']);
  assert.equal(paths(img.dir('/app', { src, ignore: ['docs', '!node_modules/m/keep.txt', '.dockerignore'] })), [
    '/app',
    '/app/a.js',
    '/app/node_modules',
    '/app/node_modules/m',
    '/app/node_modules/m/keep.txt',
  ]);
  assert.ok(paths(img.dir('/app', { src, dockerignore: false })).includes('/app/x.log'), 'dockerignore: false reads no .dockerignore');
});

test('links inside the tree stay links; links that leave it are refused, naming the image and path', () => {
  const src = tree({ 'lib/real.js': 'x', 'bin/': '' });
  symlinkSync('../lib/real.js', join(src, 'bin/tool'));
  const img = image('acme/app').builder(deb);
  const link = Testing.synth(img.dir('/app', { src }))
    .image('acme/app')
    .def.dirs![0].entries.find((e) => e.path === '/app/bin/tool')!;
  assert.equal([link.type, link.target], ['symlink', '../lib/real.js']);
  symlinkSync('../../etc/passwd', join(src, 'bin/up'));
  symlinkSync('/etc/shadow', join(src, 'abs'));
  assert.equal(
    problems(() => assemble(img.dir('/app', { src }))),
    [
      `acme/app: dir /app: ${src}/abs is a link to /etc/shadow, outside the directory`,
      `acme/app: dir /app: ${src}/bin/up is a link to ../../etc/passwd, outside the directory`,
    ],
  );
});

test('FIFOs, sockets and devices are refused before anything is read, in a directory and as a .file()', () => {
  const src = tree({ 'a.js': '' });
  execFileSync('mkfifo', [join(src, 'pipe')]);
  const img = image('acme/app').builder(deb);
  assert.equal(
    problems(() => assemble(img.dir('/app', { src }))).map((p) => p.replace(/^acme\/app: /, '')),
    [`dir /app: ${src}/pipe is a FIFO: only files, directories and links can be added`],
  );
  assert.equal(
    problems(() => assemble(img.file('/etc/x', { src: join(src, 'pipe') }))).map((p) => p.replace(/^acme\/app: /, '')),
    [`file /etc/x: ${src}/pipe is a FIFO, not a regular file`],
  );
  assert.equal(
    problems(() => assemble(img.file('/etc/zero', { src: '/dev/zero' }))).map((p) => p.replace(/^acme\/app: /, '')),
    ['file /etc/zero: /dev/zero is a character device, not a regular file'],
  );
  assert.equal(
    problems(() => assemble(img.dir('/app', { src: join(src, 'a.js') }))),
    [`acme/app: dir /app: ${src}/a.js is a file, not a directory`],
  );
});

test("the directory's contents are in the image key and not in the phase-1 key; host times are not", () => {
  const src = tree({ 'a.js': 'one' });
  const img = image('acme/app').builder(deb).packages('libc6').dir('/app', { src });
  const before = Testing.synth(img).image('acme/app');
  utimesSync(join(src, 'a.js'), 1000, 1000);
  const touched = Testing.synth(image('acme/app').builder(deb).packages('libc6').dir('/app', { src })).image('acme/app');
  assert.is(touched.key, before.key, 'a new mtime changes nothing');
  writeFileSync(join(src, 'a.js'), 'two');
  const edited = Testing.synth(image('acme/app').builder(deb).packages('libc6').dir('/app', { src })).image('acme/app');
  assert.is.not(edited.key, before.key);
  const m = assemble(image('acme/app').builder(deb).packages('libc6').dir('/app', { src })).manifest.images['acme/app'];
  assert.is(m.phase1Key, assemble(image('acme/app').builder(deb).packages('libc6')).manifest.images['acme/app'].phase1Key);
  assert.ok(Object.keys(m.inputs!).includes('dir:/app'), 'the key names the directory as its own input');
});

test('an image without .dir() keeps the definition it had (no dirs field)', () => {
  const def = assemble(image('acme/plain').builder(deb).packages('libc6')).images.get('acme/plain')!;
  assert.not.ok('dirs' in def);
});

test('a bad destination or a missing source is a problem at the call', () => {
  const img = image('acme/app').builder(deb);
  const out = problems(() => assemble(img.dir('app', { src: '/nonexistent-imgsdk-dir' }))).map((p) => p.replace(/^acme\/app: /, ''));
  assert.equal(out, ['dir path "app" is not absolute', 'dir app: cannot read /nonexistent-imgsdk-dir: ENOENT']);
});

test.run();
