/**
 * One dispatch from a builder of the assembly to a ready builder image, for
 * deploy and `imgsdk shell` alike: Debian builders are bootstrapped with
 * mmdebstrap, Gentoo builders set up from a stage3 with their Portage volumes.
 */
import { join } from 'node:path';
import type { BuilderDef } from '../../../contract/assembly';
import type { Engine, VolumeMount } from '../../engine/engine';
import { aptCacheMount } from './apt-cache';
import { ensureDebianBuilderImage } from './debian';
import { ensureGentooBuilder } from './gentoo';
import { recordUses, usersDirOf } from '../../store/users';

/** A builder image and the named volumes its containers mount (Debian: the .deb cache; Gentoo: Portage snapshot, distfiles, binpkgs). */
export interface BuilderImage {
  readonly ref: string;
  readonly mounts: readonly VolumeMount[];
}

/** `ensureBuilder` options. */
export interface EnsureOptions {
  /** The state directory: Gentoo downloads are cached in its `downloads/`. */
  readonly stateRoot: string;
  /** Progress lines. @default ignored */
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
  /** Set the builder up again even when an image with its key exists. @default false */
  readonly force?: boolean;
  /** The registry of cache users (store/users.ts). @default usersDirOf() */
  readonly usersDir?: string;
  /** The platform of a builder that names platforms (`linux/arm64`). @default the host's */
  readonly platform?: string;
}

/**
 * The builder image of `def` (whose builder key is `key`), set up when the engine
 * lacks it.
 * @example const { ref, mounts } = await ensureBuilder(engine, b.def, b.key, { stateRoot: state.root });
 */
export async function ensureBuilder(engine: Engine, def: BuilderDef, key: string, opts: EnsureOptions): Promise<BuilderImage> {
  const common = { log: opts.log, signal: opts.signal, force: opts.force ?? false, ...(opts.platform ? { platform: opts.platform } : {}) };
  const debianImage = async (): Promise<BuilderImage> => {
    // The .deb cache belongs to the builder image (its bootstrap key), shared by every id naming it.
    const { ref, key: imageKey } = await ensureDebianBuilderImage(engine, def, common);
    return { ref, mounts: [aptCacheMount(imageKey)] };
  };
  const image =
    def.kind === 'debian'
      ? await debianImage()
      : await ensureGentooBuilder(engine, def, key, { ...common, cacheDir: join(opts.stateRoot, 'downloads') });
  // Shared with other apps on the engine: `clean` removes it only when no other known user remains.
  await recordUses(opts.usersDir ?? usersDirOf(), opts.stateRoot, { builders: [def.id], volumes: image.mounts.map((m) => m.volume) });
  return image;
}
