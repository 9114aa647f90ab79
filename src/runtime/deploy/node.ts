/**
 * `imgsdk node`: one image on one platform as a node of a distributed build that a
 * workflow engine (GitHub Actions, Argo Workflows) schedules. The node never builds
 * a dependency: it restores every parent and copy source from the registry cache,
 * and a dependency that is not there yet is a retryable failure (exit 75: its own
 * node has not published it). The image itself goes through deploy's own path
 * (`deployAssembly` of that one image, its dependencies already in the state
 * directory): a key already in the cache is restored, anything else is built and
 * published. Two nodes of one key at once both build and publish the same bytes
 * (keys and builds are deterministic), so the cache holds one entry.
 */
import type { Manifest } from '../../contract/assembly';
import { BuildError, ImgsdkError, UnavailableError, UsageError, isRetryable } from '../../contract/errors';
import { hostPlatform, normalizePlatform } from '../../contract/platform';
import { shortKey } from '../../contract/names';
import type { LoadedAssembly } from '../../contract/read';
import { signingOf } from './signing';
import { deployAssembly, type DeployOptions } from './deploy';
import { keyOn, platformTargets } from './targets';

/** What `imgsdk node` prints and writes: one JSON object. */
export interface NodeResult {
  readonly image: string;
  /** The platform built; null for an image that names none (built for the host) and for `--publish`. */
  readonly platform: string | null;
  readonly key: string;
  /** The image id (config digest); with `--publish --push`, the digest of what was pushed under the first tag. */
  readonly digest: string | null;
  readonly status: 'built' | 'cached' | 'published' | 'failed';
  readonly error?: { readonly code: string; readonly retryable: boolean; readonly message: string };
}

/** Options of a node: the registry cache is required; the rest as deploy's. */
export interface NodeOptions extends Pick<
  DeployOptions,
  'stateDir' | 'engine' | 'onEvent' | 'signal' | 'signKey' | 'signKeyPassphrase' | 'trustKeys' | 'load'
> {
  /** The registry cache `host[:port]/prefix` every node of the workflow shares. */
  readonly cache: string;
  /** The platform to build (`linux/arm64`). @default the host's */
  readonly platform?: string;
  /** Assemble the image's platforms from the cache and push its tags instead of building. @default false */
  readonly publish?: boolean;
  /** With `publish`: the registry the tags go to (`host[:port][/path]`). @default none (checks the cache only) */
  readonly push?: string;
}

/**
 * Builds image `id` of `asm` for one platform as a node of a distributed build,
 * or (`publish`) assembles its platforms into one index and pushes its tags. A
 * failure comes back as a result with `error` (and `retryable`), not thrown.
 * @example const r = await runNode(await readAssembly('imgsdk.out'), 'acme/web', { cache: 'registry:5000/ci', platform: 'linux/arm64' });
 */
export async function runNode(asm: LoadedAssembly, id: string, opts: NodeOptions): Promise<NodeResult> {
  const m = asm.manifest.images[id];
  let platform: string | null = null;
  let key = m?.key ?? '';
  try {
    if (!m) throw new UsageError(`no image "${id}" in the app (images: ${Object.keys(asm.manifest.images).join(', ')})`);
    if (opts.publish) return await publishNode(asm, id, opts);
    platform = platformOf(asm, id, opts.platform);
    key = keyOn(asm, id, platform);
    const view = platform ? onePlatform(asm, platform) : asm;
    // Done already (another node, or this one before a retry): two reads, nothing restored, no engine.
    const done = await (await openNodeCache(opts)).lookup(id, key);
    if (done) return { image: id, platform, key, digest: done.digest, status: 'cached' };
    await restoreDependencies(view, id, [platform], opts);
    const r = await deployAssembly(view, { ...deployOptions(opts), select: [id], exclusively: true, ...(platform ? { platform } : {}) });
    const img = r.images[0];
    if (img.status === 'failed') throw img.error instanceof Error ? img.error : new BuildError(id, img.reason);
    if (img.status === 'skipped') throw new BuildError(id, img.reason);
    return { image: id, platform, key, digest: img.digest ?? null, status: img.status };
  } catch (err) {
    return { image: id, platform, key, digest: null, status: 'failed', error: describeFailure(err) };
  }
}

/** A failure as the result carries it: its code, whether a retry may succeed, its message. */
export function describeFailure(err: unknown): NonNullable<NodeResult['error']> {
  const code = err instanceof ImgsdkError ? err.code : 'INTERNAL';
  const message = err instanceof ImgsdkError ? err.message : String((err as Error)?.stack ?? err);
  return { code, retryable: isRetryable(err), message };
}

/**
 * The platform a node builds: one the image names (the host's by default), or
 * null for an image that names none (it builds for the host, as deploy does).
 */
export function platformOf(asm: LoadedAssembly, id: string, asked: string | undefined): string | null {
  const names = Object.keys(asm.manifest.images[id].platforms ?? {});
  const wanted = asked ? normalizePlatform(asked) : null;
  if (asked && !wanted) throw new UsageError(`--platform "${asked}" is not a platform imgsdk knows`);
  if (!names.length) {
    if (wanted && wanted !== hostPlatform())
      throw new UsageError(`${id} names no platforms, so it builds for the host (${hostPlatform()}), not ${wanted}`);
    return null;
  }
  const p = wanted ?? hostPlatform();
  if (!names.includes(p)) throw new UsageError(`${id} is not built for ${p} (its platforms: ${names.join(', ')})`);
  return p;
}

/**
 * The assembly as a node of `platform` sees it: every image that names it has only
 * that platform, so deploy's per-platform loop builds that one (keys unchanged).
 */
