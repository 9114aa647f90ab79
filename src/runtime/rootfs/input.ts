/**
 * What the rootfs pipeline starts from: phase 1's tar read into entries (bodies
 * in the blob store). Read once per phase-1 key and kept next to the tar, so a
 * rebuild that changed only files or config reads neither the tar nor its hash.
 */
import { createReadStream } from 'node:fs';
import { BuildError } from '../../contract/errors';
import { hashFile } from '../../util/hash';
import type { Entry } from '../store/entry';
import { readRootfsTar } from './tar';
import type { RootfsRecord, StateDir } from '../store/state';

/**
 * The entries of `rec`'s tar: the kept ones, or (none kept, or `fresh`: the blob
 * store lost a body) the tar read again. A tar whose record has kept entries was
 * checked by size only (StateDir.readRootfs), so its hash is checked before it is read.
 * Returns the record too, updated when the entries were written.
 * @example const { entries } = await rootfsInput(state, rec, 'acme/web');
 */
export async function rootfsInput(
  state: StateDir,
  rec: RootfsRecord,
  id: string,
  opts: { fresh?: boolean } = {},
): Promise<{ entries: Entry[]; rootfs: RootfsRecord }> {
  if (!opts.fresh) {
    const kept = await state.readRootfsEntries(rec);
    if (kept) return { entries: kept, rootfs: rec };
  }
  const tar = state.rootfsPath(rec.key);
  if (rec.entriesSha256 && (await hashFile(tar).catch(() => null)) !== rec.sha256) {
    throw new BuildError(id, `the cached rootfs ${tar} is damaged (its content does not match its hash): deploy -F builds it again`, {
      phase: 'pipeline',
    });
  }
  const entries = await readRootfsTar(createReadStream(tar), state.blobs, { origin: (p) => rec.origins[p], allowSetuid: true });
  return { entries, rootfs: await state.writeRootfsEntries(rec, entries) };
}
