/**
 * The engine's tags of an image: `id:latest`, `id:<key12>` and its own tags are
 * put on it, and the key tags of keys the image no longer has are taken off.
 */
import type { Manifest } from '../../contract/assembly';
import { shortKey, splitRepoTag } from '../../contract/names';
import type { Engine } from '../engine/engine';

const KEY_TAG = /^[0-9a-f]{12}$/;

/** Points every tag at `imageId` (a cache hit may still need a new tag, or `latest` moved back). */
export async function retag(engine: Engine, imageId: string, tags: readonly string[], log: (l: string) => void): Promise<void> {
  for (const t of tags) {
    const info = await engine.inspectImage(t);
    if (info?.id === imageId) continue;
    const { repo, tag } = splitRepoTag(t);
    await engine.tagImage(imageId, repo, tag);
    log(`tagged ${t}`);
  }
}

/**
 * Untags the `id:<key12>` tags on `imageId` that no current key of image `id` (any
 * of its platforms) names. A key change that built the same bytes gives the same
 * image id, which kept the old key's tag: ten deploys, ten tags on one image.
 * @example await pruneKeyTags(engine, manifest, 'acme/web', 'sha256:…', log) // untags acme/web:0a1b2c3d4e5f
 */
export async function pruneKeyTags(
  engine: Engine,
  manifest: Manifest,
  id: string,
  imageId: string,
  log: (l: string) => void,
): Promise<string[]> {
  const info = await engine.inspectImage(imageId);
  const m = manifest.images[id];
  if (!info || !m) return [];
  const current = new Set([m.key, ...Object.values(m.platforms ?? {}).map((p) => p.key)].map(shortKey));
  const stale = info.repoTags.filter(
    (t) => t.startsWith(`${id}:`) && KEY_TAG.test(t.slice(id.length + 1)) && !current.has(t.slice(id.length + 1)),
  );
  for (const t of stale) {
    await engine.removeImage(t);
    log(`untagged ${t}: a key this image no longer has`);
  }
  return stale;
}
