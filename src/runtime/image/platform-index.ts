/**
 * One tag for all platforms: the image index of a multi-platform image, written
 * into the OCI layout and pushed with its platform manifests (and provenance).
 */
import { stat } from 'node:fs/promises';
import { BuildError } from '../../contract/errors';
import { splitRepoTag } from '../../contract/names';
import { ociPlatform } from '../../contract/platform';
import type { RegistryAuth } from '../engine/engine';
import { RegistryClient, pushAttestation } from './attest';
import { imageIndex, INDEX_MEDIA_TYPE, writeOciIndexLayout, type OciLayoutIndex } from './archive';
import { LAYER_MEDIA_TYPE } from './layer';
import { imageManifest, MANIFEST_MEDIA_TYPE } from './oci';
import type { ExportImage } from './oci-export';
import type { Pushed } from './push';
import { signEach, signPushed, type ShipOptions } from './ship';

/** One platform's build, as the index needs it. */
export interface PlatformBuild {
  readonly platform: string;
  /** The image and, with `.debug()`, its debug variant. */
  readonly exports: readonly ExportImage[];
}

/**
 * The OCI layout and push of a multi-platform image: one image index per tag
 * (`latest`, the first platform's key12, the image's own tags) listing every
 * platform's manifest, and a `debug` index of the debug variants. The provenance of
 * each platform hangs off that platform's manifest.
 */
export async function shipIndex(
  id: string,
  tags: readonly string[],
  builds: readonly PlatformBuild[],
  ship: ShipOptions,
  layerPath: (diffId: string) => string,
  log: (line: string) => void,
): Promise<Pushed[]> {
  const variants = [{ tags, pick: 0 }, ...(builds.every((b) => b.exports[1]) ? [{ tags: [`${id}:debug`], pick: 1 }] : [])];
  const images = async (pick: number) => {
    const out: OciLayoutIndex['images'][number][] = [];
    for (const b of builds) {
      const e = b.exports[pick];
      const layers = [];
      for (const d of e.diffIds)
        layers.push({ digest: d, size: (await stat(layerPath(d))).size, path: layerPath(d), mediaType: LAYER_MEDIA_TYPE });
      out.push({ config: e.config, layers, platform: ociPlatform(b.platform) });
    }
    return out;
  };
  if (ship.oci) {
    const indexes: OciLayoutIndex[] = [];
    for (const v of variants) {
      const imgs = await images(v.pick);
      for (const t of v.tags) indexes.push({ refName: t, images: imgs });
    }
    await writeOciIndexLayout(ship.oci, indexes);
    log(`wrote ${indexes.map((i) => i.refName).join(', ')} (${builds.map((b) => b.platform).join(', ')}) to the OCI layout ${ship.oci}`);
  }
  const pushed: Pushed[] = [];
  if (ship.push) {
    const { registry, auth } = ship.push;
    const client = new RegistryClient(registry, auth);
    const repo = [...registry.split('/').slice(1), id].join('/');
    for (const v of variants) {
      const manifests = [];
      const imgs = await images(v.pick);
      for (const [i, img] of imgs.entries()) {
        for (const l of img.layers) await client.putBlobFile(repo, l.digest, l.size, l.path);
        await client.putBlob(repo, img.config.digest, img.config.json);
        const m = imageManifest(
          img.config.digest,
          Buffer.byteLength(img.config.json),
          img.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType ?? LAYER_MEDIA_TYPE })),
        );
        await client.putManifest(repo, m.digest, m.json, MANIFEST_MEDIA_TYPE);
        manifests.push({ digest: m.digest, size: m.size, platform: img.platform });
        log(`pushed ${registry}/${id}@${m.digest} (${builds[i].platform})`);
        const e = builds[i].exports[v.pick];
        if (ship.push.signer)
          await signEach(
            id,
            [m.digest],
            (d) =>
              signPushed(
                ship.push!,
                id,
                d,
                v.pick === 0
                  ? { provenance: e.attestation, sbom: e.sbom, vex: ship.push!.vex, vexStatements: e.vex?.statements, epoch: e.vex?.epoch }
                  : null,
              ),
            log,
          );
        else if (e.attestation) await pushProvenance(registry, id, m.digest, e.attestation, auth, log);
      }
      const index = imageIndex(manifests);
      for (const t of v.tags) {
        const { tag } = splitRepoTag(t);
        await client.putManifest(repo, tag, index.json, INDEX_MEDIA_TYPE);
        log(`pushed ${registry}/${id}:${tag} (${index.digest}, an index of ${builds.map((b) => b.platform).join(', ')})`);
        pushed.push({ ref: `${registry}/${id}:${tag}`, digest: index.digest });
      }
      // The index is signed too: `verify REF` of a tag starts there.
      if (ship.push.signer) await signEach(id, [index.digest], (d) => signPushed(ship.push!, id, d, null), log);
    }
  }
  return pushed;
}

async function pushProvenance(
  registry: string,
  id: string,
  digest: string,
  statement: string,
  auth: RegistryAuth | null,
  log: (l: string) => void,
): Promise<void> {
  try {
    const tag = await pushAttestation(registry, id, digest, statement, auth);
    log(`pushed the provenance as ${registry}/${id}:${tag}`);
  } catch (err) {
    throw new BuildError(id, `push of the provenance failed: ${(err as Error).message}`, { cause: err, phase: 'push' });
  }
}
