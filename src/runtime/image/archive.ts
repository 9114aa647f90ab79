/**
 * Phase 2 outputs: a `docker save` style archive (what `docker load` reads) and
 * an OCI image layout directory (what skopeo, crane and registries read).
 */
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { Pack } from 'tar-stream';
import { ImgsdkError, UsageError } from '../../contract/errors';
import { canonicalJson } from '../../contract/json';
import { streamAtomic, writeAtomic } from '../../util/files';
import { HashingStream, sha256Digest } from '../../util/hash';
import { packTo, writeEntry } from '../../util/tar';
import { LAYER_GZIP_MEDIA_TYPE } from './layer';
import { imageManifest, MANIFEST_MEDIA_TYPE, type Blob } from './oci';

/** An image as `docker load` wants it: its config and its uncompressed layers. */
export interface DockerArchiveImage {
  readonly config: Blob;
  /** Every layer of the image, the oldest ancestor's first (the config's diff_ids order). */
  readonly layers: readonly {
    readonly diffId: string;
    /** Uncompressed layer tar on disk. */
    readonly path: string;
    /** Hashed by whoever just wrote it: streamed without hashing again. @default false */
    readonly verified?: boolean;
    /**
     * The engine already has this layer under the same parents (Docker's load then
     * never opens its file): listed in the manifest, its bytes left out. @default false
     */
    readonly present?: boolean;
  }[];
  /** Tags `docker load` applies, e.g. `example/app:1.0`. */
  readonly repoTags: readonly string[];
}

/** An image to put in an OCI layout. */
export interface OciLayoutImage {
  readonly config: Blob;
  /** Layer blobs as written (gzip unless `mediaType` says otherwise), the oldest first. */
  readonly layers: readonly {
    readonly digest: string;
    readonly size: number;
    readonly path: string;
    /** @default LAYER_GZIP_MEDIA_TYPE */
    readonly mediaType?: string;
  }[];
  /** `org.opencontainers.image.ref.name` of the manifest, e.g. `1.0` or `example/app:1.0`. */
  readonly refName: string;
}

/** A manifest written into an OCI layout. */
export interface OciLayoutEntry {
  readonly refName: string;
  readonly digest: string;
  readonly size: number;
}

const REF_NAME = 'org.opencontainers.image.ref.name';
/** OCI media type of an image index. */
export const INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';
// Archive members carry no real time or owner: the archive of an image is a pure function of it.
const EPOCH = new Date(0);
const DIGEST = /^sha256:([0-9a-f]{64})$/;

/**
 * Writes `image` as a `docker save` archive to `out` (ended when done):
 * `manifest.json`, `<config hex>.json` and `<diffId hex>/layer.tar` per layer.
 * `docker load` of it creates the image (Id = config digest) and applies every tag.
 *
 * @example
 * await writeDockerArchive(createWriteStream('app.tar'), {
 *   config, layers: [{ diffId: info.diffId, path: 'layer.tar' }], repoTags: ['example/app:1.0'],
 * });
 */
export async function writeDockerArchive(out: Writable, image: DockerArchiveImage): Promise<void> {
  const configHex = hexOf(image.config.digest);
  const layerNames = image.layers.map((l) => `${hexOf(l.diffId)}/layer.tar`);
  const manifest = canonicalJson([{ Config: `${configHex}.json`, RepoTags: [...image.repoTags], Layers: layerNames }]);

  await packTo([], out, async (tar) => {
    const seen = new Set<string>();
    for (const l of image.layers) {
      const hex = hexOf(l.diffId);
      // An image may list one layer twice (two empty layers); the file is stored once.
      if (seen.has(hex) || l.present) continue;
      seen.add(hex);
      await addEntry(tar, { name: `${hex}/`, type: 'directory', mode: 0o40755 }, null);
      const size = (await stat(l.path)).size;
      const got = await addEntry(tar, { name: `${hex}/layer.tar`, type: 'file', mode: 0o100644, size }, l.path, !l.verified);
      if (l.verified ? false : got !== l.diffId) {
        throw new ImgsdkError('ARCHIVE', `layer ${l.path} has digest ${got}, expected diffId ${l.diffId}`);
      }
    }
    await addEntry(tar, { name: `${configHex}.json`, type: 'file', mode: 0o100644 }, Buffer.from(image.config.json));
    await addEntry(tar, { name: 'manifest.json', type: 'file', mode: 0o100644 }, Buffer.from(manifest));
  });
}

