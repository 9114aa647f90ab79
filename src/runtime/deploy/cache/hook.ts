/**
 * How deploy uses the registry cache, around the build of one image: before it,
 * a key missing from the state directory is looked up and restored (so the build
 * finds it cached); after it, a built or cached image missing from the registry is
 * published. Without a cache, the build alone.
 */
import type { CacheJob, RegistryCache } from './registry';
import { publishToCache, restoreFromCache } from './registry';

/** What the build returns, as far as the cache cares. */
interface Outcome {
  readonly status: string;
  readonly reason: string;
}

/**
 * Runs `build` between a lookup (unless `forced`: a forced build does not take
 * cached results) and a publish. A result that came from the cache says so.
 */
export async function withRegistryCache<R extends Outcome>(cache: RegistryCache | null, job: CacheJob & { readonly forced: boolean }, build: () => Promise<R>): Promise<R> {
  if (!cache) return build();
  const local = await job.state.readBuild(job.id, job.key);
  const restored = !local && !job.forced && (await restoreFromCache(cache, job));
  const r = await build();
  if (r.status !== 'built' && r.status !== 'cached') return r;
  await publishToCache(cache, job);
  return restored && r.status === 'cached' ? withHidden(r, { ...r, reason: `key ${job.key.slice(0, 12)} is in the registry cache ${cache.registry}` }) : r;
}

/** `to` with the hidden (non-enumerable symbol) properties of `from`: a platform's result carries its exports so. */
function withHidden<R extends object>(from: R, to: R): R {
  for (const s of Object.getOwnPropertySymbols(from)) Object.defineProperty(to, s, Object.getOwnPropertyDescriptor(from, s)!);
  return to;
}
