/**
 * Debian builders: the image phase 1 of a Debian image runs in. Obtained by
 * bootstrapping with mmdebstrap on the host, importing a rootfs tarball, or
 * pulling an image, and always stored as a one-layer import tagged
 * `imgsdk-builder/<id>:<key12>` and labelled with its full key, so an existing
 * builder is reused exactly when its key matches.
 */
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type * as Zx from 'zx' with { 'resolution-mode': 'import' };
import type { BuilderDef } from '../../../contract/assembly';
import { BuildError, CancelledError } from '../../../contract/errors';
import type { Engine } from '../../engine/engine';
import { privateMemoryTmpdir } from './tmpdirs';
import { hashFile } from '../../../util/hash';
import { builderKey } from '../../../contract/key';
import { debianSources } from '../../../contract/apt';
import { hostPlatform, platformInfo } from '../../../contract/platform';
import { loadForeignRootfs } from './foreign';
import { fromImageId, staleFrom } from './from-image';
import { forPlatform } from '../../../contract/platform';
import { shortKey, splitRepoTag } from '../../../contract/names';
import { LABEL_BUILDER, LABEL_BUILDER_FROM, LABEL_KEY, LABEL_OWNED } from '../../../contract/labels';

/** `ensureDebianBuilder` options. */
export interface EnsureBuilderOptions {
  /** Progress lines (mmdebstrap's stderr, pull events, decisions). @default ignored */
  readonly log?: (line: string) => void;
  /** Rebuild even when a builder with this key exists. @default false */
  readonly force?: boolean;
  /**
   * The platform `def` is the builder of (`linux/arm64`), for a builder that names
   * platforms: bootstrapped with `mmdebstrap --arch`. @default the host's
   */
  readonly platform?: string;
  readonly signal?: AbortSignal;
}

/** What mmdebstrap bootstraps. */
export interface MmdebstrapSpec {
  readonly suite: string;
  readonly mirror: string;
  /** `minbase`, `apt`, `essential`, … */
  readonly variant: string;
  readonly include: readonly string[];
  /** Full source lines (`deb URI suite main`) instead of `mirror`. @default [mirror] */
  readonly sources?: readonly string[];
  /** apt.conf lines (`Acquire::Check-Valid-Until "false";`). @default [] */
  readonly aptopts?: readonly string[];
  /**
   * The platform to bootstrap for (`linux/arm64`): `mmdebstrap --arch` of it (its
   * maintainer scripts run emulated), and the imported image says that platform.
   * @default the host's (no --arch)
   */
  readonly platform?: string;
}

// zx 8 ships CommonJS (build/index.cjs) but declares only ESM types, which a
// node16 CommonJS module may not import as values; the types come in type-only.
// eslint-disable-next-line @typescript-eslint/no-require-imports
// Loaded when first needed: zx costs ~150 ms at start-up, which a cached deploy never needs.
const zx = (): typeof Zx => require('zx') as typeof Zx;

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The builder keeps the package lists of its bootstrap: phase 1 and lock still run
 * `apt-get update`, which then fetches only what changed since (InRelease files,
 * pdiffs) instead of every Packages file, for each image.
 */
const KEEP_LISTS = '--skip=cleanup/apt/lists';

/**
 * ...and apt's cache of those lists (`srcpkgcache.bin`), made in the builder's own
 * root so its paths are the container's: every apt call of a phase-1 or lock
 * container would otherwise parse the 50 MB of lists into it first (1–5 s each).
 * mmdebstrap's `apt-get clean` is skipped for it, so the hook cleans the .debs
 * itself. `pkgcache.bin` (the lists plus dpkg's status, which every install changes)
 * is left out: apt makes it from the kept one in a fraction of the time, and the
 * builder stays 37 MB smaller. Not for an emulated platform: apt would run under
 * qemu, and the host's apt would write the host's paths.
 */
