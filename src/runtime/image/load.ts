/**
 * The engine writer: an image (its config and the layer files of the state
 * directory) loaded into the engine as one streamed docker-archive with every tag,
 * and, for an image with tests or a health check, loaded under a candidate tag,
 * checked, and only then tagged.
 */
import { PassThrough } from 'node:stream';
import { BuildError } from '../../contract/errors';
import { shortKey, splitRepoTag } from '../../contract/names';
import type { Engine } from '../engine/engine';
import { writeDockerArchive } from './archive';
import { hasChecks, runImageChecks } from './imagetest';
import type { Blob } from './oci';
import type { ShipInput } from './ship';

/** The tag an image is loaded under while its tests run. */
export function candidateTag(id: string, key: string): string {
  return `${id}:imgsdk-candidate-${shortKey(key)}`;
}

/**
 * Loads a freshly built image. Without checks: one `docker load` with every tag.
 * With `.test()`s or a health check: loaded as the candidate tag only, checked,
 * then tagged; on a failure the candidate tag is removed and whatever the tags
 * pointed at before stays as it was.
 */
export async function loadChecked(input: ShipInput): Promise<void> {
  const engine = await input.engine();
  const { def, config } = input;
  const present = await layersInEngine(engine, input.tags[0], input.diffIds);
  const layers = input.diffIds.map((d, i) => ({
    diffId: d,
    path: input.state.layerPath(d),
    verified: !!input.freshLayers?.includes(d),
    present: i < present,
  }));
  if (!hasChecks(def)) return loadArchive(engine, def.id, config, layers, input.tags);
  const candidate = candidateTag(def.id, input.key);
  await loadArchive(engine, def.id, config, layers, [candidate]);
  try {
    await runImageChecks(engine, def, candidate, { log: input.log, signal: input.signal });
    for (const t of input.tags) {
      const { repo, tag } = splitRepoTag(t);
      await engine.tagImage(config.digest, repo, tag);
    }
  } finally {
    // Only a tag goes: the image stays when it has other tags (the success case).
    await engine.removeImage(candidate, { noprune: true }).catch(() => false);
  }
}

/**
 * Streams a docker-archive straight into `docker load`, with every tag at once
 * (so an image is tagged all at once or not at all); verifies the id it got.
 */
export async function loadArchive(
  engine: Engine,
  id: string,
  config: Blob,
  layers: { diffId: string; path: string; verified?: boolean; present?: boolean }[],
  repoTags: readonly string[],
): Promise<void> {
  const stream = new PassThrough();
  const writing = writeDockerArchive(stream, { config, layers, repoTags });
  const [loaded] = await Promise.all([engine.loadImage(stream), writing]);
  const info = await engine.inspectImage(repoTags[0]);
  if (!info || info.id !== config.digest) {
    throw new BuildError(
      id,
      `docker load gave ${info?.id ?? 'nothing'} for ${repoTags[0]}, expected ${config.digest} (loaded: ${loaded.join(', ')})`,
      { phase: 'phase2' },
    );
  }
}

/**
 * How many of `diffIds`, from the bottom, Docker already has as one chain: those of
 * the image `ref` now names (the last build of this image), as far as they agree.
 * Docker's load skips a layer whose chain it has without opening its file, so their
 * bytes need not be sent: a `.file()` edit sends only the small top layer. 0 for
 * other engines (Podman reads every layer of an archive).
 */
export async function layersInEngine(engine: Engine, ref: string, diffIds: readonly string[]): Promise<number> {
  if (!engine.kind || (await engine.kind()) !== 'docker') return 0;
  const have = (await engine.inspectImage(ref))?.layers ?? [];
  let n = 0;
  while (n < have.length && n < diffIds.length && have[n] === diffIds[n]) n++;
  return n;
}
