/**
 * `.debug()`: an `<id>:debug` variant = the image's layers plus one layer with a
 * static busybox under `/busybox` (binary + one symlink per applet, `/busybox` on
 * PATH), like distroless's `:debug` images. The binary is Debian's
 * `busybox-static`: downloaded with `apt-get download` in a throwaway container
 * of the image's Debian builder (with the image's apt sources) and unpacked with
 * `dpkg-deb -x`, so nothing but the archive's own package enters. The layer is
 * cached in the state directory per builder key and SOURCE_DATE_EPOCH. Images
 * with a Gentoo builder take it from {@link DEBUG_BUILDER}.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { AccountDef, ImageDef } from '../../contract/assembly';
import { BuildError } from '../../contract/errors';
import type { Engine } from '../engine/engine';
import { storeLayer } from './layer';
import { DEFAULT_PATH, imageConfig, type Blob } from './oci';
import { dirTar, readSingleFile } from '../../util/tar';
import { readRootfsTar } from '../rootfs/tar';
import type { Entry } from '../store/entry';
import { writeAtomic } from '../../util/files';
import { hashFile } from '../../util/hash';
import type { StateDir } from '../store/state';
import { DEBUG_BUILDER } from './debug-builder';
import { LABEL_CHECK, LABEL_DEBUG } from '../../contract/labels';

export { DEBUG_BUILDER };

/** The tag suffix of the debug variant. */
export const DEBUG_TAG = 'debug';
/** Where busybox and its applet links live in the debug layer. */
export const BUSYBOX_DIR = 'busybox';

/** The cached busybox layer. */
export interface BusyboxLayer {
  readonly diffId: string;
  readonly size: number;
  /** Debian version of busybox-static. */
  readonly version: string;
}

const SCRIPT = `set -eu
export DEBIAN_FRONTEND=noninteractive
IN=/imgsdk/in
if [ -f "$IN/apt/sources.list" ]; then
  find /etc/apt/sources.list.d -mindepth 1 -maxdepth 1 \\( -name '*.list' -o -name '*.sources' \\) -delete 2>/dev/null || true
  cp "$IN/apt/sources.list" /etc/apt/sources.list
fi
[ -d "$IN/apt/apt.conf.d" ] && cp -R "$IN/apt/apt.conf.d/." /etc/apt/apt.conf.d/
apt-get update -q
mkdir -p /tmp/dl && cd /tmp/dl
apt-get download -q busybox-static 2>&1
deb=$(ls busybox-static_*.deb)
dpkg-deb -x "$deb" /tmp/bb
out=/imgsdk/debug/${BUSYBOX_DIR}
mkdir -p "$out"
cp /tmp/bb/bin/busybox "$out/busybox"
chmod 0755 "$out/busybox"
for a in $("$out/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$out/$a"; done
dpkg-deb -f "$deb" Version >/imgsdk/debug/version
`;

/**
 * The busybox layer for builder `builderKey`, from the state directory or made
 * now in a container of `builderRef`.
 */
export async function ensureBusyboxLayer(
  engine: Engine,
  state: StateDir,
  opts: {
    readonly builderRef: string;
    readonly builderKey: string;
    readonly network?: string;
    readonly imageDir: string;
    readonly epoch: number;
    readonly forImage: string;
    readonly log?: (l: string) => void;
    readonly signal?: AbortSignal;
  },
): Promise<BusyboxLayer> {
  const recPath = join(state.root, 'debug', `busybox-${opts.builderKey.slice(0, 16)}-${opts.epoch}.json`);
  // Two debug images of one deploy share one download.
  let p = making.get(recPath);
  if (!p) {
    p = makeBusyboxLayer(engine, state, recPath, opts).finally(() => making.delete(recPath));
    making.set(recPath, p);
  }
  return p;
}

const making = new Map<string, Promise<BusyboxLayer>>();