/**
 * dpkg without an fsync after every file it unpacks (most of a bootstrap's time on a
 * busy disk): the result is a tar streamed into the engine, not a system that must
 * survive a power cut mid-install. The option file mmdebstrap writes for it is
 * removed again, so the builder's own dpkg is as Debian ships it.
 */
const UNSAFE_IO = ['--dpkgopt=force-unsafe-io', '--customize-hook=rm -f "$1/etc/dpkg/dpkg.cfg.d/99mmdebstrap"'];

function keepAptCache(foreign: boolean): string[] {
  if (foreign) return [];
  return [
    '--skip=cleanup/apt/cache',
    '--customize-hook=chroot "$1" apt-get clean',
    // The cache records each list's mtime, and mmdebstrap's tar clamps every mtime
    // after its start (the download's) to that start: older already, they stay as the
    // cache has them. (apt compares the lists' hashes, not their times, on update.)
    '--customize-hook=find "$1/var/lib/apt/lists" -maxdepth 1 -type f -exec touch -d @0 {} +',
    '--customize-hook=chroot "$1" apt-cache gencaches',
    '--customize-hook=rm -f "$1/var/cache/apt/pkgcache.bin"',
  ];
}

/**
 * The `repo:tag` of a builder image: `imgsdk-builder/<id, / replaced by ->:<key first 12 hex>`.
 * @example builderRef({ id: 'acme/bookworm', … }, 'ab12…') // 'imgsdk-builder/acme-bookworm:ab12…'
 */
export function builderRef(def: Pick<BuilderDef, 'id'>, key: string): string {
  return `imgsdk-builder/${def.id.replace(/\//g, '-').toLowerCase()}:${shortKey(key)}`;
}

/**
 * The key of a Debian builder's image: its definition without what only phase 1
 * and lock read (extra sources, network), so adding a repository to a builder
 * does not bootstrap it again. Images still see those in the builder's full key.
 * @example bootstrapKey(bookworm.def) // 'ab12…'
 */
export function bootstrapKey(def: BuilderDef): string {
  if (!def.debian) return builderKey(def);
  return builderKey({ ...def, debian: { ...def.debian, sources: [], network: null } });
}

/**
 * Makes sure the builder image of `def` exists in the engine and returns its
 * reference; it is keyed by {@link bootstrapKey}. An image with that tag and key
 * label is reused without doing anything. The tag only ever names a complete
 * import: a failed bootstrap, a bad checksum or an abort leaves nothing tagged.
 */
export async function ensureDebianBuilder(engine: Engine, def: BuilderDef, opts: EnsureBuilderOptions = {}): Promise<string> {
  return (await ensureDebianBuilderImage(engine, def, opts)).ref;
}