/**
 * Writes images into an OCI image layout at `dir` (created if needed). Blobs go
 * first, each through a temp name; `index.json` last, by rename, so a reader never
 * sees a manifest whose blobs are missing. Manifests already in the index under
 * other ref names are kept; one with the same ref name is replaced.
 *
 * @example
 * await writeOciLayout('out/oci', [{ config, layers: [{ digest, size, path: 'layer.tar.gz' }], refName: '1.0' }]);
 * // skopeo inspect oci:out/oci:1.0
 */
export async function writeOciLayout(dir: string, images: readonly OciLayoutImage[]): Promise<OciLayoutEntry[]> {
  const refs = images.map((i) => i.refName);
  for (const r of refs) {
    // Roughly the spec's ref grammar: alphanumerics joined by - . _ : @ / +.
    if (!/^[A-Za-z0-9]+(?:[-._:@/+]+[A-Za-z0-9]+)*$/.test(r)) throw new UsageError(`OCI ref name "${r}" is not valid`);
  }
  const dup = refs.find((r, i) => refs.indexOf(r) !== i);
  if (dup) throw new UsageError(`OCI ref name "${dup}" is given twice`);

  const blobDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  await writeAtomic(join(dir, 'oci-layout'), canonicalJson({ imageLayoutVersion: '1.0.0' }));

  const written: OciLayoutEntry[] = [];
  for (const img of images) {
    for (const l of img.layers) await copyBlob(blobDir, l.digest, l.size, l.path);
    await putBlob(blobDir, img.config.digest, img.config.json);
    const m = imageManifest(
      img.config.digest,
      Buffer.byteLength(img.config.json),
      img.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType ?? LAYER_GZIP_MEDIA_TYPE })),
    );
    await putBlob(blobDir, m.digest, m.json);
    written.push({ refName: img.refName, digest: m.digest, size: m.size });
  }

  const kept = (await readIndex(join(dir, 'index.json'))).filter((d) => !refs.includes(String(d.annotations?.[REF_NAME] ?? '')));
  const manifests = [
    ...kept,
    ...written.map((w) => ({
      mediaType: MANIFEST_MEDIA_TYPE,
      digest: w.digest,
      size: w.size,
      annotations: { [REF_NAME]: w.refName },
    })),
  ].sort((a, b) => cmp(refOf(a), refOf(b)) || cmp(a.digest, b.digest));
  await writeAtomic(join(dir, 'index.json'), canonicalJson({ schemaVersion: 2, mediaType: INDEX_MEDIA_TYPE, manifests }));
  return written;
}

/** A multi-platform image for an OCI layout: one image per platform under one ref name. */
export interface OciLayoutIndex {
  readonly refName: string;
  readonly images: readonly (Omit<OciLayoutImage, 'refName'> & {
    readonly platform: { readonly architecture: string; readonly os: string; readonly variant?: string };
  })[];
}

/** An image index written into an OCI layout, and the manifests it lists (one per platform, in order). */
export interface OciLayoutIndexEntry extends OciLayoutEntry {
  readonly manifests: readonly { readonly digest: string; readonly size: number }[];
}

/**
 * The OCI image index of platform manifests, canonical JSON.
 * @example imageIndex([{ digest, size, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } }])
 */
export function imageIndex(
  manifests: readonly { readonly digest: string; readonly size: number; readonly platform: object }[],
): Blob & { readonly size: number } {
  const json = canonicalJson({
    schemaVersion: 2,
    mediaType: INDEX_MEDIA_TYPE,
    manifests: manifests.map((m) => ({ mediaType: MANIFEST_MEDIA_TYPE, digest: m.digest, size: m.size, platform: m.platform })),
  });
  return { json, digest: sha256Digest(json), size: Buffer.byteLength(json) };
}

/**
 * Writes multi-platform images into the OCI layout at `dir`: each platform's
 * manifest as a blob, and one image index per ref name listing them with their
 * platform (what `docker pull` and `skopeo copy --all` read). Blobs first,
 * index.json last; entries of other ref names are kept.
 * @example await writeOciIndexLayout('out/oci', [{ refName: 'a/b:latest', images: [amd64, arm64] }])
 */
