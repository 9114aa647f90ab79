/**
 * Image names as registries take them: the id form, the length limit, a registry
 * reference, splitting `repo:tag`, and how a long name is shortened in a message.
 * Shared by synth's checks, the engine client, deploy's --push and --cache.
 */

/** `namespace/name`: lowercase letters, digits, and `.`, `_`, `-` between them. */
export const IMAGE_ID = /^[a-z0-9]+(?:[._-][a-z0-9]+)*\/[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** `host[:port]` with an optional path prefix of repository components. */
const REGISTRY = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

/**
 * The longest repository name a registry takes (distribution's NameTotalLengthMax);
 * `imgsdk deploy --push` checks it again with the registry's host in front.
 */
export const MAX_REPOSITORY_LENGTH = 255;

export function checkImageId(id: string): string | null {
  if (id === 'scratch') return '"scratch" is the empty parent, not an image id';
  if (id.length > MAX_REPOSITORY_LENGTH)
    return `"${shorten(id)}" is ${id.length} characters long; a registry takes repository names of at most ${MAX_REPOSITORY_LENGTH}`;
  return IMAGE_ID.test(id) ? null : `"${id}" is not an image id of the form namespace/name (lowercase letters, digits, . _ -)`;
}

/** A long name cut for a message: its start, an ellipsis and its end. */
export function shorten(s: string, max = 60): string {
  return s.length <= max ? s : `${s.slice(0, max - 20)}…${s.slice(-19)}`;
}

/**
 * A registry reference without its scheme and trailing slashes, when it is
 * `host[:port][/path]`; null otherwise.
 * @example registryRef('https://127.0.0.1:5000/ci/') // '127.0.0.1:5000/ci'
 */
export function registryRef(ref: string): string | null {
  const r = ref.replace(/^(https?|docker):\/\//, '').replace(/\/+$/, '');
  return REGISTRY.test(r) ? r : null;
}

/**
 * The repository and tag of a reference (`latest` when it names none; a colon
 * before the last `/` is a registry's port, not a tag).
 * @example splitRepoTag('127.0.0.1:5000/acme/web:1.0') // { repo: '127.0.0.1:5000/acme/web', tag: '1.0' }
 */
export function splitRepoTag(ref: string): { repo: string; tag: string } {
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: 'latest' };
}

/**
 * The short form of a key or digest's hex: how a key is shown in messages and
 * tagged (`id:<key12>`).
 * @example shortKey('0a1b2c3d4e5f66778899') // '0a1b2c3d4e5f'
 */
export function shortKey(hex: string): string {
  return hex.slice(0, 12);
}

/**
 * The tags an image goes under: `id:latest`, `id:<key12>` and its own tags, once each.
 * @example imageTags('acme/web', '0a1b2c3d4e5f66', ['1.0']) // ['acme/web:latest', 'acme/web:0a1b2c3d4e5f', 'acme/web:1.0']
 */
export function imageTags(id: string, key: string, own: readonly string[] = []): string[] {
  return [...new Set([`${id}:latest`, `${id}:${shortKey(key)}`, ...own.map((t) => `${id}:${t}`)])];
}
