/**
 * Locking Gentoo images: per image, a container of its builder configured as
 * phase 1 configures it (portage-lock.sh: /etc/portage from the assembly,
 * overlays, accounts, package.provided of the ancestors' locked versions), then
 * `emerge --pretend --verbose` into the empty root. What emerge would merge, with
 * its USE flags and repository, is the image's entry; nothing is built.
 */
import { eachLine } from '../util/lines';
import { dirname, join } from 'node:path';
import { formatList, PARENT_PACKAGES, PORTAGE_LOCK } from '../contract/builder-files';
import { recordUses, usersDirOf } from '../runtime/store/users';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import type { BuilderDef, ImageDef } from '../contract/assembly';
import { stateDirOf } from '../contract/defaults';
import { BuildError } from '../contract/errors';
import type { GentooBuilderLock, LockedPackage } from '../sdk/lock';
import { parsePretend, pretendToLocked } from '../sdk/portage/lock';
import type { Assembly } from '../sdk/synth';
import { builderRef, ensureGentooBuilder, type GentooBuilder } from '../runtime/phase1/builders/gentoo';
import { SNAPSHOT_VOLUME_PREFIX } from '../runtime/phase1/builders/portage-snapshot';
import { stage3Ref } from '../runtime/phase1/builders/stage3';
import type { Engine } from '../runtime/engine/engine';
import { dirTar } from '../util/tar';
import { scriptsTar } from '../runtime/phase1/run';
import { LABEL_LOCK, LABEL_STAGE3_DATE, LABEL_STAGE3_SHA512 } from '../contract/labels';

/** Options of {@link resolveGentoo}. */
export interface GentooLockOptions {
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
  /** Downloads of the builders (stage3, snapshots). @default `<IMGSDK_STATE_DIR or .imgsdk>/downloads` */
  readonly cacheDir?: string;
}

/** Fresh entries of Gentoo images and of their builders. */
export interface GentooResolution {
  /** Per image, the packages of its layer (what emerge would merge on top of its ancestors). */
  readonly images: ReadonlyMap<string, LockedPackage[]>;
  readonly builders: ReadonlyMap<string, GentooBuilderLock>;
}

/**
 * Resolves the Gentoo images `targets` (in build order, each with packages) one
 * container each. `pinsOf` gives the locked packages of an image that is not
 * resolved in this run (ancestors keeping their entries): they go into
 * package.provided, as phase 1 gives a child its ancestors' packages.
 */
export async function resolveGentoo(
  engine: Engine,
  asm: Assembly,
  targets: readonly string[],
  pinsOf: (id: string) => readonly LockedPackage[],
  opts: GentooLockOptions = {},
): Promise<GentooResolution> {
  const log = opts.log ?? (() => undefined);
  const ready = new Map<string, GentooBuilder>();
  const own = new Map<string, LockedPackage[]>();
  const builders = new Map<string, GentooBuilderLock>();
  const pins = (id: string): readonly LockedPackage[] => {
    const mine = own.get(id);
    if (!mine) return pinsOf(id);
    const p = asm.images.get(id)!.parent;
    return [...(p ? pins(p) : []), ...mine];
  };
  for (const id of targets) {
    const def = asm.images.get(id)!;
    const bdef = asm.builders.get(def.builder)!;
    let b = ready.get(bdef.id);
    if (!b) {
      const key = asm.manifest.builders[bdef.id].key;
      const cacheDir = opts.cacheDir ?? join(stateDirOf(), 'downloads');
      b = await ensureGentooBuilder(engine, bdef, key, { log, signal: opts.signal, cacheDir });
      // The lock uses the builder and its volumes as a deploy does: clean of another app must keep them.
      await recordUses(usersDirOf(), dirname(cacheDir), { builders: [bdef.id], volumes: b.mounts.map((m) => m.volume) });
      ready.set(bdef.id, b);
      builders.set(bdef.id, await gentooBuilderEntry(engine, bdef, key, b));
    }
    const inherited = def.parent ? pins(def.parent) : [];
    const text = await pretend(engine, asm, def, bdef, b, inherited, opts);
    let pkgs;
    try {
      pkgs = parsePretend(text);
    } catch (e) {
      throw new BuildError(id, `${(e as Error).message}`, { phase: 'lock' });
    }
    own.set(id, pretendToLocked(pkgs, bdef.arch));
    log(`lock: ${id}: ${pkgs.length} packages`);
  }
  return { images: own, builders };
}