export function onePlatform(asm: LoadedAssembly, platform: string): LoadedAssembly {
  const images: Record<string, Manifest['images'][string]> = {};
  for (const [id, m] of Object.entries(asm.manifest.images)) {
    const own = m.platforms?.[platform];
    images[id] = own ? { ...m, platforms: { [platform]: own } } : m;
  }
  return { ...asm, manifest: { ...asm.manifest, images } };
}

/** Every image `id` needs built first: parents and copy sources, and theirs. */
export function dependencyClosure(manifest: Manifest, id: string): string[] {
  const seen = new Set<string>();
  const stack = [...manifest.images[id].dependsOn];
  while (stack.length) {
    const d = stack.pop()!;
    if (seen.has(d)) continue;
    seen.add(d);
    stack.push(...manifest.images[d].dependsOn);
  }
  return manifest.order.flat().filter((d) => seen.has(d));
}

/**
 * Puts every dependency of `id` (on each of `platforms`) from the registry cache
 * into the state directory; one that is not there is an UnavailableError (retryable:
 * its node has not published it yet). Nothing is loaded into the engine.
 */
async function restoreDependencies(
  asm: LoadedAssembly,
  id: string,
  platforms: readonly (string | null)[],
  opts: NodeOptions,
): Promise<void> {
  const deps = dependencyClosure(asm.manifest, id);
  if (!deps.length) return;
  const { openCache, restoreFromCache } = await import('./cache/registry');
  const { StateDir } = await import('../store/state');
  const { stateDirOfAssembly } = await import('../../contract/defaults');
  const signing = await signingOf(opts);
  const cache = await openCache(opts.cache, process.env, signing);
  const state = new StateDir(opts.stateDir ?? stateDirOfAssembly(asm.dir));
  const log = (line: string) => opts.onEvent?.({ type: 'log', id, line });
  const missing: string[] = [];
  for (const p of platforms) {
    for (const d of deps) {
      const key = keyOn(asm, d, p);
      if (await state.readBuild(d, key)) continue;
      const ancestors: string[] = [];
      for (let a = asm.images.get(d)!.parent; a; a = asm.images.get(a)!.parent) ancestors.push(a);
      const job = {
        id: d,
        key,
        tags: [],
        state,
        ancestors,
        reports: [],
        load: false,
        engine: () => Promise.reject(new ImgsdkError('INTERNAL', 'a dependency is not loaded into the engine')),
        log,
      };
      if (!(await restoreFromCache(cache, job))) missing.push(`${d}${p ? ` (${p})` : ''} at key ${shortKey(key)}`);
    }
  }
  if (missing.length) {
    throw new UnavailableError(
      `${id}: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not in the registry cache ${cache.registry} yet (a node builds only its own image; run the dependency's node first)`,
    );
  }
}

/** The final step: every platform of `id` is in the cache; deploy restores them all (nothing builds) and pushes. */
async function publishNode(asm: LoadedAssembly, id: string, opts: NodeOptions): Promise<NodeResult> {
  const cache = await openNodeCache(opts);
  const targets = platformTargets(asm, id);
  const found = await Promise.all(targets.map((t) => cache.lookup(id, t.key)));
  const missing = targets.filter((_, i) => !found[i]).map((t) => `${t.platform ?? 'its build'} at key ${shortKey(t.key)}`);
  if (missing.length)
    throw new UnavailableError(`${id}: ${missing.join(', ')} not in the registry cache ${cache.registry} yet: run its build nodes first`);
  const key = asm.manifest.images[id].key;
  // Without --push there is nothing to send: every platform is in the cache, which is what this step checks.
  if (!opts.push) return { image: id, platform: null, key, digest: found[targets.findIndex((t) => t.engine)]!.digest, status: 'published' };
  await restoreDependencies(
    asm,
    id,
    targets.map((t) => t.platform),
    opts,
  );
  const r = await deployAssembly(asm, {
    ...deployOptions({ ...opts, load: opts.load ?? true }),
    select: [id],
    exclusively: true,
    push: opts.push,
  });
  const img = r.images[0];
  if (img.status === 'failed') throw img.error instanceof Error ? img.error : new BuildError(id, img.reason);
  // Defence in depth: a publish never builds (every entry was there a moment ago; a build means it vanished).
  if (img.status !== 'cached') throw new BuildError(id, `was ${img.status} instead of restored from the cache: ${img.reason}`);
  return { image: id, platform: null, key, digest: img.pushed?.[0]?.digest ?? img.digest ?? null, status: 'published' };
}

/** The node's registry cache (checked to answer first), and a lookup of one entry. */
async function openNodeCache(
  opts: NodeOptions,
): Promise<{ readonly registry: string; lookup(id: string, key: string): Promise<{ readonly digest: string } | null> }> {
  const { openCache, lookupEntry } = await import('./cache/registry');
  const cache = await openCache(opts.cache, process.env, await signingOf(opts));
  return { registry: cache.registry, lookup: (id, key) => lookupEntry(cache, id, key) };
}

/** Deploy's options for a node: its own state directory, no GC (the directory is thrown away with the node), one image. */
function deployOptions(opts: NodeOptions): DeployOptions {
  return {
    stateDir: opts.stateDir,
    engine: opts.engine,
    onEvent: opts.onEvent,
    signal: opts.signal,
    cache: opts.cache,
    concurrency: 1,
    gc: false,
    ...(opts.load !== undefined ? { load: opts.load } : {}),
    ...(opts.signKey !== undefined ? { signKey: opts.signKey } : {}),
    ...(opts.signKeyPassphrase !== undefined ? { signKeyPassphrase: opts.signKeyPassphrase } : {}),
    ...(opts.trustKeys ? { trustKeys: opts.trustKeys } : {}),
  };
}
