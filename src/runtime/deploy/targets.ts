/**
 * Multi-platform deploys: which builds an image has (one per platform it names,
 * or one for the host when it names none), which of them the local engine gets,
 * emulation for the others, and the image index that puts them under one tag in
 * the OCI layout and the registry.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { BuilderDef } from '../../contract/assembly';
import { BuildError } from '../../contract/errors';
import { forPlatform } from '../../contract/platform';
import { hostPlatform, platformInfo } from '../../contract/platform';
import type { LoadedAssembly } from '../../contract/read';
import type { ShipOptions } from '../image/ship';
import { imageTags, shortKey } from '../../contract/names';

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
  if (!m.platforms)
    return [
      {
        platform: null,
        key: m.key,
        phase1Key: m.phase1Key ?? m.key,
        builder: b.def,
        builderKey: b.key,
        engine: true,
        tags: imageTags(id, m.key, m.tags),
        prefix: '',
      },
    ];
  const names = Object.keys(m.platforms);
  const loaded = names.includes(enginePlatform) ? enginePlatform : names[0];
  return names.map((p, i) => {
    const per = m.platforms![p];
    const variant = b.platforms?.[p];
    const builder = variant?.def ?? (typeof forPlatform(b.def, p) === 'string' ? b.def : (forPlatform(b.def, p) as BuilderDef));
    return {
      platform: p,
      key: per.key,
      phase1Key: per.phase1Key ?? per.key,
      builder,
      builderKey: variant?.key ?? per.builderKey,
      engine: p === loaded,
      tags: p === loaded ? imageTags(id, per.key, m.tags) : [`${id}:${shortKey(per.key)}`],
      prefix: i === 0 ? '' : `${platformSlug(p)}/`,
    };
  });
}

/**
 * The tags of image `id`: `latest`, its key's short form, its own tags. A
 * multi-platform image's index goes under them (its key is its first platform's).
 */
export function imageTagsOf(asm: LoadedAssembly, id: string): string[] {
  const m = asm.manifest.images[id];
  return imageTags(id, m.key, m.tags);
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
    return {
      ok: false,
      how: `${platform} programs cannot run on this ${host} host: no binfmt_misc handler ${entry}. Install qemu-user-static and binfmt-support (apt-get install qemu-user-static binfmt-support), or register it: mount -t binfmt_misc binfmt_misc ${dir}; update-binfmts --enable qemu-${uname}`,
    };
  }
  const text = readFileSync(entry, 'utf8');
  if (!/^enabled/m.test(text))
    return { ok: false, how: `${platform}: the binfmt_misc handler ${entry} is disabled: update-binfmts --enable qemu-${uname}` };
  const interpreter = /^interpreter (.+)$/m.exec(text)?.[1] ?? '?';
  const flags = /^flags: (.*)$/m.exec(text)?.[1] ?? '';
  // Without F the interpreter is looked up inside the container, where it is not.
  if (!flags.includes('F'))
    return {
      ok: false,
      how: `${platform}: the binfmt_misc handler ${entry} lacks the F (fix-binary) flag, so it does not work inside containers; use qemu-user-static's handler`,
    };
  return { ok: true, how: `emulated by ${interpreter}` };
}

/** Throws a BuildError naming the image when `platform` cannot run here. */
export function requireEmulation(id: string, platform: string | null): void {
  if (!platform) return;
  const e = emulation(platform);
  if (!e.ok) throw new BuildError(id, e.how, { phase: 'builder' });
}