/** {@link ensureDebianBuilder}, with the builder image's key (its .deb cache is named after it). */
export async function ensureDebianBuilderImage(
  engine: Engine,
  def: BuilderDef,
  opts: EnsureBuilderOptions = {},
): Promise<{ ref: string; key: string }> {
  if (def.platforms) {
    // A builder naming platforms (as lock and shell see it) means one of them: the host's when it has it.
    const platform = opts.platform ?? (def.platforms.includes(hostPlatform()) ? hostPlatform() : def.platforms[0]);
    const variant = forPlatform(def, platform);
    if (typeof variant === 'string') throw new BuildError(def.id, variant, { phase: 'builder' });
    return ensureDebianBuilderImage(engine, variant, { ...opts, platform });
  }
  const deb = def.debian;
  if (def.kind !== 'debian' || !deb) throw new BuildError(def.id, 'not a Debian builder', { phase: 'builder' });
  const key = bootstrapKey(def);
  const ref = builderRef(def, key);
  const log = opts.log ?? (() => undefined);
  const existing = await engine.inspectImage(ref);
  const src = deb.source;
  const run = { log, signal: opts.signal };
  // A `from` image behind a tag: the builder follows it (from-image.ts).
  const fromId =
    src.kind === 'pull'
      ? await fromImageId(engine, def.id, src.image, {
          log,
          pull: (image) =>
            guarded(
              def.id,
              opts.signal,
              engine.pullImage(image, (e) => e.status && log(`pull: ${[e.id, e.status, e.progress].filter(Boolean).join(' ')}`)),
            ),
        })
      : null;
  const stale = existing && existing.labels[LABEL_KEY] === key ? staleFrom(existing, src.kind === 'pull' ? src.image : null, fromId) : null;
  if (stale) log(`builder ${def.id}: ${stale}: setting it up again`);
  if (existing && existing.labels[LABEL_KEY] === key && !stale && !opts.force) {
    log(`builder ${def.id}: ${ref} is up to date`);
    return { ref, key };
  }
  // The id is a name: an identical definition under another id (a library's
  // builder) was bootstrapped already, and its image is this one under a second tag.
  // A twin set up from another image than the `from` tag names now does not follow it (from-image.ts).
  const twin = opts.force ? null : await sameBuilder(engine, key, fromId);
  if (twin) {
    const { repo, tag } = splitRepoTag(ref);
    await engine.tagImage(twin.id, repo, tag);
    log(`builder ${def.id}: ${ref} is ${twin.repoTags[0] ?? twin.id} (the same definition), tagged`);
    return { ref, key };
  }
  const changes = [
    `ENV PATH=${PATH}`,
    'CMD ["/bin/sh"]',
    `LABEL ${LABEL_OWNED}="1" ${LABEL_BUILDER}=${JSON.stringify(def.id)} ${LABEL_KEY}=${JSON.stringify(key)}${fromId ? ` ${LABEL_BUILDER_FROM}=${JSON.stringify(fromId)}` : ''}`,
  ];
  switch (src.kind) {
    case 'mmdebstrap':
      log(`builder ${def.id}: bootstrapping ${deb.suite} (${src.variant}) with mmdebstrap from ${deb.mirror}`);
      await importMmdebstrap(
        engine,
        {
          suite: deb.suite,
          mirror: deb.mirror,
          variant: src.variant,
          include: src.include,
          // The builder is patched like its images: the suite, -updates and -security.
          sources: debianSources({ ...deb, sources: [] }),
          aptopts: deb.snapshot ? ['Acquire::Check-Valid-Until "false";'] : [],
          platform: opts.platform,
        },
        ref,
        changes,
        run,
      );
      break;
    case 'rootfs':
      log(`builder ${def.id}: importing ${src.path}`);
      await verifySha256(def.id, src.path, src.sha256);
      await guarded(def.id, opts.signal, engine.importImage(abortable(createReadStream(src.path), opts.signal), ref, { changes }));
      break;
    case 'pull':
      // By id: the tag may move while the builder is set up.
      await importPulled(engine, def.id, fromId!, ref, changes, run);
      break;
  }
  // A rebuild moved the tag; drop the image it left dangling (best effort).
  const now = await engine.inspectImage(ref);
  if (existing && existing.id !== now?.id) await engine.removeImage(existing.id).catch(() => false);
  log(`builder ${def.id}: ${ref} ready`);
  return { ref, key };
}

/** A builder image in the engine whose key is `key`, under whatever id it was made. */
async function sameBuilder(
  engine: Engine,
  key: string,
  fromId: string | null,
): Promise<{ id: string; repoTags: readonly string[] } | null> {
  const found = await engine.listImages({ label: `${LABEL_KEY}=${key}` });
  // An image made from a builder (a committed container, a Dockerfile's FROM) inherits its
  // labels, packages and all: only an image tagged as a builder of this key is a twin.
  const tagged = new RegExp(`(^|/)imgsdk-builder/[^:/]+:${shortKey(key)}$`);
  return (
    found.find(
      (i) =>
        i.labels[LABEL_KEY] === key &&
        i.labels[LABEL_OWNED] === '1' &&
        (!fromId || i.labels[LABEL_BUILDER_FROM] === fromId) &&
        i.repoTags.some((t) => tagged.test(t)),
    ) ?? null
  );
}

