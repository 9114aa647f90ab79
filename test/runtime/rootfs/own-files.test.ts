/**
 * The user's own files (`.file()`, `.dir()`) through the rootfs pipeline: the same
 * privilege rule as packages, bodies checked against the definition, and one layer
 * per directory source.
 */
import { createWriteStream, chmodSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { debian, image, type Image } from '../../../src';
import { BlobStore } from '../../../src/runtime/store/blobs';
import { runPipeline } from '../../../src/runtime/rootfs/pipeline';
import { layerSplit } from '../../../src/runtime/image/phase2';
import { writeLayer } from '../../../src/runtime/image/layer';
import { assemble } from '../../../src/sdk/synth';
import { makeTar } from './_tar-fixture';

const deb = debian.builder('acme/bookworm', { suite: 'bookworm' });
let tmp: string;
let blobs: BlobStore;
test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'imgsdk-own-'));
  blobs = new BlobStore(join(tmp, 'blobs'));
});
test.after(() => rm(tmp, { recursive: true, force: true }));

/** Runs the pipeline of `img` over an empty phase-1 tar, reading bodies from its assembly (or `body`). */
async function build(img: Image, body?: (sha: string) => Buffer) {
  const rootfsTar = join(tmp, `${Math.random().toString(36).slice(2)}.tar`);
  await pipeline(makeTar([]), createWriteStream(rootfsTar));
  const asm = assemble(img);
  const def = asm.images.get(img.id)!;
  const r = await runPipeline({
    def,
    libc: 'glibc',
    rootfsTar,
    origins: {},
    packages: [],
    parents: [],
    inheritedAccounts: [],
    copySources: new Map(),
    blobs,
    readFile: async (sha) => body?.(sha) ?? (asm.files.get(`${img.id}/files/${sha}`) as Buffer),
  });
  return { ...r, def };
}

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'imgsdk-own-tree-'));
  mkdirSync(join(root, 'bin'));
  mkdirSync(join(root, 'shared'));
  writeFileSync(join(root, 'bin/helper'), 'x');
  writeFileSync(join(root, 'shared/log'), 'y');
  chmodSync(join(root, 'bin/helper'), 0o4755);
  chmodSync(join(root, 'shared/log'), 0o666);
  chmodSync(join(root, 'shared'), 0o777);
  return root;
}

test('.file() and .dir() entries with setuid/setgid or world-writable modes are stripped and reported as package files are', async () => {
  const src = tree();
  const img = image('acme/own')
    .builder(deb)
    .file('/usr/local/bin/su2', 'x', { mode: 0o4755 })
    .file('/etc/g', 'g', { mode: '2755' })
    .file('/etc/w', 'w', { mode: 0o666 })
    .dir('/opt/app', { src });
  const r = await build(img);
  const mode = (p: string) => r.entries.find((e) => e.path === p)!.mode.toString(8);
  assert.equal(['usr/local/bin/su2', 'etc/g', 'etc/w', 'opt/app/bin/helper', 'opt/app/shared/log', 'opt/app/shared'].map(mode), [
    '755',
    '755',
    '664',
    '755',
    '664',
    '775',
  ]);
  assert.equal(r.stripped.map((s) => [s.path, s.what.join('+')]).sort(), [
    ['etc/g', 'setgid'],
    ['etc/w', 'world-writable'],
    ['opt/app/bin/helper', 'setuid'],
    ['opt/app/shared', 'world-writable'],
    ['opt/app/shared/log', 'world-writable'],
    ['usr/local/bin/su2', 'setuid'],
  ]);
});

test(".keep('setuid') and .keep('world-writable') keep those modes on the user's files too", async () => {
  const img = image('acme/own')
    .builder(deb)
    .keep('setuid', 'world-writable')
    .file('/usr/local/bin/su2', 'x', { mode: 0o4755 })
    .dir('/opt/app', { src: tree() });
  const r = await build(img);
  const mode = (p: string) => r.entries.find((e) => e.path === p)!.mode.toString(8);
  assert.equal(['usr/local/bin/su2', 'opt/app/bin/helper', 'opt/app/shared/log'].map(mode), ['4755', '4755', '666']);
  assert.equal(r.stripped, []);
});

test('a body that is not the one synth hashed fails the build, naming the image and path', async () => {
  try {
    await build(image('acme/own').builder(deb).file('/etc/motd', 'hello'), () => Buffer.from('tampered'));
    assert.unreachable('built');
  } catch (e) {
    assert.match((e as Error).message, /acme\/own.*\/etc\/motd: the assembly's copy of its content is not the one synth wrote/s);
  }
});

test('each .dir() is a layer of its own, in order, between the packages and the .file()s', async () => {
  const code = mkdtempSync(join(tmpdir(), 'imgsdk-own-code-'));
  const deps = mkdtempSync(join(tmpdir(), 'imgsdk-own-deps-'));
  writeFileSync(join(code, 'server.js'), 's');
  mkdirSync(join(deps, 'lodash'));
  writeFileSync(join(deps, 'lodash/index.js'), 'l');
  const img = image('acme/own').builder(deb).dir('/app/node_modules', { src: deps }).dir('/app', { src: code }).file('/etc/app.conf', 'c');
  const r = await build(img);
  const parts = layerSplit(r.entries, r.def).map((l) => l.map((e) => e.path));
  assert.equal(parts.slice(1), [
    ['app/node_modules', 'app/node_modules/lodash', 'app/node_modules/lodash/index.js'],
    ['app', 'app/server.js'],
    ['etc/app.conf'],
  ]);
  assert.ok(parts[0].includes('etc/passwd') && !parts[0].includes('app'), 'the rest stays in the first layer');
});

test('the same tree gives the same layer bytes, whatever order its files were made in and whatever their times', async () => {
  const make = (order: string[], time: number): string => {
    const root = mkdtempSync(join(tmpdir(), 'imgsdk-own-det-'));
    for (const p of order) {
      mkdirSync(join(root, p, '..'), { recursive: true });
      writeFileSync(join(root, p), `body of ${p}`);
      utimesSync(join(root, p), time, time);
    }
    return root;
  };
  const files = ['z.js', 'a/b.js', 'a/a.js', 'm/n/o.txt'];
  const layerOf = async (src: string) => {
    const r = await build(image('acme/det').builder(deb).dir('/app', { src }));
    const [, app] = layerSplit(r.entries, r.def);
    return (await writeLayer(app, blobs, new PassThrough().resume(), { mtime: 0 })).diffId;
  };
  const one = await layerOf(make(files, 1_000_000));
  const two = await layerOf(make([...files].reverse(), 2_000_000));
  assert.is(two, one);
});

test.run();
