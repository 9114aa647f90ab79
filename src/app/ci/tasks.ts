/**
 * The tasks of a distributed build, as every workflow generator renders them
 * (`imgsdk ci github`, `imgsdk ci argo`, docs/scale.md): one `imgsdk node` per
 * image and platform, waiting only for the builds of its own dependencies on
 * that platform, and one publish per image after all of its platforms. The
 * generators render this list and nothing else, so a GitHub job and an Argo task
 * of the same image cannot disagree on what they run or wait for.
 */
import { createHash } from 'node:crypto';
import type { BuilderKind, Manifest } from '../../contract/assembly';
import { UsageError } from '../../contract/errors';
import { registryRef } from '../../contract/names';
import { DEFAULT_PLATFORM, normalizePlatform, PLATFORMS } from '../../contract/platform';
import { globToRegExp } from '../../runtime/rootfs/resolve';

/** One node of the workflow: a build of one image on one platform, or the publish of one image. */
export interface CiTask {
  /**
   * Unique in the workflow, and valid both as a GitHub job id and as an Argo task
   * name: lowercase letters, digits and `-`, starting with a letter, at most 63
   * characters (`build-imgsdk-nginx-linux-arm64`, `publish-imgsdk-nginx`).
   */
  readonly name: string;
  readonly kind: 'build' | 'publish';
  readonly image: string;
  /** The platform built, or null: the image names none (built for the runner's) or this is a publish. */
  readonly platform: string | null;
  /** The key the build makes (a publish: the image's key); a driver can check the node's result against it. */
  readonly key: string;
  /** The kind of the image's builder (what a runner must install: mmdebstrap for debian). */
  readonly builder: BuilderKind;
  /** Names of the tasks this one waits for: the builds of its parent and copy sources on its platform; for a publish, its image's builds. */
  readonly dependencies: readonly string[];
  /** The node command's arguments, after `imgsdk`. */
  readonly argv: readonly string[];
}

/** What the tasks run against. */
export interface CiTaskOptions {
  /** The registry cache every node shares, `REGISTRY/PREFIX` (`imgsdk node --cache`). */
  readonly cache: string;
  /** The `--app` the nodes get (the app's path where they run), or none: the nearest images.ts. @default undefined */
  readonly app?: string;
  /** Where the publish tasks push the images' tags, `REGISTRY[/PREFIX]`; none: the publish only assembles the index in the cache. @default undefined */
  readonly push?: string;
  /** Public keys (paths where the nodes run) whose signatures the cache trusts (`imgsdk node --trust-key`); with any, unsigned entries are refused and built. @default [] */
  readonly trustKeys?: readonly string[];
  /** Image ids or globs; their dependencies come along. @default every image */
  readonly select?: readonly string[];
}

/**
 * The tasks of an app's plan, in build order (the manifest's levels; per image,
 * its platforms, then its publish).
 * @example ciTasks(assemble(app(base, web)).manifest, { cache: 'registry.example.com/ci' }).map((t) => t.name)
 * // ['build-x-base-linux-amd64', 'publish-x-base', 'build-x-web-linux-amd64', 'publish-x-web']
 */
export function ciTasks(manifest: Manifest, opts: CiTaskOptions): CiTask[] {
  const { cache, push } = ciRegistries(opts);
  const ids = selectImages(manifest, opts.select ?? []);
  const names = taskNames(
    ids.flatMap((id) => [...platformsOf(manifest, id).map((p) => ['build', id, p] as const), ['publish', id, null] as const]),
  );
  const tasks: CiTask[] = [];
  for (const id of ids) {
    const m = manifest.images[id];
    const builder = manifest.builders[m.builder].kind;
    const builds: string[] = [];
    for (const p of platformsOf(manifest, id)) {
      const name = names.get(`build ${id} ${p}`)!;
      builds.push(name);
      tasks.push({
        name,
        kind: 'build',
        image: id,
        platform: p,
        key: (p && m.platforms?.[p]?.key) || m.key,
        builder,
        dependencies: m.dependsOn.map((d) => names.get(`build ${d} ${p}`)!),
        argv: buildArgv(id, p, { ...opts, cache }),
      });
    }
    tasks.push({
      name: names.get(`publish ${id} null`)!,
      kind: 'publish',
      image: id,
      platform: null,
      key: m.key,
      builder,
      dependencies: builds,
      argv: publishArgv(id, { ...opts, cache, push }),
    });
  }
  return tasks;
}

/**
 * The cache and push references, checked and without a scheme or trailing slash.
 * @example ciRegistries({ cache: 'https://r.example/ci/' }) // { cache: 'r.example/ci', push: undefined }
 */
export function ciRegistries(opts: Pick<CiTaskOptions, 'cache' | 'push'>): { readonly cache: string; readonly push: string | undefined } {
  const cache = registryRef(opts.cache);
  if (!cache) throw new UsageError(`--cache takes REGISTRY/PREFIX (host[:port][/path]), not "${opts.cache}"`);
  const push = opts.push === undefined ? undefined : registryRef(opts.push);
  if (push === null) throw new UsageError(`--push takes REGISTRY[/PREFIX] (host[:port][/path]), not "${opts.push}"`);
  return { cache, push };
}

/**
 * The node command of one build (after `imgsdk`); a generator that passes the image
 * and platform as parameters calls it with their placeholders.
 * @example buildArgv('x/web', 'linux/arm64', { cache: 'r.example/ci' }) // ['node', 'x/web', '--platform', 'linux/arm64', '--cache', 'r.example/ci']
 */
