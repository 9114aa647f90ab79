import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { pack } from 'tar-stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { BuilderDef, DebianSource } from '../../../../src/contract/assembly';
import { BuildError, CancelledError } from '../../../../src/contract/errors';
import { bootstrapKey, builderRef, ensureDebianBuilder } from '../../../../src/runtime/phase1/builders/debian';
import { builderKey } from '../../../../src/contract/key';
import { engineFromDocker } from '../../../../src/runtime/engine/docker';
import type { Engine } from '../../../../src/runtime/engine/engine';
import { testBuilderImage } from '../../../_kit/builder';
import { LABEL_BUILDER_FROM } from '../../../../src/contract/labels';
import { tarOf } from '../../../../src/util/tar';
import { engineOrSkip } from '../../../_kit/engine';

const nonce = randomBytes(6).toString('hex');
const mirror = process.env.IMGSDK_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';

let docker: Docker | null = null;
let engine: Engine;
let tmp: string;

function def(name: string, source: DebianSource): BuilderDef {
  return {
    id: `imgsdk-test/${name}-${nonce}`,
    kind: 'debian',
    libc: 'glibc',
    arch: 'amd64',
    gentoo: null,
    debian: {
      suite: 'bookworm',
      mirror,
      updates: true,
      security: 'http://deb.debian.org/debian-security',
      snapshot: null,
      sources: [],
      network: null,
      source,
    },
  };
}

test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'imgsdk-builder-test-'));
  docker = await engineOrSkip();
  if (docker) engine = engineFromDocker(docker);
});

test.after(async () => {
  await rm(tmp, { recursive: true, force: true });
  if (!docker) return;
  // By tag: a builder image is shared by every id of its definition, another run's among them.
  for (const i of await engine.listImages({ label: 'org.imgsdk.builder' })) {
    for (const t of i.repoTags) if (t.includes(`-${nonce}:`)) await engine.removeImage(t);
  }
});

async function tinyRootfs(): Promise<string> {
  const p = pack();
  p.entry({ name: 'etc/', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: new Date(0) });
  p.entry({ name: 'etc/os-release', mode: 0o644, uid: 0, gid: 0, mtime: new Date(0) }, 'ID=test\n');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  const file = join(tmp, 'rootfs.tar');
  await writeFile(file, Buffer.concat(chunks));
  return file;
}

test('the builder tag is the id with / as - and the key prefix', () => {
  assert.is(builderRef({ id: 'acme/Bookworm' }, 'abcdef0123456789'), 'imgsdk-builder/acme-bookworm:abcdef012345');
});

test('extra sources and the network mode do not change the builder image key; the suite does, and images see both in the builder key', () => {
  const d = def('keys', { kind: 'mmdebstrap', variant: 'minbase', include: [] });
  const more: BuilderDef = { ...d, debian: { ...d.debian!, sources: ['deb [trusted=yes] http://127.0.0.1:8000/ ./'], network: 'host' } };
  const trixie: BuilderDef = { ...d, debian: { ...d.debian!, suite: 'trixie' } };
  assert.is(bootstrapKey(more), bootstrapKey(d));
  assert.is.not(bootstrapKey(trixie), bootstrapKey(d));
  assert.is.not(builderKey(more), builderKey(d));
});

