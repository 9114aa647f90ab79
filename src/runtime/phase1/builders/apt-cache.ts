/**
 * The .deb cache of a Debian builder: a named volume mounted at /imgsdk/debs in
 * its phase-1 containers, so a package downloaded for one image is not downloaded
 * again for the next (a child installs its parent's packages too). debian.sh
 * copies a cached .deb to apt only when its sha256 is the one the index it just
 * read gives (the index the lock's sha256 was checked against), and adds what apt
 * downloaded: a damaged or foreign file is downloaded again, never installed.
 */
import type { VolumeMount } from '../../engine/engine';
import { LABEL_KEY, LABEL_OWNED } from '../../../contract/labels';
import { shortKey } from '../../../contract/names';

/** Where debian.sh finds the cache. */
export const DEBS_DIR = '/imgsdk/debs';

/**
 * The name of the .deb cache volume of the builder image with bootstrap key `key`:
 * one per builder image, whatever ids name it.
 * @example aptCacheVolume('ab12…') // 'imgsdk-apt-ab12…' (12 hex digits)
 */
export function aptCacheVolume(key: string): string {
  return `imgsdk-apt-${shortKey(key)}`;
}

/**
 * The mount of that volume in a phase-1 container; created labelled as imgsdk's
 * (`org.imgsdk`) with the builder's bootstrap key, so `clean` finds it.
 */
export function aptCacheMount(key: string): VolumeMount {
  return { volume: aptCacheVolume(key), target: DEBS_DIR, labels: { [LABEL_OWNED]: '1', [LABEL_KEY]: key } };
}
