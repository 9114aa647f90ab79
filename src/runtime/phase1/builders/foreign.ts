/**
 * A rootfs of another platform as an image whose config names that platform.
 * `docker import` takes a `platform` parameter, but engines before Docker 23
 * ignore it and label every import with the host's architecture; so the rootfs
 * is spooled to a temp file (hashed on the way), and loaded as a one-layer
 * docker-archive whose config says `arm64`. The temp file goes in every case.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { canonicalJson } from '../../../contract/json';
import { HashingStream, sha256Digest } from '../../../util/hash';
import { platformInfo } from '../../../contract/platform';
import type { Engine } from '../../engine/engine';
import { writeDockerArchive } from '../../image/archive';
import type { Blob } from '../../image/oci';
import { ImgsdkError } from '../../../contract/errors';

/**
 * The image config of a builder rootfs: the import `changes` it understands
 * (`ENV k=v`, `CMD [json]`, `LABEL k="v" …`), the platform, one layer.
 * @example builderConfig(['ENV PATH=/bin', 'CMD ["/bin/sh"]'], 'linux/arm64', 'sha256:…').json
 */
export function builderConfig(changes: readonly string[], platform: string, diffId: string): Blob {
  const p = platformInfo(platform);
  const config: { Env: string[]; Cmd?: string[]; Labels: Record<string, string> } = { Env: [], Labels: {} };
  for (const c of changes) {
    const [, verb, rest] = /^(\w+)\s+(.*)$/s.exec(c) ?? [];
    if (verb === 'ENV') config.Env.push(rest.includes('=') ? rest : rest.replace(/\s+/, '='));
    else if (verb === 'CMD') config.Cmd = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : ['/bin/sh', '-c', rest];
    else if (verb === 'LABEL')
      for (const m of rest.matchAll(/([^\s=]+)=("(?:[^"\\]|\\.)*"|\S+)/g))
        config.Labels[m[1]] = m[2].startsWith('"') ? (JSON.parse(m[2]) as string) : m[2];
    else throw new ImgsdkError('INTERNAL', `builder config: change "${c}" is not ENV, CMD or LABEL`);
  }
  const json = canonicalJson({
    architecture: p.arch,
    os: p.os,
    ...(p.variant ? { variant: p.variant } : {}),
    created: '1970-01-01T00:00:00Z',
    config,
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created: '1970-01-01T00:00:00Z', created_by: 'imgsdk: builder rootfs' }],
  });
  return { json, digest: sha256Digest(json) };
}

/**
 * Loads the rootfs tar `body` as `repoTag`, an image of `platform`; returns its id.
 * Rejects (leaving nothing tagged) when the body errors or the engine refuses it.
 */
export async function loadForeignRootfs(
  engine: Engine,
  body: Readable,
  repoTag: string,
  changes: readonly string[],
  platform: string,
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'imgsdk-rootfs-'));
  try {
    const path = join(dir, 'layer.tar');
    const tap = new HashingStream();
    await pipeline(body, tap, createWriteStream(path));
    const diffId = `sha256:${tap.hex()}`;
    const config = builderConfig(changes, platform, diffId);
    const stream = new PassThrough();
    const writing = writeDockerArchive(stream, { config, layers: [{ diffId, path }], repoTags: [repoTag] });
    await Promise.all([engine.loadImage(stream), writing]);
    return config.digest;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
