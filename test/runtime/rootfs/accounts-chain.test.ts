/**
 * The rootfs pipeline's accounts: /etc/passwd and /etc/group are written on the
 * host from the declared accounts of an image and its ancestors (imgsdk's answer
 * to Kubler's user-eclass patches, Kubler #209), so a child's accounts end up in
 * the image next to its parents'. A chain base -> app -> tool goes through
 * runPipeline as deploy runs it: each image's own layer on top of its parents'.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AccountDef } from '../../../src/contract/assembly';
import { BlobStore } from '../../../src/runtime/store/blobs';
import type { Entry } from '../../../src/runtime/store/entry';
import { runPipeline } from '../../../src/runtime/rootfs/pipeline';
import { Layers } from '../../../src/runtime/rootfs/resolve';
import { debian } from '../../../src/sdk/builder';
import { image } from '../../../src/sdk/image';
import { assemble } from '../../../src/sdk/synth';
import { makeTar } from './_tar-fixture';

const deb = debian.builder('acme/bookworm', { from: 'debian:bookworm-slim' });
const base = image('acme/base').builder(deb).packages('libc6').account({ user: 'web', uid: 10001, home: '/nonexistent' });
const app = image('acme/app')
  .from(base)
  .packages('nginx-light')
  .account({ user: 'worker', uid: 10002, group: 'workers', gid: 20002, home: '/srv/worker', shell: '/bin/false' });
// Redefines nothing and declares no account: its parents' files are the image's.
const tool = image('acme/tool').from(app).packages('curl');

const asm = assemble([base, app, tool]);
let dir: string;
let blobs: BlobStore;
const layers = new Map<string, Entry[]>();

/** Runs the pipeline for `id` with a phase-1 tar of one program, its ancestors' layers below it. */
async function build(id: string, ancestors: string[]): Promise<Entry[]> {
  const def = asm.images.get(id)!;
  const tar = join(dir, `${id.replace('/', '_')}.tar`);
  await pipeline(
    makeTar([
      { name: 'usr/bin/', type: 'directory' },
      { name: `usr/bin/${id.split('/')[1]}`, mode: 0o755, body: '#!/bin/sh\n' },
    ]),
    createWriteStream(tar),
  );
  const inheritedAccounts: AccountDef[] = ancestors.flatMap((a) => asm.images.get(a)!.accounts);
  const r = await runPipeline({
    def,
    libc: 'glibc',
    rootfsTar: tar,
    origins: {},
    packages: [],
    parents: ancestors.map((a) => layers.get(a)!),
    inheritedAccounts,
    copySources: new Map(),
    readFile: () => Promise.reject(new Error('no files')),
    blobs,
  });
  layers.set(id, r.entries);
  return r.entries;
}

/** The content of `path` as the image sees it: the topmost layer that has it. */
async function read(ids: string[], path: string): Promise<string | undefined> {
  const e = new Layers(ids.map((id) => layers.get(id)!)).get(path);
  return e?.sha256 ? (await blobs.read(e.sha256)).toString() : undefined;
}

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'imgsdk-pipeline-'));
  blobs = new BlobStore(join(dir, 'blobs'));
  await build('acme/base', []);
  await build('acme/app', ['acme/base']);
  await build('acme/tool', ['acme/base', 'acme/app']);
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('an image without a parent gets /etc/passwd and /etc/group with root, its accounts and nobody', async () => {
  assert.is(
    await read(['acme/base'], 'etc/passwd'),
    [
      'root:x:0:0:root:/root:/sbin/nologin',
      'web:x:10001:10001:web:/nonexistent:/sbin/nologin',
      'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin',
      '',
    ].join('\n'),
  );
  assert.is(await read(['acme/base'], 'etc/group'), 'root:x:0:\nweb:x:10001:\nnobody:x:65534:\n');
});

test("a child's accounts end up in the image's /etc/passwd and /etc/group, next to its parent's", async () => {
  const image = ['acme/base', 'acme/app'];
  assert.is(
    await read(image, 'etc/passwd'),
    [
      'root:x:0:0:root:/root:/sbin/nologin',
      'web:x:10001:10001:web:/nonexistent:/sbin/nologin',
      'worker:x:10002:20002:worker:/srv/worker:/bin/false',
      'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin',
      '',
    ].join('\n'),
  );
  assert.is(await read(image, 'etc/group'), 'root:x:0:\nweb:x:10001:\nworkers:x:20002:\nnobody:x:65534:\n');
  // The child's own layer carries both files whole: a layer replaces a file, it never merges one.
  const own = new Map(layers.get('acme/app')!.map((e) => [e.path, e]));
  assert.ok(own.has('etc/passwd') && own.has('etc/group'));
  const home = own.get('srv/worker')!;
  assert.equal([home.type, home.uid, home.gid, home.mode], ['dir', 10002, 20002, 0o755]);
});

test("a grandchild that declares no account keeps its ancestors' accounts: its layer has no passwd to hide theirs", async () => {
  const own = layers.get('acme/tool')!.map((e) => e.path);
  assert.not.ok(own.includes('etc/passwd') || own.includes('etc/group'));
  const image = ['acme/base', 'acme/app', 'acme/tool'];
  assert.match((await read(image, 'etc/passwd'))!, /^web:x:10001:[^\n]*\nworker:x:10002:20002:/m);
  assert.match((await read(image, 'etc/group'))!, /^workers:x:20002:$/m);
});

test.run();
