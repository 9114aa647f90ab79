/**
 * The Portage tree builders read: a named volume holding /var/db/repos/gentoo,
 * filled once from a `gentoo/portage` image or from a verified snapshot tarball
 * of a mirror, then mounted read-only into every builder container. A volume
 * counts as filled only when it holds the marker written after a complete fill,
 * so an interrupted fill is redone, never used.
 */
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuilderDef } from '../../../contract/assembly';
import { AssemblyError, BuildError, CancelledError, EngineError, FetchError } from '../../../contract/errors';
import { hashFile } from '../../../util/hash';
import { fileTar } from '../../../util/tar';
import type { ContainerHandle, Engine, VolumeMount } from '../../engine/engine';
import { download, fetchText, gpgVerifyDetached } from './stage3';
import { shortKey } from '../../../contract/names';

/** Where the tree is mounted in builders. */
export const PORTAGE_TREE = '/var/db/repos/gentoo';
/** File in the volume written last by a fill; holds the snapshot's identity. */
export const SNAPSHOT_MARKER = '.imgsdk-snapshot';

/** How a builder's `portage` option is read. */
export type SnapshotSource =
  { readonly kind: 'image'; readonly image: string } | { readonly kind: 'tarball'; readonly date: string; readonly url: string };

/**
 * `latest` and dates name a mirror's `snapshots/portage-<date>.tar.xz` (`latest`
 * is fetched at most once per UTC day, as Kubler does); anything with `/` or `:`
 * is an image holding /var/db/repos/gentoo (`gentoo/portage:latest`).
 * @example snapshotSource('latest', 'https://distfiles.gentoo.org', new Date('2024-05-01')).kind // 'tarball'
 */
export function snapshotSource(portage: string, mirror: string, now = new Date()): SnapshotSource {
  if (/[/:]/.test(portage)) return { kind: 'image', image: portage };
  const base = `${mirror.replace(/\/+$/, '')}/snapshots`;
  if (portage === 'latest') {
    return { kind: 'tarball', date: now.toISOString().slice(0, 10).replace(/-/g, ''), url: `${base}/portage-latest.tar.xz` };
  }
  if (!/^\d{8}$/.test(portage)) throw new AssemblyError(`portage snapshot "${portage}" is neither latest, a date YYYYMMDD nor an image`);
  return { kind: 'tarball', date: portage, url: `${base}/portage-${portage}.tar.xz` };
}

/** Prefixes of the volumes Gentoo builders keep across builds (snapshots, binary packages). */
export const SNAPSHOT_VOLUME_PREFIX = 'imgsdk-portage-';
export const BINPKG_VOLUME_PREFIX = 'imgsdk-binpkgs-';
/** The distfiles volume every Gentoo builder shares. */
export const DISTFILES_VOLUME = 'imgsdk-distfiles';

/** Name of the volume of a snapshot. */
export function snapshotVolume(identity: string): string {
  return `${SNAPSHOT_VOLUME_PREFIX}${identity.replace(/[^a-zA-Z0-9_.-]+/g, '-').slice(0, 64)}`;
}

export interface SnapshotOptions {
  /** Image with a POSIX shell and GNU tar (the stage3) that runs the fill. */
  readonly runner: string;
  readonly mirror: string;
  /** Armored key or key file; when set the snapshot's `.gpgsig` must verify. */
  readonly gpgKey: string | null;
  readonly cacheDir: string;
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
  /** For date-relative `latest`. @default new Date() */
  readonly now?: Date;
}

/**
 * Makes sure the snapshot volume of `portage` exists and is filled; its name.
 * @example const vol = await ensurePortageSnapshot(engine, 'gentoo/portage:latest', { runner: stage3, … });
 */
export async function ensurePortageSnapshot(engine: Engine, id: string, portage: string, opts: SnapshotOptions): Promise<string> {
  const log = opts.log ?? (() => undefined);
  try {
    const src = snapshotSource(portage, opts.mirror, opts.now);
    if (src.kind === 'image') {
      if (!(await engine.imageExists(src.image))) {
        log(`portage: pulling ${src.image}`);
        await engine.pullImage(src.image);
      }
      const info = (await engine.inspectImage(src.image))!;
      const identity = shortKey(info.id.replace(/^sha256:/, ''));
      const volume = snapshotVolume(identity);
      if (await isFilled(engine, opts.runner, volume, identity, opts.signal)) return volume;
      log(`portage: filling volume ${volume} from ${src.image}`);
      await engine.withContainer({ image: src.image, cmd: ['/bin/true'], signal: opts.signal }, async (from) => {
        const tree = await from.getArchive(PORTAGE_TREE);
        // The archive's top entry is "gentoo/": extracted into the mount's parent.
        await fill(engine, opts.runner, volume, identity, opts.signal, (c) => c.putArchive('/var/db/repos', tree), 'true');
      });
      return volume;
    }
    const volume = snapshotVolume(src.date);
    if (await isFilled(engine, opts.runner, volume, src.date, opts.signal)) return volume;
    const file = await fetchSnapshot(src, opts);
    log(`portage: filling volume ${volume} from ${file}`);
    await fill(
      engine,
      opts.runner,
      volume,
      src.date,
      opts.signal,
      async (c) => c.putArchive('/imgsdk/snapshot', await fileTar('portage.tar', file)),
      `tar -xf /imgsdk/snapshot/portage.tar -C ${PORTAGE_TREE} --strip-components=1 --no-same-owner`,
    );
    return volume;
  } catch (err) {
    if (err instanceof CancelledError || err instanceof BuildError) throw err;
    throw new BuildError(id, `portage snapshot ${portage}: ${(err as Error).message}`, { cause: err, phase: 'builder' });
  }
}

