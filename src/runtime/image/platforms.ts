/**
 * Multi-platform deploys: which builds an image has (one per platform it names,
 * or one for the host when it names none), which of them the local engine gets,
 * emulation for the others, and the image index that puts them under one tag in
 * the OCI layout and the registry.
 */
import { existsSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { BuilderDef } from '../../contract/assembly';
import { BuildError } from '../../contract/errors';
import { splitRepoTag } from '../../contract/names';
import { forPlatform } from '../../contract/platform';
import { hostPlatform, ociPlatform, platformInfo } from '../../contract/platform';
import { RegistryClient, pushAttestation } from './attest';
import type { LoadedAssembly } from '../../contract/read';
import type { RegistryAuth } from '../engine/engine';
import { imageIndex, INDEX_MEDIA_TYPE, writeOciIndexLayout, type OciLayoutIndex } from './archive';
import { LAYER_MEDIA_TYPE } from './layer';
import { imageManifest, MANIFEST_MEDIA_TYPE } from './oci';
import type { ExportImage } from './oci-export';
import type { Pushed } from './push';
import type { ShipOptions } from './ship';

/** One build of an image: for a platform it names, or (platform null) for the host's as before platforms. */
export interface PlatformTarget {
  /** `linux/arm64`, or null: the image names no platform. */
  readonly platform: string | null;
  readonly key: string;
  /** Its phase-1 key: its rootfs is cached under it (older assemblies: the key). */
  readonly phase1Key: string;
  /** The builder of that platform and its key. */
  readonly builder: BuilderDef;
  readonly builderKey: string;
  /** Whether the local engine gets this build under the image's tags. */
  readonly engine: boolean;
  /** `id:tag` names it is loaded and exported under. */
  readonly tags: readonly string[];
  /** Where its reports go inside the image's state directory: '' or `linux-arm64/`. */
  readonly prefix: string;
}

/**
 * The builds of image `id`. The engine's platform (`enginePlatform`, by default
 * the host's) gets the image's tags; when the image lacks it, its first platform
 * does. The others are tagged `id:<their key12>` only, and their reports live in a
 * subdirectory named after the platform (the first platform's stay where an
 * image's always were).
 * @example platformTargets(asm, 'acme/jq', 'linux/amd64').map((t) => t.platform) // ['linux/amd64', 'linux/arm64']
 */
export function platformTargets(asm: LoadedAssembly, id: string, enginePlatform: string = hostPlatform()): PlatformTarget[] {
  const m = asm.manifest.images[id];
  const b = asm.manifest.builders[asm.images.get(id)!.builder];
  const own = (key: string) => [...new Set([`${id}:latest`, `${id}:${key.slice(0, 12)}`, ...m.tags.map((t) => `${id}:${t}`)])];
  if (!m.platforms) return [{ platform: null, key: m.key, phase1Key: m.phase1Key ?? m.key, builder: b.def, builderKey: b.key, engine: true, tags: own(m.key), prefix: '' }];
  const names = Object.keys(m.platforms);
  const loaded = names.includes(enginePlatform) ? enginePlatform : names[0];
  return names.map((p, i) => {
    const per = m.platforms![p];
    const variant = b.platforms?.[p];
    const builder = variant?.def ?? (typeof forPlatform(b.def, p) === 'string' ? b.def : (forPlatform(b.def, p) as BuilderDef));
    return {
      platform: p, key: per.key, phase1Key: per.phase1Key ?? per.key, builder, builderKey: variant?.key ?? per.builderKey, engine: p === loaded,
      tags: p === loaded ? own(per.key) : [`${id}:${per.key.slice(0, 12)}`], prefix: i === 0 ? '' : `${platformSlug(p)}/`,
    };
  });
}

/** The tags a multi-platform image's index goes under: `latest`, its first platform's key12, its own. */
export function indexTags(asm: LoadedAssembly, id: string): string[] {
  const m = asm.manifest.images[id];
  return [...new Set([`${id}:latest`, `${id}:${m.key.slice(0, 12)}`, ...m.tags.map((t) => `${id}:${t}`)])];
}

/** `linux/arm64` -> `linux-arm64` (a file or directory name). */
export function platformSlug(platform: string): string {
  return platform.replace(/\//g, '-');
}

/** The key of image `id` on `platform` (null: the image names none). */
export function keyOn(asm: LoadedAssembly, id: string, platform: string | null): string {
  const m = asm.manifest.images[id];
  return (platform && m.platforms?.[platform]?.key) || m.key;
}

/** Where deploy keeps what it built of `id` on `platform`: the id itself for a platform-less image or its first platform. */
export function builtId(asm: LoadedAssembly, id: string, platform: string | null): string {
  const m = asm.manifest.images[id];
  if (!platform || !m.platforms || Object.keys(m.platforms)[0] === platform) return id;
  return `${id}@${platform}`;
}

/** What one target ships by itself: the engine load (its platform's only); the index does the OCI layout and push of a multi-platform image. */
export function targetShip(ship: ShipOptions, t: PlatformTarget): ShipOptions {
  if (t.platform === null) return ship;
  return { load: ship.load && t.engine, archive: t.engine ? ship.archive : undefined };
}

/** The `binfmt_misc` entry that runs a platform's programs on this host, by the platform's `uname -m`. */
const BINFMT = '/proc/sys/fs/binfmt_misc';

/**
 * Whether programs of `platform` run here: natively, or through an enabled
 * qemu-user binfmt_misc handler (`qemu-<uname -m>`). The message says how to get one.
 * @example emulation('linux/arm64') // { ok: true, how: 'emulated by /usr/libexec/qemu-binfmt/aarch64-binfmt-P' }
 */
export function emulation(platform: string, host: string = hostPlatform(), dir: string = BINFMT): { ok: boolean; how: string } {
  if (platform === host) return { ok: true, how: 'native' };
  const uname = platformInfo(platform).uname;
  const entry = `${dir}/qemu-${uname}`;
  if (!existsSync(entry)) {
    return { ok: false, how: `${platform} programs cannot run on this ${host} host: no binfmt_misc handler ${entry}. Install qemu-user-static and binfmt-support (apt-get install qemu-user-static binfmt-support), or register it: mount -t binfmt_misc binfmt_misc ${dir}; update-binfmts --enable qemu-${uname}` };
  }
  const text = readFileSync(entry, 'utf8');
  if (!/^enabled/m.test(text)) return { ok: false, how: `${platform}: the binfmt_misc handler ${entry} is disabled: update-binfmts --enable qemu-${uname}` };
  const interpreter = /^interpreter (.+)$/m.exec(text)?.[1] ?? '?';
  const flags = /^flags: (.*)$/m.exec(text)?.[1] ?? '';
  // Without F the interpreter is looked up inside the container, where it is not.
  if (!flags.includes('F')) return { ok: false, how: `${platform}: the binfmt_misc handler ${entry} lacks the F (fix-binary) flag, so it does not work inside containers; use qemu-user-static's handler` };
  return { ok: true, how: `emulated by ${interpreter}` };
}

/** Throws a BuildError naming the image when `platform` cannot run here. */
export function requireEmulation(id: string, platform: string | null): void {
  if (!platform) return;
  const e = emulation(platform);
  if (!e.ok) throw new BuildError(id, e.how, { phase: 'builder' });
}

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
      for (const d of e.diffIds) layers.push({ digest: d, size: (await stat(layerPath(d))).size, path: layerPath(d), mediaType: LAYER_MEDIA_TYPE });
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
        const m = imageManifest(img.config.digest, Buffer.byteLength(img.config.json), img.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType ?? LAYER_MEDIA_TYPE })));
        await client.putManifest(repo, m.digest, m.json, MANIFEST_MEDIA_TYPE);
        manifests.push({ digest: m.digest, size: m.size, platform: img.platform });
        log(`pushed ${registry}/${id}@${m.digest} (${builds[i].platform})`);
        const statement = builds[i].exports[v.pick].attestation;
        if (statement) await pushProvenance(registry, id, m.digest, statement, auth, log);
      }
      const index = imageIndex(manifests);
      for (const t of v.tags) {
        const { tag } = splitRepoTag(t);
        await client.putManifest(repo, tag, index.json, INDEX_MEDIA_TYPE);
        log(`pushed ${registry}/${id}:${tag} (${index.digest}, an index of ${builds.map((b) => b.platform).join(', ')})`);
        pushed.push({ ref: `${registry}/${id}:${tag}`, digest: index.digest });
      }
    }
  }
  return pushed;
}

async function pushProvenance(registry: string, id: string, digest: string, statement: string, auth: RegistryAuth | null, log: (l: string) => void): Promise<void> {
  try {
    const tag = await pushAttestation(registry, id, digest, statement, auth);
    log(`pushed the provenance as ${registry}/${id}:${tag}`);
  } catch (err) {
    throw new BuildError(id, `push of the provenance failed: ${(err as Error).message}`, { cause: err, phase: 'push' });
  }
}
