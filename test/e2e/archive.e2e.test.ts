import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { extract } from 'tar-stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ImageDef } from '../../src/contract/assembly';
import { writeDockerArchive, writeOciLayout } from '../../src/runtime/image/archive';
import { writeLayerFile } from '../../src/runtime/image/layer';
import { imageConfig, imageManifest, renderGroup, renderNsswitch, renderPasswd } from '../../src/runtime/image/oci';
import { BlobStore } from '../../src/runtime/store/blobs';
import type { Entry } from '../../src/runtime/store/entry';
import { engineOrSkip } from '../_kit/engine';

const run = promisify(execFile);
const account = { user: 'app', uid: 1000, group: 'app', gid: 1000, home: '/nonexistent', shell: '/sbin/nologin' };
// Unique per run, so the image Id (the config digest) never collides with another run's.
const nonce = randomBytes(6).toString('hex');
const repo = `imgsdk-e2e/archive-${nonce}`;

let tmp: string;
let blobs: BlobStore;

test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'imgsdk-e2e-archive-'));
  blobs = new BlobStore(join(tmp, 'blobs'));
});
test.after(() => rm(tmp, { recursive: true, force: true }));

const def: ImageDef = {
  id: 'imgsdk-e2e/archive',
  parent: null,
  builder: 'none',
  packages: [],
  portage: {
    use: [],
    keywords: [],
    mask: [],
    unmask: [],
    unmaskUse: [],
    makeConf: {},
    packageEnv: [],
    overlays: [],
    provide: [],
    unprovide: [],
    patches: [],
    uninstall: [],
    noBinpkgCache: [],
    runtimeLibs: [],
    downloads: [],
    record: [],
    locales: [],
  },
  keep: [],
  purge: [],
  closure: null,
  copies: [],
  files: [],
  accounts: [account],
  needs: [],
  hooks: { configureBuilder: [], configureRootfs: [], finishRootfs: [] },
  // Never run: the image has no binaries, the engine only loads and inspects it.
  config: {
    entrypoint: ['/bin/app'],
    cmd: ['--help'],
    env: { GREETING: 'hi' },
    workdir: '/srv',
    expose: ['8080/tcp'],
    volumes: [],
    labels: {},
    user: 'app',
    healthcheck: null,
  },
  allowRoot: false,
  tags: [],
  tests: [],
  debug: false,
  forbid: [],
};

async function rootfs(): Promise<Entry[]> {
  const file = async (path: string, text: string, mode = 0o644): Promise<Entry> => {
    const data = Buffer.from(text);
    return { path, type: 'file', mode, uid: 0, gid: 0, size: data.length, linkname: null, sha256: await blobs.put(data), elf: null };
  };
  const dir = (path: string, uid = 0): Entry => ({
    path,
    type: 'dir',
    mode: 0o755,
    uid,
    gid: uid,
    size: 0,
    linkname: null,
    sha256: null,
    elf: null,
  });
  return [
    dir('etc'),
    await file('etc/group', renderGroup([account])),
    await file('etc/hello', 'hello from imgsdk\n'),
    await file('etc/nsswitch.conf', renderNsswitch()),
    await file('etc/passwd', renderPasswd([account])),
    dir('srv', 1000),
  ];
}

async function readMember(tar: NodeJS.ReadableStream, name: string): Promise<string | null> {
  const ex = extract();
  tar.pipe(ex as unknown as NodeJS.WritableStream);
  let found: string | null = null;
  for await (const e of ex) {
    const parts: Buffer[] = [];
    for await (const c of e) parts.push(c as Buffer);
    if (e.header.name === name) found = Buffer.concat(parts).toString();
  }
  return found;
}

async function removeQuietly(docker: Docker, id: string): Promise<void> {
  try {
    await docker.getImage(id).remove({ force: true });
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
}

test('docker load of a docker-archive gives the config digest as Id and every tag', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const layer = await writeLayerFile(await rootfs(), blobs, join(tmp, 'layer.tar'), { mtime: 1_700_000_000 });
  const config = imageConfig(def, {
    key: 'e2e',
    diffIds: [layer.diffId],
    created: 1_700_000_000,
    accounts: [account],
    extraLabels: { 'org.imgsdk.test': nonce },
  });
  const tags = [`${repo}:1.0`, `${repo}:latest`];
  let container: Docker.Container | null = null;
  try {
    const archive = new PassThrough();
    const writing = writeDockerArchive(archive, {
      config,
      layers: [{ diffId: layer.diffId, path: join(tmp, 'layer.tar') }],
      repoTags: tags,
    });
    const loading = (async () => {
      const progress = await docker.loadImage(archive);
      const events = await new Promise<{ error?: string; stream?: string }[]>((resolve, reject) =>
        docker.modem.followProgress(progress, (err, out) => (err ? reject(err) : resolve(out))),
      );
      const failed = events.find((e) => e.error);
      if (failed) throw new Error(`docker load: ${failed.error}`);
      return events;
    })().catch((err: unknown) => {
      archive.destroy(); // unblocks the writer
      throw err;
    });
    await Promise.all([writing, loading]);

    const info = await docker.getImage(tags[0]).inspect();
    assert.is(info.Id, config.digest);
    assert.equal([...info.RepoTags].sort(), [...tags].sort());
    assert.equal(info.RootFS.Layers, [layer.diffId]);
    assert.is(info.Config.User, '1000');
    assert.equal(info.Config.Entrypoint, ['/bin/app']);
    assert.is(info.Config.Labels['org.imgsdk.id'], 'imgsdk-e2e/archive');
    assert.is(info.Created, '2023-11-14T22:13:20Z');

    // The layer's files are what we wrote (create only: there is nothing to run).
    container = await docker.createContainer({ Image: config.digest, Labels: { 'org.imgsdk.test': nonce } });
    assert.is(await readMember(await container.getArchive({ path: '/etc/hello' }), 'hello'), 'hello from imgsdk\n');
    assert.match((await readMember(await container.getArchive({ path: '/etc/passwd' }), 'passwd')) ?? '', /^app:x:1000:1000:/m);
  } finally {
    if (container) await container.remove({ force: true });
    await removeQuietly(docker, config.digest);
  }
});

test('skopeo reads the OCI layout: manifest and config bytes as written', async () => {
  try {
    await access('/usr/bin/skopeo');
  } catch {
    console.log('  skipped: /usr/bin/skopeo is not installed');
    return;
  }
  const layer = await writeLayerFile(await rootfs(), blobs, join(tmp, 'layer.tar.gz'), { mtime: 0, gzip: true });
  const config = imageConfig(def, { key: 'e2e', diffIds: [layer.diffId], created: 0, accounts: [account] });
  const dir = join(tmp, 'oci');
  const [w] = await writeOciLayout(dir, [{ config, layers: [{ ...layer, path: join(tmp, 'layer.tar.gz') }], refName: 'e2e-1.0' }]);
  const ref = `oci:${dir}:e2e-1.0`;
  const inspected = JSON.parse((await run('skopeo', ['inspect', ref])).stdout);
  assert.is(inspected.Digest, w.digest);
  assert.equal(inspected.Layers, [layer.digest]);
  assert.is(inspected.Architecture, 'amd64');
  const manifest = imageManifest(config.digest, Buffer.byteLength(config.json), [
    { digest: layer.digest, size: layer.size, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' },
  ]);
  assert.is((await run('skopeo', ['inspect', '--raw', ref])).stdout, manifest.json);
  assert.is((await run('skopeo', ['inspect', '--config', '--raw', ref])).stdout, config.json);
});

test.run();