/** Downloads and checks a snapshot tarball: its `.md5sum` always, its `.gpgsig` when a key is configured. */
async function fetchSnapshot(src: Extract<SnapshotSource, { kind: 'tarball' }>, opts: SnapshotOptions): Promise<string> {
  const dir = join(opts.cacheDir, 'portage');
  await mkdir(dir, { recursive: true });
  const path = join(dir, `portage-${src.date}.tar.xz`);
  const md5Text = await fetchText(`${src.url}.md5sum`, opts.signal);
  if (md5Text === null) throw new FetchError('INTEGRITY', `${src.url}.md5sum: not found; refusing a snapshot that cannot be checked`);
  const want = /^([0-9a-f]{32})\b/m.exec(md5Text)?.[1];
  if (!want) throw new FetchError('INTEGRITY', `${src.url}.md5sum holds no MD5 sum`, { url: `${src.url}.md5sum` });
  const have = (await stat(path).catch(() => null)) ? await hashFile(path, 'md5') : null;
  if (have !== want) {
    opts.log?.(`portage: downloading ${src.url}`);
    await download(src.url, path, opts.signal);
    const got = await hashFile(path, 'md5');
    if (got !== want) {
      await rm(path, { force: true });
      throw new FetchError('INTEGRITY', `${src.url}: MD5 ${got} does not match its .md5sum (${want}); the download was removed`);
    }
  }
  if (opts.gpgKey !== null) {
    const sig = await fetchText(`${src.url}.gpgsig`, opts.signal);
    if (sig === null)
      throw new FetchError('INTEGRITY', `a gpgKey is configured but ${src.url}.gpgsig does not exist`, { url: `${src.url}.gpgsig` });
    await writeFile(`${path}.gpgsig`, sig);
    await gpgVerifyDetached(opts.gpgKey, `${path}.gpgsig`, path);
  }
  return path;
}

/** True when `volume` holds the marker of `identity`. */
async function isFilled(engine: Engine, runner: string, volume: string, identity: string, signal?: AbortSignal): Promise<boolean> {
  const r = await engine.runContainer({
    image: runner,
    cmd: ['/bin/sh', '-c', `[ "$(cat ${PORTAGE_TREE}/${SNAPSHOT_MARKER} 2>/dev/null)" = "$1" ]`, 'sh', identity],
    mounts: [{ volume, target: PORTAGE_TREE, readOnly: true }],
    network: 'none',
    signal,
  });
  return r.exitCode === 0;
}

/**
 * Empties the volume, lets `put` place the tree (or a tarball) in a container that
 * has it mounted, runs `extract` there, and writes the marker last.
 */
async function fill(
  engine: Engine,
  runner: string,
  volume: string,
  identity: string,
  signal: AbortSignal | undefined,
  put: (c: ContainerHandle) => Promise<void>,
  extract: string,
): Promise<void> {
  // Emptied in its own run first: a new tree must not merge with a previous, partial one.
  const clear = await engine.runContainer({
    image: runner,
    cmd: ['/bin/sh', '-c', `find ${PORTAGE_TREE} -mindepth 1 -maxdepth 1 -exec rm -rf {} +`],
    mounts: [{ volume, target: PORTAGE_TREE }],
    network: 'none',
    signal,
  });
  if (clear.exitCode !== 0) throw new EngineError(`cannot empty volume ${volume}:\n${clear.tail}`);
  const script = `set -e; ${extract}; rm -rf /imgsdk/snapshot; printf '%s' "$1" > ${PORTAGE_TREE}/${SNAPSHOT_MARKER}`;
  const r = await engine.withContainer(
    { image: runner, cmd: ['/bin/sh', '-c', script, 'sh', identity], mounts: [{ volume, target: PORTAGE_TREE }], network: 'none', signal },
    async (c) => {
      await put(c);
      return { code: await c.run(), tail: c.tail() };
    },
  );
  if (r.code !== 0) throw new EngineError(`filling volume ${volume} failed:\n${r.tail}`);
}

/**
 * The volumes the containers of Gentoo builder `def` would mount now, without
 * making any: its snapshot volume (today's for `latest`; for an image, that of
 * the image the engine has, none when it has none), the distfiles volume and its
 * binary-package volume. What `imgsdk clean --prune-volumes` keeps.
 * @example await currentBuilderVolumes(engine, bob.def) // ['imgsdk-portage-20240501', 'imgsdk-distfiles', 'imgsdk-binpkgs-kubler-bob']
 */
export async function currentBuilderVolumes(engine: Engine, def: BuilderDef, now = new Date()): Promise<string[]> {
  const g = def.gentoo;
  if (def.kind !== 'gentoo' || !g) return [];
  const src = snapshotSource(g.portage, g.mirror, now);
  let snapshot: string | null = src.kind === 'tarball' ? snapshotVolume(src.date) : null;
  if (src.kind === 'image') {
    const info = await engine.inspectImage(src.image);
    if (info) snapshot = snapshotVolume(shortKey(info.id.replace(/^sha256:/, '')));
  }
  return builderMounts(snapshot ?? '', def.id)
    .map((m) => m.volume)
    .filter(Boolean);
}

/** The named volumes phase 1 mounts into a Gentoo builder container. */
export function builderMounts(snapshot: string, builderId: string): VolumeMount[] {
  return [
    { volume: snapshot, target: PORTAGE_TREE, readOnly: true },
    { volume: DISTFILES_VOLUME, target: '/var/cache/distfiles' },
    { volume: `${BINPKG_VOLUME_PREFIX}${builderId.replace(/[^a-zA-Z0-9_.-]+/g, '-')}`, target: '/var/cache/binpkgs' },
  ];
}