export async function writeOciIndexLayout(dir: string, indexes: readonly OciLayoutIndex[]): Promise<OciLayoutIndexEntry[]> {
  const refs = indexes.map((i) => i.refName);
  for (const r of refs) if (!/^[A-Za-z0-9]+(?:[-._:@/+]+[A-Za-z0-9]+)*$/.test(r)) throw new UsageError(`OCI ref name "${r}" is not valid`);
  const blobDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  await writeAtomic(join(dir, 'oci-layout'), canonicalJson({ imageLayoutVersion: '1.0.0' }));
  const written: OciLayoutIndexEntry[] = [];
  for (const idx of indexes) {
    const manifests = [];
    for (const img of idx.images) {
      for (const l of img.layers) await copyBlob(blobDir, l.digest, l.size, l.path);
      await putBlob(blobDir, img.config.digest, img.config.json);
      const m = imageManifest(
        img.config.digest,
        Buffer.byteLength(img.config.json),
        img.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType ?? LAYER_GZIP_MEDIA_TYPE })),
      );
      await putBlob(blobDir, m.digest, m.json);
      manifests.push({ digest: m.digest, size: m.size, platform: img.platform });
    }
    const index = imageIndex(manifests);
    await putBlob(blobDir, index.digest, index.json);
    written.push({
      refName: idx.refName,
      digest: index.digest,
      size: index.size,
      manifests: manifests.map(({ digest, size }) => ({ digest, size })),
    });
  }
  const kept = (await readIndex(join(dir, 'index.json'))).filter((d) => !refs.includes(String(d.annotations?.[REF_NAME] ?? '')));
  const entries = [
    ...kept,
    ...written.map((w) => ({ mediaType: INDEX_MEDIA_TYPE, digest: w.digest, size: w.size, annotations: { [REF_NAME]: w.refName } })),
  ].sort((a, b) => cmp(refOf(a), refOf(b)) || cmp(a.digest, b.digest));
  await writeAtomic(join(dir, 'index.json'), canonicalJson({ schemaVersion: 2, mediaType: INDEX_MEDIA_TYPE, manifests: entries }));
  return written;
}

interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
}

async function readIndex(path: string): Promise<Descriptor[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  try {
    const idx = JSON.parse(text) as { manifests?: Descriptor[] };
    return Array.isArray(idx.manifests) ? idx.manifests : [];
  } catch (err) {
    throw new ImgsdkError('ARCHIVE', `${path} is not valid JSON; refusing to overwrite it`, { cause: err });
  }
}

const refOf = (d: Descriptor): string => d.annotations?.[REF_NAME] ?? '';
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function hexOf(digest: string): string {
  const m = DIGEST.exec(digest);
  if (!m) throw new ImgsdkError('ARCHIVE', `"${digest}" is not a sha256 digest`);
  return m[1];
}

/**
 * Adds one member with fixed owner and time; a file body comes from a path
 * (streamed, returns its sha256 digest) or a buffer.
 */
async function addEntry(
  tar: Pack,
  h: { name: string; type: 'file' | 'directory'; mode: number; size?: number },
  body: string | Buffer | null,
  hash = true,
): Promise<string | null> {
  // The type bits in `mode` keep tar-stream from replacing it; the header stores `mode & 07777`.
  const header = { ...h, uid: 0, gid: 0, uname: '', gname: '', mtime: EPOCH };
  if (typeof body !== 'string') {
    await writeEntry(tar, header, body);
    return null;
  }
  if (!hash) {
    await writeEntry(tar, header, createReadStream(body));
    return null;
  }
  const tap = new HashingStream();
  const src = createReadStream(body);
  src.on('error', (err) => tap.destroy(err));
  await writeEntry(tar, header, src.pipe(tap));
  return `sha256:${tap.hex()}`;
}

async function putBlob(blobDir: string, digest: string, json: string): Promise<void> {
  const dest = join(blobDir, hexOf(digest));
  if (await sizeIs(dest, Buffer.byteLength(json))) return;
  await writeAtomic(dest, json);
}

/** Copies a layer blob in, checking its digest and size on the way. */
async function copyBlob(blobDir: string, digest: string, size: number, src: string): Promise<void> {
  const dest = join(blobDir, hexOf(digest));
  // Blobs are content-addressed and were verified when written; the size guards a torn copy.
  if (await sizeIs(dest, size)) return;
  await streamAtomic(dest, createReadStream(src), {
    check: (hex, bytes) => {
      const got = `sha256:${hex}`;
      if (got !== digest || bytes !== size) {
        throw new ImgsdkError('ARCHIVE', `layer ${src} is ${got} (${bytes} bytes), expected ${digest} (${size} bytes)`);
      }
    },
  });
}

async function sizeIs(path: string, size: number): Promise<boolean> {
  try {
    return (await stat(path)).size === size;
  } catch {
    return false;
  }
}
