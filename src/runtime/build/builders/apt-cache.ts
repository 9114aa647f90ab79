/**
 * The .deb cache of a Debian builder: a named volume mounted at
 * /var/cache/apt/archives in its phase-1 containers, so a package downloaded for
 * one image is not downloaded again for the next (a child installs its parent's
 * packages too). apt checks every .deb it takes from there against the sha256 of
 * the index it just read, which the lock's sha256 was checked against: a damaged
 * or foreign file is downloaded again, never installed.
 */
import type { VolumeMount } from '../../engine/engine';

/** Where apt keeps downloaded packages. */
export const APT_ARCHIVES = '/var/cache/apt/archives';

/**
 * The name of the .deb cache volume of the builder image with bootstrap key `key`:
 * one per builder image, whatever ids name it.
 * @example aptCacheVolume('ab12…') // 'imgsdk-apt-ab12…' (12 hex digits)
 */
export function aptCacheVolume(key: string): string {
  return `imgsdk-apt-${key.slice(0, 12)}`;
}

/** The mount of that volume in a phase-1 container. */
export function aptCacheMount(key: string): VolumeMount {
  return { volume: aptCacheVolume(key), target: APT_ARCHIVES };
}
