/**
 * Builders made `from:` an image tag (a Debian builder's `from`, a Gentoo
 * builder's stage3 image) follow the image behind the tag: its id, resolved when
 * the builder is needed, is recorded on the builder image, and a builder set up
 * from another image than the tag names now is set up again. The tag string alone
 * (what the builder's definition, and so its key, holds) cannot tell that a base
 * image was rebuilt or pulled anew under the same tag.
 */
import { BuildError } from '../../../contract/errors';
import type { Engine, ImageInfo } from '../../engine/engine';
import { LABEL_BUILDER_FROM } from '../../../contract/labels';
import { shortKey } from '../../../contract/names';

/**
 * The id of the image behind `image` in the engine, pulled first when the engine
 * lacks it (the progress as `pull: …` lines).
 * @example const id = await fromImageId(engine, 'acme/slim', 'debian:bookworm-slim', { log }); // 'sha256:…'
 */
export async function fromImageId(
  engine: Engine,
  builder: string,
  image: string,
  opts: { readonly log?: (line: string) => void; readonly pull?: (image: string) => Promise<void> } = {},
): Promise<string> {
  const log = opts.log ?? (() => undefined);
  let info = await engine.inspectImage(image);
  if (!info) {
    log(`builder ${builder}: pulling ${image}`);
    await (
      opts.pull ??
      ((ref) => engine.pullImage(ref, (e) => e.status && log(`pull: ${[e.id, e.status, e.progress].filter(Boolean).join(' ')}`)))
    )(image);
    info = await engine.inspectImage(image);
  }
  if (!info) throw new BuildError(builder, `${image} is not in the engine after pulling it`, { phase: 'builder' });
  return info.id;
}

/**
 * Why a builder image set up earlier does not follow its `from:` image any more,
 * or null when it does (or has no `from:`). A builder set up before the id was
 * recorded is set up again once, so that it is.
 * @example staleFrom(existing, 'debian:bookworm-slim', 'sha256:ab…') // 'debian:bookworm-slim is now image ab… (the builder was set up from cd…)'
 */
export function staleFrom(existing: ImageInfo, image: string | null, id: string | null): string | null {
  if (!image || !id) return null;
  const was = existing.labels[LABEL_BUILDER_FROM];
  if (was === id) return null;
  return `${image} is now image ${short(id)} (the builder was set up from ${was ? short(was) : 'an image it did not record'})`;
}

/** `sha256:abcdef…` as its first 12 hex digits. */
export function short(id: string): string {
  return shortKey(id.replace(/^sha256:/, ''));
}
