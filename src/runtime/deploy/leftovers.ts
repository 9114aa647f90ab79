/**
 * What a deploy killed with SIGKILL leaves behind, and its removal by the next
 * deploy of the same state directory: builder containers (labelled with the
 * state directory's identity, so only this directory's are touched) and temp
 * files (`*.tmp`, and lock files set aside). Both run while the state lock is
 * held, so everything of that kind that is already there belongs to a deploy
 * that is gone.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { stateIdentity } from '../store/users';
export { stateIdentity };
import type { Engine } from '../engine/engine';
import { holderState, self } from '../store/mutex';
import { LABEL_OWNER, LABEL_STATE } from '../../contract/labels';
import { shortKey } from '../../contract/names';

/**
 * An engine whose containers all carry `labels` (the deploy's state identity),
 * otherwise the same engine.
 */
export function labelledEngine(engine: Engine, labels: Readonly<Record<string, string>>): Engine {
  const add = <O extends { readonly labels?: Readonly<Record<string, string>> }>(opts: O): O => ({
    ...opts,
    labels: { ...opts.labels, ...labels },
  });
  const wrapped = Object.create(engine) as Engine;
  return Object.assign(wrapped, {
    withContainer: ((opts, fn) => engine.withContainer(add(opts), fn)) as Engine['withContainer'],
    runContainer: ((opts) => engine.runContainer(add(opts))) as Engine['runContainer'],
  });
}

/**
 * The labels of a container of this process for the state directory `root`: its
 * identity (the sweeps and `clean` find it) and its owner (kept while it runs).
 * @example engine.withContainer({ image, labels: { ...stateLabels('.imgsdk') } }, run)
 */
export function stateLabels(root: string): Record<string, string> {
  return { [LABEL_STATE]: stateIdentity(root), [LABEL_OWNER]: ownerTag() };
}

/** This process as a container's owner: pid, start time and boot. */
export function ownerTag(): string {
  const me = self();
  return `${me.pid}:${me.start ?? ''}:${me.boot ?? ''}`;
}

/** Whether the process an owner label names still runs (an unreadable label: no). */
export function ownerAlive(tag: string | undefined): boolean {
  if (!tag) return false;
  const [pid, start, boot] = tag.split(':');
  return holderState({ pid: Number(pid), start: start || null, boot: boot || null, host: hostname(), since: '', command: '' }) === 'alive';
}

/**
 * Removes the containers of this state directory that a dead process left (a
 * deploy or a lock killed with SIGKILL); their names. A container whose owner
 * still runs is kept.
 */
export async function removeDeadContainers(engine: Engine, identity: string): Promise<string[]> {
  const removed: string[] = [];
  for (const c of await engine.listContainers({ label: `${LABEL_STATE}=${identity}`, all: true })) {
    if (ownerAlive(c.labels[LABEL_OWNER])) continue;
    if (await engine.removeContainer(c.id).catch(() => false)) removed.push(c.names[0] ?? shortKey(c.id));
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
