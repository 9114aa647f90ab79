/**
 * How deploy uses the registry cache, around the build of one image: before it,
 * a key missing from the state directory is looked up and restored (so the build
 * finds it cached); after it, a built or cached image missing from the registry is
 * published. Without a cache, the build alone.
 */
import type { CacheJob, RegistryCache } from './registry';
import { publishToCache, restoreFromCache } from './registry';
import { shortKey } from '../../../contract/names';

/** What the build returns, as far as the cache cares: a result with its status and reason. */
interface Outcome {
  readonly result: { readonly status: string; readonly reason: string };
}

/**
 * Runs `build` between a lookup (unless `forced`: a forced build does not take
 * cached results) and a publish. A result that came from the cache says so.
 */
export async function withRegistryCache<R extends Outcome>(
  cache: RegistryCache | null,
  job: CacheJob & { readonly forced: boolean },
  build: () => Promise<R>,
): Promise<R> {
  if (!cache) return build();
  const local = await job.state.readBuild(job.id, job.key);
  const restored = !local && !job.forced && (await restoreFromCache(cache, job));
  const r = await build();
  const { status } = r.result;
  if (status !== 'built' && status !== 'cached') return r;
  await publishToCache(cache, job);
  return restored && status === 'cached'
    ? { ...r, result: { ...r.result, reason: `key ${shortKey(job.key)} is in the registry cache ${cache.registry}` } }
    : r;
}