/**
 * Runs mmdebstrap on the host and streams its tar output straight into
 * `engine.importImage` (no temp file). The stream only ends cleanly when
 * mmdebstrap exited 0; otherwise the import request is aborted, so a failed
 * bootstrap never becomes an image. Returns the image id.
 */
export async function importMmdebstrap(
  engine: Engine,
  spec: MmdebstrapSpec,
  repoTag: string,
  changes: readonly string[],
  opts: { readonly log?: (line: string) => void; readonly signal?: AbortSignal } = {},
): Promise<string> {
  const who = `builder ${repoTag}`;
  if (!(await zx().which('mmdebstrap', { nothrow: true }))) {
    throw new BuildError(
      repoTag,
      'mmdebstrap is not installed on this host: `apt-get install mmdebstrap`, or use a rootfs or pull source',
      {
        phase: 'builder',
      },
    );
  }
  if (opts.signal?.aborted) throw new CancelledError(`cancelled: ${who}`);
  const include = spec.include.length ? [`--include=${spec.include.join(',')}`] : [];
  const aptopts = (spec.aptopts ?? []).map((o) => `--aptopt=${o}`);
  const sources = spec.sources ?? [spec.mirror];
  const foreign = spec.platform && spec.platform !== hostPlatform() ? platformInfo(spec.platform) : null;
  const arch = foreign ? [`--arch=${foreign.debianArch}`] : [];
  const merged = mergedUsrHook(opts.log);
  // zx keeps all output in memory by default; a rootfs tar must not be.
  const discard = {
    length: 0,
    push: () => 0,
    join: () => '',
    reduce: <U>(_f: unknown, init: U) => init,
    [Symbol.iterator]: () => [][Symbol.iterator](),
  };
  const stderr: string[] = [];
  // mmdebstrap's temp files (gpghome, chroot) in a directory of this run, in memory
  // when the host has room (tmpdirs.ts): removed after it, and swept by the next run
  // when this process dies with SIGKILL.
  const tmp = await privateMemoryTmpdir('mmdebstrap');
  try {
    return await runMmdebstrap();
  } finally {
    await tmp.remove();
  }

  async function runMmdebstrap(): Promise<string> {
    const proc = zx().$({
      quiet: true,
      nothrow: true,
      halt: true,
      signal: opts.signal,
      env: { ...process.env, TMPDIR: tmp.dir },
      store: { stdout: discard, stderr, stdall: discard },
    })`mmdebstrap --variant=${spec.variant} ${arch} ${merged} ${include} ${aptopts} ${UNSAFE_IO} ${KEEP_LISTS} ${keepAptCache(!!foreign)} ${spec.suite} - ${sources}`;
    proc.run();
    const body = new PassThrough();
    proc.stdout.pipe(body, { end: false });
    lines(proc.stderr, (l) => opts.log?.(`mmdebstrap: ${l}`));
    const exited = proc.then((out) => {
      if (out.exitCode === 0) body.end();
      else body.destroy(new BuildError(repoTag, `mmdebstrap exited ${out.exitCode ?? out.signal}`, { phase: 'builder' }));
      return out;
    });
    // Another platform's rootfs is loaded with a config naming it (engines before Docker 23 ignore import's platform).
    const imported = foreign
      ? loadForeignRootfs(engine, body, repoTag, changes, foreign.name)
      : engine.importImage(body, repoTag, { changes });
    // An engine that gave up stops reading: mmdebstrap would block on a full pipe.
    imported.catch(() => {
      body.destroy();
      try {
        proc.kill().catch(() => undefined);
      } catch {
        // Already exited: zx refuses to kill a settled process, synchronously.
      }
    });
    const [p, i] = await Promise.allSettled([exited, imported]);
    if (opts.signal?.aborted) throw new CancelledError(`cancelled: ${who}`);
    if (p.status === 'fulfilled' && p.value.exitCode !== 0) {
      const tail = stderr.join('').trim().split('\n').slice(-15).join('\n');
      throw new BuildError(
        repoTag,
        `mmdebstrap --variant=${spec.variant} ${arch.join('')}${arch.length ? ' ' : ''}${spec.suite} ${spec.mirror} failed (exit ${p.value.exitCode}):\n${tail}`,
        {
          phase: 'builder',
        },
      );
    }
    if (i.status === 'rejected') throw i.reason;
    if (p.status === 'rejected') throw p.reason;
    return i.value;
  }
}

