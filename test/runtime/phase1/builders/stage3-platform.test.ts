/**
 * CONTRACT (no Gentoo mirror answers here): an arm64 stage3 flavour is fetched from
 * `releases/arm64/autobuilds` and becomes an image whose config says arm64, through a
 * stand-in engine that records what it is asked to load.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureStage3Image } from '../../../../src/runtime/phase1/builders/stage3';
import type { Engine } from '../../../../src/runtime/engine/engine';
import { type Mirror, serveFiles } from '../../../_kit/mirror';

const DATE = '20240101T000000Z';
const FLAVOUR = 'arm64-openrc';
const FILE = `stage3-${FLAVOUR}-${DATE}.tar.xz`;
const work = mkdtempSync(join(tmpdir(), 'imgsdk-stage3-arm64-'));
mkdirSync(join(work, 'root', 'bin'), { recursive: true });
writeFileSync(join(work, 'root', 'bin', 'marker'), 'arm64 stage3 of the test\n');
const tarball = execFileSync('sh', ['-c', `tar -C ${join(work, 'root')} --owner=0 --group=0 --mtime=@0 -cf - bin | xz -c`]);
const sha512 = createHash('sha512').update(tarball).digest('hex');
const base = '/releases/arm64/autobuilds';
const files: Record<string, string | Buffer> = {
  [`${base}/latest-stage3-${FLAVOUR}.txt`]: `# ts=1\n${DATE}/${FILE} ${tarball.length}\n`,
  [`${base}/${DATE}/${FILE}`]: tarball,
  [`${base}/${DATE}/${FILE}.DIGESTS`]: `# SHA512 HASH\n${sha512}  ${FILE}\n`,
};

let server: Mirror;
let url = '';
const requests: string[] = [];
test.before(async () => {
  server = await serveFiles((path) => {
    requests.push(path);
    return files[path];
  });
  url = server.url.replace(/\/$/, '');
});
test.after(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

/** The members of a docker-archive as text (layer tars as their own member names). */
async function members(stream: Readable): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  const ex = extract();
  ex.on('entry', (h, s, next) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: unknown) => chunks.push(c as Buffer));
    s.on('end', () => ((out[h.name] = Buffer.concat(chunks)), next()));
  });
  await new Promise<void>((resolve, reject) => {
    ex.on('finish', resolve);
    ex.on('error', reject);
    stream.pipe(ex);
  });
  return out;
}

test("CONTRACT: an arm64 stage3 comes from releases/arm64 and is loaded as an arm64 image (not imported as the host's)", async () => {
  const loaded: Record<string, Buffer>[] = [];
  const imported: string[] = [];
  const engine = {
    inspectImage: async () => null,
    loadImage: async (s: Readable) => (loaded.push(await members(s)), ['loaded']),
    importImage: async (_s: Readable, ref: string) => (imported.push(ref), 'sha256:x'),
  } as unknown as Engine;
  const ref = await ensureStage3Image(
    engine,
    { mirror: url, flavour: FLAVOUR, date: 'latest', gpgKey: null },
    { cacheDir: join(work, 'cache') },
  );
  assert.is(ref, `imgsdk-stage3/${FLAVOUR}:${DATE}`);
  assert.ok(requests.includes(`${base}/${DATE}/${FILE}`), requests.join(' '));
  assert.equal(imported, [], 'not docker import, which Docker 20.10 labels with the host architecture');
  assert.is(loaded.length, 1);
  const archive = loaded[0];
  const manifest = JSON.parse(archive['manifest.json'].toString()) as { Config: string; RepoTags: string[]; Layers: string[] }[];
  assert.equal(manifest[0].RepoTags, [ref]);
  const config = JSON.parse(archive[manifest[0].Config].toString());
  assert.equal([config.architecture, config.variant, config.os], ['arm64', 'v8', 'linux']);
  assert.is(config.config.Labels['org.imgsdk.stage3'], FLAVOUR);
  assert.equal(config.config.Cmd, ['/bin/bash']);
  // The layer is the decompressed stage3, and its diff id is its sha256.
  const layer = archive[manifest[0].Layers[0]];
  assert.is(`sha256:${createHash('sha256').update(layer).digest('hex')}`, config.rootfs.diff_ids[0]);
  assert.match(layer.toString('latin1'), /arm64 stage3 of the test/);
});

test.run();
