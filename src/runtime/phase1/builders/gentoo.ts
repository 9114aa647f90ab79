/**
 * Gentoo builders: a stage3 (downloaded, verified and imported, or pulled), set up
 * once as Kubler's "core" image is -- make.conf with the builder's knobs, the
 * sandboxes off, binary packages on, the profile selected -- and stored as a
 * one-layer import tagged `imgsdk-builder/<id>:<key12>`. Phase 1 runs it with the
 * Portage snapshot volume (read-only) and the distfiles and binpkg volumes.
 */
import { eachLine } from '../../../util/lines';
import { hostPlatform, normalizePlatform } from '../../../contract/platform';
import { loadForeignRootfs } from './foreign';
import { tarOf } from '../../../util/tar';
import { join } from 'node:path';
import type { BuilderDef } from '../../../contract/assembly';
import { BuildError } from '../../../contract/errors';
import { stateDirOf } from '../../../contract/defaults';
import { quoteMakeConfValue } from '../../../contract/makeconf';
import { splitRepoTag } from '../../../contract/names';
import type { Engine, VolumeMount } from '../../engine/engine';
import { builderRef } from './debian';
import { builderMounts, ensurePortageSnapshot, PORTAGE_TREE } from './portage-snapshot';
import { ensureStage3Image } from './stage3';
import { fromImageId, staleFrom } from './from-image';
import { LABEL_BUILDER, LABEL_BUILDER_FROM, LABEL_KEY, LABEL_OWNED, LABEL_STAGE3_DATE } from '../../../contract/labels';

export { builderRef };

/** `ensureGentooBuilder` options. */
export interface EnsureGentooOptions {
  /** Progress lines. @default ignored */
  readonly log?: (line: string) => void;
  /** Set the builder up again even when an image with its key exists. @default false */
  readonly force?: boolean;
  readonly signal?: AbortSignal;
  /** Downloads (stage3, DIGESTS, snapshots). @default `<IMGSDK_STATE_DIR or ./.imgsdk>/downloads` */
  readonly cacheDir?: string;
}

/** A ready builder: the image to run and the volumes to mount. */
export interface GentooBuilder {
  readonly ref: string;
  readonly mounts: VolumeMount[];
}

/**
 * FEATURES and EMERGE_DEFAULT_OPTS every builder gets (Kubler's BOB_FEATURES and
 * BOB_EMERGE_DEFAULT_OPTS): no sandboxes (they need privileges containers lack),
 * binary packages made, reused and kept per USE set, no docs. Binary packages are
 * made through FEATURES only: `--buildpkg` among the options would override a
 * package's own `FEATURES="-buildpkg"` from package.env.
 */
export const BUILDER_FEATURES =
  '-sandbox -usersandbox -ipc-sandbox -network-sandbox -pid-sandbox binpkg-multi-instance buildpkg nodoc noinfo noman';
export const BUILDER_EMERGE_OPTS = '--usepkg --binpkg-respect-use=y';

/**
 * The shell run once in a fresh stage3 to make it a builder: appends imgsdk's
 * block to make.conf (a file, or a file in the make.conf directory), creates the
 * cache mount points and selects the profile.
 * @example builderSetupScript(bob.def) // '#!/bin/sh\nset -eu\n…'
 */
