/**
 * Exports of built images that need no engine: an OCI image layout (what skopeo,
 * crane and registries read) and a `docker save` style archive per image (what
 * `docker load` reads). Both are made from the state directory's layer tars and
 * the recorded config, so a cached image exports exactly as it was built.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { splitRepoTag } from '../../contract/names';
import { renamedIntoPlace } from '../../util/files';
import { writeDockerArchive, writeOciLayout, type OciLayoutEntry, type OciLayoutImage } from './archive';
import { LAYER_MEDIA_TYPE } from './layer';
import { MANIFEST_MEDIA_TYPE, type Blob } from './oci';
import { addToOciLayout, attestation } from './attest';
import type { VexStatementDef } from '../../contract/assembly';

/** A built image as the exporters need it. */
export interface ExportImage {
  readonly config: Blob;
  /** diff ids of every layer, the oldest first. */
  readonly diffIds: readonly string[];
  /** `repo:tag` names, e.g. `imgsdk/nginx:latest`. */
  readonly repoTags: readonly string[];
  /** An in-toto statement (the provenance) attached to the image in the OCI layout. @default none */
  readonly attestation?: string;
  /** The SPDX SBOM, attested when pushed signed. @default none */
  readonly sbom?: string;
  /** The image's `.vex()` statements and the epoch, attested when pushed signed. @default none */
  readonly vex?: { readonly statements: readonly VexStatementDef[]; readonly epoch: number };
}

/**
 * Writes images into the OCI layout at `dir`, one manifest per tag, ref name =
 * the full `repo:tag` (so `skopeo inspect oci:<dir>:imgsdk/nginx:latest` works).
 * Layers are stored uncompressed (media type `…layer.v1.tar`): the blob is the
 * very tar the diff id names, so nothing is recompressed and digests stay stable.
 * @example await exportOci('out/oci', [{ config, diffIds, repoTags: ['a/b:latest'] }], (d) => state.layerPath(d))
 */
export async function exportOci(
  dir: string,
  images: readonly ExportImage[],
  layerPath: (diffId: string) => string,
): Promise<OciLayoutEntry[]> {
  const out: OciLayoutImage[] = [];
  for (const img of images) {
    const layers = [];
    for (const d of img.diffIds)
      layers.push({ digest: d, size: (await stat(layerPath(d))).size, path: layerPath(d), mediaType: LAYER_MEDIA_TYPE });
    for (const t of img.repoTags) out.push({ config: img.config, layers, refName: t });
  }
  // index.json is read, merged and replaced: images finishing at once take turns.
  const key = resolve(dir);
  const turn = (layoutTurns.get(key) ?? Promise.resolve()).then(async () => {
    const written = await writeOciLayout(dir, out);
    // The statement hangs off the image's manifest (one per image: every tag names the same one).
    for (const img of images) {
      const m = img.attestation && written.find((w) => w.refName === img.repoTags[0]);
      if (!m) continue;
      const a = attestation(img.attestation!, { mediaType: MANIFEST_MEDIA_TYPE, digest: m.digest, size: m.size });
      const { repo } = splitRepoTag(img.repoTags[0]);
      await addToOciLayout(dir, `${repo}:${a.tag}`, a);
    }
    return written;
  });
  const settled = turn.then(
    () => undefined,
    () => undefined,
  );
  layoutTurns.set(key, settled);
  void settled.then(() => layoutTurns.get(key) === settled && layoutTurns.delete(key));
  return turn;
}

const layoutTurns = new Map<string, Promise<void>>();

/** File name of an image's docker-archive in an export directory: `ns_name.tar`. */
export function archiveName(id: string): string {
  return `${id.replace(/\//g, '_')}.tar`;
}

/**
 * Writes `<dir>/<ns>_<name>.tar`, a docker-archive carrying every tag of the
 * image; written to a temp name and renamed, so a reader never sees half of it.
 * @example await exportDockerArchive('out', 'a/b', img, (d) => state.layerPath(d)) // docker load -i out/a_b.tar
 */
export async function exportDockerArchive(
  dir: string,
  id: string,
  img: ExportImage,
  layerPath: (diffId: string) => string,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const dest = join(dir, archiveName(id));
  await renamedIntoPlace(dest, (tmp) =>
    writeDockerArchive(createWriteStream(tmp), {
      config: img.config,
      layers: img.diffIds.map((d) => ({ diffId: d, path: layerPath(d) })),
      repoTags: img.repoTags,
    }),
  );
  return dest;
}