/**
 * The official Debian images (debootstrap) are merged-/usr with `usr-is-merged`
 * installed; mmdebstrap alone converts with `usrmerge`, which then satisfies
 * init-system-helpers' `usrmerge | usr-is-merged` in every closure that reaches it
 * and drags `libfile-find-rule-perl` and all of Perl into images that never run
 * Perl (lighttpd: 66 MB, 50 MB of it Perl). mmdebstrap's own `maybe-merged-usr` hook
 * lays the root out as debootstrap does where the suite has `usr-is-merged`
 * (bookworm and later) and does nothing on older suites.
 */
export const MERGED_USR_HOOK = '/usr/share/mmdebstrap/hooks/maybe-merged-usr';

function mergedUsrHook(log?: (line: string) => void): string[] {
  if (existsSync(join(MERGED_USR_HOOK, 'setup00.sh'))) return [`--hook-dir=${MERGED_USR_HOOK}`];
  log?.(`mmdebstrap has no ${MERGED_USR_HOOK}: the builder gets usrmerge, and images whose packages reach init-system-helpers get Perl`);
  return [];
}

async function verifySha256(id: string, path: string, want: string): Promise<void> {
  let got: string;
  try {
    got = await hashFile(path);
  } catch (err) {
    throw new BuildError(id, `cannot read rootfs tarball ${path}: ${(err as Error).message}`, { cause: err, phase: 'builder' });
  }
  if (got !== want.toLowerCase()) {
    throw new BuildError(id, `rootfs tarball ${path} has sha256 ${got}, expected ${want}; refusing to import it`, {
      phase: 'builder',
    });
  }
}

/**
 * A pulled image gets our labels by being flattened into a one-layer import of
 * its filesystem (labels cannot be added by tagging). Like `docker run`, a
 * reference already present locally is used without pulling.
 */
async function importPulled(
  engine: Engine,
  id: string,
  image: string,
  ref: string,
  changes: readonly string[],
  run: { log: (line: string) => void; signal?: AbortSignal },
): Promise<void> {
  if (!(await engine.imageExists(image))) {
    run.log(`builder ${id}: pulling ${image}`);
    await guarded(
      id,
      run.signal,
      engine.pullImage(image, (e) => e.status && run.log(`pull: ${[e.id, e.status, e.progress].filter(Boolean).join(' ')}`)),
    );
  }
  run.log(`builder ${id}: importing the filesystem of ${image}`);
  await engine.withContainer({ image, cmd: ['/bin/true'], signal: run.signal }, async (c) => {
    await engine.importImage(abortable(await c.exportFilesystem(), run.signal), ref, { changes });
  });
}

/** Destroys `stream` on abort, which aborts the import request reading it: nothing gets tagged. */
function abortable<S extends Readable>(stream: S, signal: AbortSignal | undefined): S {
  if (!signal) return stream;
  const onAbort = () => stream.destroy(new CancelledError());
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  stream.once('close', () => signal.removeEventListener('abort', onAbort));
  return stream;
}

/** Rejects with a CancelledError as soon as `signal` aborts. */
async function guarded<T>(id: string, signal: AbortSignal | undefined, work: Promise<T>): Promise<T> {
  if (!signal) return work;
  work.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError(`cancelled: builder ${id}`));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function lines(stream: Readable, fn: (line: string) => void): void {
  let partial = '';
  stream.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    for (const l of parts) if (l.trim()) fn(l);
  });
  stream.on('end', () => partial.trim() && fn(partial));
}