/** Lines of parent-packages.list: the ancestors' locked packages as cat/pkg-version. */
export function parentLines(pins: readonly LockedPackage[]): string {
  return formatList(PARENT_PACKAGES, [...new Set(pins.filter((p) => p.use !== undefined).map((p) => `${p.name}-${p.version}`))].sort());
}

/** Runs portage-lock.sh for one image; emerge's report. */
async function pretend(
  engine: Engine,
  asm: Assembly,
  def: ImageDef,
  bdef: BuilderDef,
  b: GentooBuilder,
  inherited: readonly LockedPackage[],
  opts: GentooLockOptions,
): Promise<string> {
  const log = opts.log ?? (() => undefined);
  const prefix = `${asm.manifest.images[def.id].dir}/`;
  const files: Record<string, string | Buffer> = { [PARENT_PACKAGES.path]: parentLines(inherited) };
  for (const [path, content] of asm.files) {
    // The lock being made replaces the one the assembly installs.
    if (path.startsWith(prefix) && path !== `${prefix}${PORTAGE_LOCK.path}`) files[path.slice(prefix.length)] = content;
  }
  log(`lock: resolving ${def.id} in ${bdef.id} (emerge --pretend)`);
  return engine.withContainer(
    {
      image: b.ref,
      cmd: ['/bin/sh', '/imgsdk/scripts/portage-lock.sh', '/imgsdk/in'],
      mounts: b.mounts,
      labels: { [LABEL_LOCK]: bdef.id },
      signal: opts.signal,
    },
    async (c) => {
      await c.putArchive('/imgsdk/in', await dirTar(null, files));
      await c.putArchive('/imgsdk/scripts', await scriptsTar());
      const code = await c.run({
        onOutput: eachLine((l) => log(`lock: ${l}`)),
      });
      if (code !== 0)
        throw new BuildError(def.id, `resolving packages with emerge --pretend failed (exit ${code}):\n${c.tail()}`, { phase: 'lock' });
      const tar = await c.getArchive('/imgsdk/out/pretend.txt');
      return (await readOne(tar)).toString('utf8');
    },
  );
}

/** What a Gentoo builder was made from: flavour, stage3 date and digest, the Portage setting and the snapshot used. */
export async function gentooBuilderEntry(
  engine: Engine | undefined,
  def: BuilderDef,
  key: string,
  b?: GentooBuilder,
): Promise<GentooBuilderLock> {
  const g = def.gentoo!;
  let date = g.date;
  let sha512: string | null = null;
  if (engine) {
    const built = await engine.inspectImage(builderRef(def, key)).catch(() => null);
    if (date === 'latest') date = built?.labels[LABEL_STAGE3_DATE] ?? date;
    if (date !== 'latest')
      sha512 = (await engine.inspectImage(stage3Ref(g.stage3, date)).catch(() => null))?.labels[LABEL_STAGE3_SHA512] ?? null;
  }
  const volume = b?.mounts.find((m) => m.volume.startsWith(SNAPSHOT_VOLUME_PREFIX))?.volume;
  return {
    kind: 'gentoo',
    arch: def.arch,
    stage3: g.stage3,
    date,
    sha512,
    portage: g.portage,
    ...(volume ? { snapshot: volume.slice(SNAPSHOT_VOLUME_PREFIX.length) } : {}),
  };
}

async function readOne(tar: Readable): Promise<Buffer> {
  const ex = extract();
  let data = Buffer.alloc(0);
  ex.on('entry', (_h, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (d: unknown) => void chunks.push(d as Buffer));
    stream.on('end', () => {
      data = Buffer.concat(chunks);
      next();
    });
  });
  await pipeline(tar, ex);
  return data;
}