async function makeBusyboxLayer(
  engine: Engine,
  state: StateDir,
  recPath: string,
  opts: Parameters<typeof ensureBusyboxLayer>[2],
): Promise<BusyboxLayer> {
  const cached = await readFile(recPath, 'utf8').then(
    (t) => JSON.parse(t) as BusyboxLayer,
    () => null,
  );
  // Reused only when it names a layer by digest and that layer hashes to it; anything else is fetched again.
  const named = typeof cached?.diffId === 'string' && /^sha256:[0-9a-f]{64}$/.test(cached.diffId);
  if (named && (await hashFile(state.layerPath(cached!.diffId)).catch(() => null)) === cached!.diffId.slice(7)) return cached!;
  if (cached !== null || named)
    state.warn(
      `state directory: ${recPath} ${named ? 'names a layer that is missing or damaged' : 'is not a busybox layer record'}; dropped, fetching it again`,
    );

  opts.log?.(`debug: fetching busybox-static in ${opts.builderRef}`);
  const inTar = await dirTar(opts.imageDir, {});
  const { entries, version } = await engine.withContainer(
    {
      image: opts.builderRef,
      cmd: ['/bin/sh', '-c', SCRIPT],
      forImage: opts.forImage,
      labels: { [LABEL_CHECK]: 'debug' },
      network: opts.network,
      signal: opts.signal,
    },
    async (c) => {
      await c.putArchive('/imgsdk/in', inTar);
      const code = await c.run({
        onOutput: (b) =>
          b
            .toString('utf8')
            .split('\n')
            .filter(Boolean)
            .forEach((l) => opts.log?.(`debug: ${l}`)),
      });
      if (code !== 0)
        throw new BuildError(opts.forImage, `debug: fetching busybox-static failed (exit ${code}):\n${c.tail()}`, { phase: 'debug' });
      const entries = await busyboxEntries(await c.getArchive(`/imgsdk/debug/${BUSYBOX_DIR}`), state);
      const version = (await readSingleFile(await c.getArchive('/imgsdk/debug/version'))).trim();
      return { entries, version };
    },
  );
  const info = await storeLayer(state, entries, opts.epoch);
  const rec: BusyboxLayer = { diffId: info.diffId, size: info.uncompressedSize, version };
  await writeAtomic(recPath, JSON.stringify(rec));
  opts.log?.(`debug: busybox ${version} layer ${info.diffId.slice(7, 19)}`);
  return rec;
}

/**
 * The busybox directory as layer entries: read (and checked) like any rootfs, then
 * owned by root with fixed modes, so the layer does not depend on the builder.
 */
async function busyboxEntries(tar: Readable, state: StateDir): Promise<Entry[]> {
  const read = await readRootfsTar(tar, state.blobs);
  const entries = read.map((e) => ({ ...e, uid: 0, gid: 0, mode: e.type === 'symlink' ? 0o777 : 0o755, elf: null }));
  if (!entries.some((e) => e.path === `${BUSYBOX_DIR}/busybox` && e.type === 'file'))
    throw new BuildError('debug', 'the busybox-static download gave no busybox binary');
  return entries;
}

/**
 * The config of `<id>:debug`: the image's, with `/busybox` appended to PATH, one
 * more layer, and a label naming the busybox version. Entrypoint and user stay,
 * so `docker run --entrypoint /busybox/sh -it <id>:debug` gives a shell.
 */
export function debugConfig(
  def: ImageDef,
  o: {
    readonly key: string;
    readonly diffIds: readonly string[];
    readonly busybox: BusyboxLayer;
    readonly epoch: number;
    readonly arch: string;
    readonly accounts: readonly AccountDef[];
    readonly extraLabels?: Readonly<Record<string, string>>;
  },
): Blob {
  const path = `${def.config.env.PATH ?? DEFAULT_PATH}:/${BUSYBOX_DIR}`;
  const d: ImageDef = { ...def, config: { ...def.config, env: { ...def.config.env, PATH: path } } };
  return imageConfig(d, {
    key: o.key,
    diffIds: [...o.diffIds, o.busybox.diffId],
    created: o.epoch,
    arch: o.arch,
    accounts: o.accounts,
    extraLabels: { ...o.extraLabels, [LABEL_DEBUG]: `busybox-static ${o.busybox.version}` },
    history: [...o.diffIds.map(() => ({})), { createdBy: 'imgsdk debug: busybox-static', comment: o.busybox.version }],
  });
}