test('mmdebstrap bootstraps a tagged, labelled builder; a second call reuses it without bootstrapping', async () => {
  if (!docker) return;
  const d = def('mmdeb', { kind: 'mmdebstrap', variant: 'minbase', include: ['ca-certificates'] });
  const k = bootstrapKey(d);
  const lines: string[] = [];
  const ref = await ensureDebianBuilder(engine, d, { log: (l) => lines.push(l) });
  assert.is(ref, builderRef(d, k));
  // Another run of this test may have bootstrapped the same definition already (ids are names).
  const bootstrapped = lines.some((l) => l.startsWith('mmdebstrap: '));
  assert.ok(bootstrapped || lines.some((l) => l.endsWith('(the same definition), tagged')), lines.join('\n'));
  const info = await engine.inspectImage(ref);
  assert.equal(
    {
      owned: info?.labels['org.imgsdk'],
      builder: bootstrapped ? info?.labels['org.imgsdk.builder'] : d.id,
      key: info?.labels['org.imgsdk.key'],
    },
    { owned: '1', builder: d.id, key: k },
  );
  const config = (await docker.getImage(ref).inspect()).Config;
  assert.ok(config.Env.some((e) => e.startsWith('PATH=/usr/local/sbin:')));
  assert.equal(config.Cmd, ['/bin/sh']);
  const r = await engine.runContainer({ image: ref, cmd: ['test', '-f', '/etc/ssl/certs/ca-certificates.crt'] });
  assert.is(r.exitCode, 0, '--include packages are installed');

  const again: string[] = [];
  const started = Date.now();
  assert.is(await ensureDebianBuilder(engine, d, { log: (l) => again.push(l) }), ref);
  assert.not.ok(
    again.some((l) => l.startsWith('mmdebstrap')),
    again.join('\n'),
  );
  assert.ok(Date.now() - started < 3000);
  assert.is((await engine.inspectImage(ref))?.id, info?.id);

  // An image made from the builder inherits its labels (the corpus's plain Debian images,
  // a Dockerfile's FROM): newer, so listed first, and still no twin.
  const derived = await docker.createContainer({ Image: ref, Cmd: ['touch', '/derived'] });
  await derived.start();
  await derived.wait();
  const derivedRepo = `imgsdk-test-derived-${nonce}`;
  await derived.commit({ repo: derivedRepo, tag: '1' });
  await derived.remove();
  try {
    // The same definition under another id: no bootstrap, the same image under that id's tag.
    const twin: BuilderDef = { ...d, id: `imgsdk-test/twin-${nonce}` };
    const twinLines: string[] = [];
    const twinRef = await ensureDebianBuilder(engine, twin, { log: (l) => twinLines.push(l) });
    assert.is(twinRef, builderRef(twin, k));
    assert.not.ok(
      twinLines.some((l) => l.startsWith('mmdebstrap')),
      twinLines.join('\n'),
    );
    assert.is((await engine.inspectImage(twinRef))?.id, info?.id, 'the twin is the builder, not an image made from it');
  } finally {
    await docker
      .getImage(`${derivedRepo}:1`)
      .remove()
      .catch(() => undefined);
  }
});

test('a failing mmdebstrap is a BuildError with its output, and nothing is tagged', async () => {
  if (!docker) return;
  const d = { ...def('badsuite', { kind: 'mmdebstrap', variant: 'minbase', include: [] }) };
  const bad: BuilderDef = { ...d, debian: { ...d.debian!, suite: 'no-such-suite' } };
  const k = bootstrapKey(bad);
  const err = await ensureDebianBuilder(engine, bad).catch((e: unknown) => e);
  assert.instance(err, BuildError);
  assert.match((err as Error).message, /mmdebstrap .* failed \(exit \d+\)/);
  assert.not.ok(await engine.imageExists(builderRef(bad, k)));
});

test('an abort stops mmdebstrap and tags nothing', async () => {
  if (!docker) return;
  const d = def('abort', { kind: 'mmdebstrap', variant: 'minbase', include: [] });
  const k = bootstrapKey(d);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 2000);
  // force: the id is no key input, so without it an earlier bootstrap of this definition is a twin.
  const err = await ensureDebianBuilder(engine, d, { signal: ac.signal, force: true }).catch((e: unknown) => e);
  assert.instance(err, CancelledError);
  assert.not.ok(await engine.imageExists(builderRef(d, k)));
});

test('a missing mmdebstrap says how to install it', async () => {
  if (!docker) return;
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    const d = def('nommdeb', { kind: 'mmdebstrap', variant: 'minbase', include: [] });
    const err = await ensureDebianBuilder(engine, d, { force: true }).catch((e: unknown) => e);
    assert.instance(err, BuildError);
    assert.match((err as Error).message, 'apt-get install mmdebstrap');
  } finally {
    process.env.PATH = path;
  }
});