export function builderSetupScript(def: BuilderDef): string {
  const g = def.gentoo!;
  const conf = [
    `# imgsdk builder ${def.id}`,
    `FEATURES="\${FEATURES} ${BUILDER_FEATURES}"`,
    `EMERGE_DEFAULT_OPTS="\${EMERGE_DEFAULT_OPTS} ${BUILDER_EMERGE_OPTS}"`,
    'PKGDIR="/var/cache/binpkgs"',
    'DISTDIR="/var/cache/distfiles"',
    ...Object.keys(g.makeConf)
      .sort()
      .map((k) => `${k}=${quoteMakeConfValue(g.makeConf[k])}`),
  ];
  const lines = [
    '#!/bin/sh',
    'set -eu',
    'mkdir -p /etc/portage /var/cache/binpkgs /var/cache/distfiles',
    'if [ -d /etc/portage/make.conf ]; then f=/etc/portage/make.conf/90-imgsdk; else f=/etc/portage/make.conf; fi',
    `cat >>"$f" <<'IMGSDK_EOF'`,
    ...conf,
    'IMGSDK_EOF',
  ];
  if (g.profile) lines.push(`eselect profile set ${shq(g.profile)}`);
  lines.push('echo "imgsdk: builder set up"', '');
  return lines.join('\n');
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Makes sure the builder image of `def` at `key` exists and its Portage snapshot
 * volume is filled; the image reference and the volumes phase 1 must mount. An
 * image with that tag and key label is reused; nothing is tagged until the setup
 * finished.
 * @example const { ref, mounts } = await ensureGentooBuilder(engine, bob.def, key, { log: console.log });
 */
export async function ensureGentooBuilder(
  engine: Engine,
  def: BuilderDef,
  key: string,
  opts: EnsureGentooOptions = {},
): Promise<GentooBuilder> {
  const g = def.gentoo;
  if (def.kind !== 'gentoo' || !g) throw new BuildError(def.id, 'not a Gentoo builder', { phase: 'builder' });
  const log = opts.log ?? (() => undefined);
  const cacheDir = opts.cacheDir ?? join(stateDirOf(), 'downloads');
  const ref = builderRef(def, key);
  const existing = await engine.inspectImage(ref);
  // A stage3 image behind a tag: the builder follows it (from-image.ts).
  const fromId = g.from ? await fromImageId(engine, def.id, g.from, { log }) : null;
  const stale = existing && existing.labels[LABEL_KEY] === key ? staleFrom(existing, g.from, fromId) : null;
  if (stale) log(`builder ${def.id}: ${stale}: setting it up again`);
  const upToDate = !!existing && existing.labels[LABEL_KEY] === key && !stale && !opts.force;

  let base = ref;
  let date = existing?.labels[LABEL_STAGE3_DATE] ?? g.date;
  if (!upToDate) {
    if (g.from) {
      base = g.from;
    } else {
      base = await ensureStage3Image(
        engine,
        { mirror: g.mirror, flavour: g.stage3, date: g.date, gpgKey: g.gpgKey },
        { cacheDir, log, signal: opts.signal, id: def.id },
      );
      date = splitRepoTag(base).tag;
    }
  }
  const snapshot = await ensurePortageSnapshot(engine, def.id, g.portage, {
    runner: base,
    mirror: g.mirror,
    gpgKey: g.gpgKey,
    cacheDir,
    log,
    signal: opts.signal,
  });
  const mounts = builderMounts(snapshot, def.id);
  if (upToDate) {
    log(`builder ${def.id}: ${ref} is up to date`);
    return { ref, mounts };
  }

  log(`builder ${def.id}: setting up ${base}`);
  const changes = [
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'CMD ["/bin/bash"]',
    `LABEL ${LABEL_OWNED}="1" ${LABEL_BUILDER}=${JSON.stringify(def.id)} ${LABEL_KEY}=${JSON.stringify(key)} ${LABEL_STAGE3_DATE}=${JSON.stringify(date)}${fromId ? ` ${LABEL_BUILDER_FROM}=${JSON.stringify(fromId)}` : ''}`,
  ];
  const script = Buffer.from(builderSetupScript(def));
  await engine.withContainer(
    {
      // By id: the tag may move while the builder is set up.
      image: fromId ?? base,
      cmd: ['/bin/sh', '/imgsdk/setup.sh'],
      signal: opts.signal,
      labels: { [LABEL_BUILDER]: def.id },
      mounts: [{ volume: snapshot, target: PORTAGE_TREE, readOnly: true }],
    },
    async (c) => {
      await c.putArchive('/imgsdk', await tarOf([{ name: 'setup.sh', data: script, mode: 0o755 }]));
      const code = await c.run({
        onOutput: eachLine((l) => log(l)),
      });
      if (code !== 0)
        throw new BuildError(def.id, `setting up the builder from ${base} failed (exit ${code}):\n${c.tail()}`, { phase: 'builder' });
      // Flattened into one layer: the setup is small, and an import is the only way to label it.
      const platform = normalizePlatform(def.arch);
      // An arm64 builder is loaded with a config naming arm64 (engines before Docker 23 ignore import's platform).
      if (platform && platform !== hostPlatform()) await loadForeignRootfs(engine, await c.exportFilesystem(), ref, changes, platform);
      else await engine.importImage(await c.exportFilesystem(), ref, { changes });
    },
  );
  if (existing) await engine.removeImage(existing.id).catch(() => false);
  log(`builder ${def.id}: ${ref} ready`);
  return { ref, mounts };
}

/**
 * A line of `parent-packages.list` for portage.sh: `cat/pkg-version` for Portage
 * packages (what package.provided takes), the bare name for anything else.
 * @example parentPackageLine({ name: 'sys-libs/glibc', version: '2.38-r10', origin: 'gentoo' }) // 'sys-libs/glibc-2.38-r10'
 */
export function parentPackageLine(p: { readonly name: string; readonly version: string; readonly origin: string }): string {
  return p.origin === 'gentoo' && p.version ? `${p.name}-${p.version}` : p.name;
}
