/**
 * Runs tasks in dependency order, independent ones in parallel, at most
 * `concurrency` at a time. A failure stops the tasks that depend on it; the
 * others finish.
 */

export type Outcome<T> =
  | { readonly status: 'ok'; readonly value: T }
  | { readonly status: 'failed'; readonly error: unknown }
  | { readonly status: 'skipped'; readonly reason: string };

export interface ScheduleOptions {
  /** @default 2 */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
}

/**
 * @param deps for each task id, the ids it waits for (ids outside `deps` are ignored)
 * @example await schedule({ a: [], b: ['a'] }, async (id) => build(id), { concurrency: 2 })
 */
export async function schedule<T>(
  deps: Readonly<Record<string, readonly string[]>>,
  run: (id: string) => Promise<T>,
  opts: ScheduleOptions = {},
): Promise<Map<string, Outcome<T>>> {
  const limit = Math.max(1, opts.concurrency ?? 2);
  const ids = Object.keys(deps).sort();
  const waits = new Map(ids.map((id) => [id, deps[id].filter((d) => d in deps)]));
  const outcomes = new Map<string, Outcome<T>>();
  const running = new Map<string, Promise<void>>();

  const ready = (id: string) => waits.get(id)!.every((d) => outcomes.get(d)?.status === 'ok');
  const blockedBy = (id: string) => waits.get(id)!.find((d) => outcomes.has(d) && outcomes.get(d)!.status !== 'ok');

  while (outcomes.size < ids.length) {
    let progressed = false;
    for (const id of ids) {
      if (outcomes.has(id) || running.has(id)) continue;
      const bad = blockedBy(id);
      if (bad) {
        const o = outcomes.get(bad)!;
        outcomes.set(id, { status: 'skipped', reason: o.status === 'failed' ? `${bad} failed` : `${bad} was skipped` });
        progressed = true;
        continue;
      }
      if (opts.signal?.aborted) {
        outcomes.set(id, { status: 'skipped', reason: 'cancelled' });
        progressed = true;
        continue;
      }
      if (running.size >= limit || !ready(id)) continue;
      const p = run(id)
        .then(
          (value) => void outcomes.set(id, { status: 'ok', value }),
          (error) => void outcomes.set(id, { status: 'failed', error }),
        )
        .finally(() => running.delete(id));
      running.set(id, p);
      progressed = true;
    }
    if (!progressed) {
      if (running.size === 0) {
        // Only a cycle can leave tasks that never become ready.
        for (const id of ids) if (!outcomes.has(id)) outcomes.set(id, { status: 'skipped', reason: 'dependency cycle' });
        break;
      }
      await Promise.race(running.values());
    }
  }
  await Promise.all(running.values());
  return outcomes;
}