test('a rootfs tarball is imported when its sha256 matches, refused when not', async () => {
  if (!docker) return;
  const file = await tinyRootfs();
  const sha = createHash('sha256')
    .update(await import('node:fs').then((fs) => fs.readFileSync(file)))
    .digest('hex');
  const wrong = def('rootfs-bad', { kind: 'rootfs', path: file, sha256: '0'.repeat(64) });
  const err = await ensureDebianBuilder(engine, wrong).catch((e: unknown) => e);
  assert.instance(err, BuildError);
  assert.match((err as Error).message, `has sha256 ${sha}, expected ${'0'.repeat(64)}`);
  assert.not.ok(await engine.imageExists(builderRef(wrong, bootstrapKey(wrong))));

  const right = def('rootfs-ok', { kind: 'rootfs', path: file, sha256: sha });
  const ref = await ensureDebianBuilder(engine, right);
  assert.is((await engine.inspectImage(ref))?.labels['org.imgsdk.key'], bootstrapKey(right));
});

test('a pull source present locally is flattened into a labelled builder without pulling', async () => {
  if (!docker) return;
  const base = await testBuilderImage(docker);
  const d = def('pull', { kind: 'pull', image: base });
  const lines: string[] = [];
  const ref = await ensureDebianBuilder(engine, d, { log: (l) => lines.push(l) });
  assert.not.ok(lines.some((l) => l.includes('pulling')));
  assert.is((await engine.inspectImage(ref))?.labels['org.imgsdk.builder'], d.id);
  const r = await engine.runContainer({ image: ref, cmd: ['dpkg-query', '-W', 'libc6'] });
  assert.is(r.exitCode, 0);
});

test('a pull source follows its image: retagged under the same tag, the builder is set up again from the new image and records its id; unchanged, it is reused', async () => {
  if (!docker) return;
  const tag = `imgsdk-test/from-${nonce}:base`;
  // Two images under one tag, as a base rebuilt (or pulled anew) under the same name is.
  const retag = async (text: string) => {
    const tar = await tarOf([{ name: 'etc/os-release', data: Buffer.from(text) }]);
    await engine.importImage(Readable.from([tar]), tag, { changes: ['CMD ["/bin/sh"]'] });
    return (await engine.inspectImage(tag))!.id;
  };
  const d = def('follows', { kind: 'pull', image: tag });
  const old = await retag('ID=first\n');
  try {
    const ref = await ensureDebianBuilder(engine, d);
    const first = (await engine.inspectImage(ref))!;
    assert.is(first.labels[LABEL_BUILDER_FROM], old);

    const lines: string[] = [];
    assert.is(await ensureDebianBuilder(engine, d, { log: (l) => lines.push(l) }), ref);
    assert.ok(
      lines.some((l) => l.endsWith('is up to date')),
      lines.join('\n'),
    );

    const now = await retag('ID=second\n');
    await engine.removeImage(old, { force: true });
    lines.length = 0;
    assert.is(await ensureDebianBuilder(engine, d, { log: (l) => lines.push(l) }), ref, 'the same key, the same tag');
    const second = (await engine.inspectImage(ref))!;
    assert.is(second.labels[LABEL_BUILDER_FROM], now);
    assert.is.not(second.id, first.id);
    assert.ok(
      lines.some((l) =>
        l.includes(`${tag} is now image ${now.slice(7, 19)} (the builder was set up from ${old.slice(7, 19)}): setting it up again`),
      ),
      lines.join('\n'),
    );
    assert.not.ok(await engine.inspectImage(first.id), 'the builder image it replaced is gone');
  } finally {
    await engine.removeImage(tag, { force: true }).catch(() => false);
    await engine.removeImage(old, { force: true }).catch(() => false);
  }
});

test.run();