export function buildArgv(image: string, platform: string | null, opts: Pick<CiTaskOptions, 'cache' | 'app' | 'trustKeys'>): string[] {
  const trust = (opts.trustKeys ?? []).flatMap((k) => ['--trust-key', k]);
  return [
    'node',
    image,
    ...(platform !== null ? ['--platform', platform] : []),
    '--cache',
    opts.cache,
    ...(opts.app ? ['--app', opts.app] : []),
    ...trust,
  ];
}

/**
 * The node command of one publish (after `imgsdk`).
 * @example publishArgv('x/web', { cache: 'r.example/ci', push: 'r.example/team' }) // ['node', 'x/web', '--publish', '--cache', 'r.example/ci', '--push', 'r.example/team']
 */
export function publishArgv(image: string, opts: Pick<CiTaskOptions, 'cache' | 'app' | 'push'>): string[] {
  return [
    'node',
    image,
    '--publish',
    '--cache',
    opts.cache,
    ...(opts.push ? ['--push', opts.push] : []),
    ...(opts.app ? ['--app', opts.app] : []),
  ];
}

/**
 * Every platform the app's builders build for (sorted); a generator option that
 * names another one (a runner for it, the host's) is an error saying which the app has.
 * @example checkCiPlatform(manifest, 'arm64', '--runner') // 'linux/arm64'
 */
export function checkCiPlatform(manifest: Manifest, platform: string, option: string, hostPlatform = DEFAULT_PLATFORM): string {
  const p = knownPlatform(platform, option);
  const built = appPlatforms(manifest, hostPlatform);
  if (!built.includes(p))
    throw new UsageError(`${option}: no builder of the app builds for ${p} (the app's platforms: ${built.join(', ')})`);
  return p;
}

/**
 * A platform name imgsdk knows, canonical; otherwise an error naming the option.
 * @example knownPlatform('arm64', '--host-platform') // 'linux/arm64'
 */
export function knownPlatform(platform: string, option: string): string {
  const p = normalizePlatform(platform);
  if (!p) throw new UsageError(`${option}: unknown platform "${platform}" (known: ${[...PLATFORMS.keys()].join(', ')})`);
  return p;
}

/** The platforms the app's builders build for; a builder that names none builds for the host's (the runner's: `hostPlatform`). */
export function appPlatforms(manifest: Manifest, hostPlatform = DEFAULT_PLATFORM): string[] {
  const all = new Set<string>();
  for (const b of Object.values(manifest.builders)) for (const p of b.platforms ? Object.keys(b.platforms) : [hostPlatform]) all.add(p);
  return [...all].sort();
}

/** The builds of an image: one per platform it names, or one (null) for the runner's platform. */
function platformsOf(manifest: Manifest, id: string): (string | null)[] {
  const ps = manifest.images[id].platforms;
  return ps ? Object.keys(ps).sort() : [null];
}

/** The selected ids and everything they depend on, in build order; an id or glob that matches nothing is an error naming the app's images. */
function selectImages(manifest: Manifest, patterns: readonly string[]): string[] {
  const all = manifest.order.flat();
  if (!patterns.length) return all;
  const chosen = new Set<string>();
  for (const p of patterns) {
    const re = p.includes('*') || p.includes('?') ? globToRegExp(p) : null;
    const hits = all.filter((id) => (re ? re.test(id) : id === p));
    if (!hits.length) throw new UsageError(`no image matches "${p}" (the app's images: ${all.join(', ')})`);
    hits.forEach((h) => chosen.add(h));
  }
  const stack = [...chosen];
  while (stack.length) for (const d of manifest.images[stack.pop()!].dependsOn) if (!chosen.has(d)) (chosen.add(d), stack.push(d));
  return all.filter((id) => chosen.has(id));
}

/**
 * How many builds and publishes, for a file's header.
 * @example taskCount(tasks) // '4 builds and 2 publishes'
 */
export function taskCount(tasks: readonly CiTask[]): string {
  const n = (kind: CiTask['kind']) => tasks.filter((t) => t.kind === kind).length;
  const words = (k: number, one: string) => `${k} ${one}${k === 1 ? '' : one.endsWith('h') ? 'es' : 's'}`;
  return `${words(n('build'), 'build')} and ${words(n('publish'), 'publish')}`;
}

const MAX_NAME = 63;

/**
 * A name per task, valid for GitHub and Argo (see CiTask.name). Image ids and
 * platforms map to names by replacing `/`, `.` and `_` with `-`, which can make
 * two names equal (`a/b-c`, `a-b/c`) or one too long: those get a suffix hashed
 * from what they name, so names stay unique and the same for the same app.
 */
function taskNames(tasks: readonly (readonly ['build' | 'publish', string, string | null])[]): Map<string, string> {
  const plain = tasks.map(([kind, id, p]) => `${kind}-${id}${p ? `-${p}` : ''}`.replace(/[^a-z0-9]+/g, '-'));
  const count = new Map<string, number>();
  for (const n of plain) count.set(n, (count.get(n) ?? 0) + 1);
  const out = new Map<string, string>();
  tasks.forEach(([kind, id, p], i) => {
    const whole = `${kind} ${id} ${p}`;
    let name = plain[i];
    if (count.get(name)! > 1 || name.length > MAX_NAME) {
      const hash = createHash('sha256').update(whole).digest('hex').slice(0, 8);
      name = `${name.slice(0, MAX_NAME - hash.length - 1).replace(/-+$/, '')}-${hash}`;
    }
    out.set(whole, name);
  });
  return out;
}
