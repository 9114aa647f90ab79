/**
 * What a deploy killed with SIGKILL leaves behind, and its removal by the next
 * deploy of the same state directory: builder containers (labelled with the
 * state directory's identity, so only this directory's are touched) and temp
 * files (`*.tmp`, and lock files set aside). Both run while the state lock is
 * held, so everything of that kind that is already there belongs to a deploy
 * that is gone.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
export { stateIdentity } from '../store/users';
import { LABEL_STATE, type Engine } from '../engine/engine';

/**
 * An engine whose containers all carry `labels` (the deploy's state identity),
 * otherwise the same engine.
 */
export function labelledEngine(engine: Engine, labels: Readonly<Record<string, string>>): Engine {
  const add = <O extends { readonly labels?: Readonly<Record<string, string>> }>(opts: O): O => ({ ...opts, labels: { ...opts.labels, ...labels } });
  const wrapped = Object.create(engine) as Engine;
  return Object.assign(wrapped, {
    withContainer: ((opts, fn) => engine.withContainer(add(opts), fn)) as Engine['withContainer'],
    runContainer: ((opts) => engine.runContainer(add(opts))) as Engine['runContainer'],
  });
}

/** Removes the containers of this state directory that a dead deploy left; their names. */
export async function removeDeadContainers(engine: Engine, identity: string): Promise<string[]> {
  const removed: string[] = [];
  for (const c of await engine.listContainers({ label: `${LABEL_STATE}=${identity}`, all: true })) {
    if (await engine.removeContainer(c.id).catch(() => false)) removed.push(c.names[0] ?? c.id.slice(0, 12));
  }
  return removed;
}

/**
 * Removes temp files under `root` last changed before `before` (the time the lock
 * was taken): partial rootfs tars, blobs, layers and records of deploys that died.
 * Returns their paths, relative to `root`.
 */
export async function removeDeadTempFiles(root: string, before: number): Promise<string[]> {
  const removed: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    const items = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const it of items) {
      const path = join(dir, it.name);
      const relPath = rel ? `${rel}/${it.name}` : it.name;
      if (it.isDirectory()) await walk(path, relPath);
      else if (it.isFile() && /\.(tmp|stale)$/.test(it.name)) {
        const st = await stat(path).catch(() => null);
        if (st && st.mtimeMs < before) {
          await rm(path, { force: true });
          removed.push(relPath);
        }
      }
    }
  };
  await walk(root, '');
  return removed.sort();
}
