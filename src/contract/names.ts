/**
 * Image names as registries take them: the id form, the length limit, and how a
 * long name is shortened in a message. Shared by synth's checks and deploy's --push.
 */

const ID = /^[a-z0-9]+(?:[._-][a-z0-9]+)*\/[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/**
 * The longest repository name a registry takes (distribution's NameTotalLengthMax);
 * `imgsdk deploy --push` checks it again with the registry's host in front.
 */
export const MAX_REPOSITORY_LENGTH = 255;

export function checkImageId(id: string): string | null {
  if (id === 'scratch') return '"scratch" is the empty parent, not an image id';
  if (id.length > MAX_REPOSITORY_LENGTH) return `"${shorten(id)}" is ${id.length} characters long; a registry takes repository names of at most ${MAX_REPOSITORY_LENGTH}`;
  return ID.test(id) ? null : `"${id}" is not an image id of the form namespace/name (lowercase letters, digits, . _ -)`;
}

/** A long name cut for a message: its start, an ellipsis and its end. */
export function shorten(s: string, max = 60): string {
  return s.length <= max ? s : `${s.slice(0, max - 20)}…${s.slice(-19)}`;
}
