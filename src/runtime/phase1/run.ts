import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { phase1View, type BuilderDef, type ImageDef } from '../../contract/assembly';
import {
  DEPENDS,
  EMERGE_OPTS,
  FILES,
  formatList,
  GROUP_ADDED,
  parseRows,
  PARENT_PACKAGES,
  PASSWD_ADDED,
  STEPS,
} from '../../contract/builder-files';
import { prettyJson } from '../../contract/json';
import { BuildError } from '../../contract/errors';
import { dirTar, readSingleFile } from '../../util/tar';
import { BUILDER_EMERGE_OPTS } from './builders/gentoo';
import { tempPath } from '../../util/files';
import { HashingStream } from '../../util/hash';
import type { Engine, OutputHandler, VolumeMount } from '../engine/engine';
import { enrichPackages, parseDpkgStatus, statusStanzas } from './dpkg';
import type { CreatedAccount, PackageInfo, RootfsRecord, StateDir } from '../store/state';
import type { Entry } from '../store/entry';
import { readRootfsTar } from '../rootfs/tar';
import { LABEL_KEY } from '../../contract/labels';

/** Where the builder-side scripts live, in a checkout and in the published package alike. */
export const SCRIPTS_DIR = join(__dirname, '..', '..', '..', 'src', 'runtime', 'phase1', 'scripts');

export interface Phase1Input {
  readonly engine: Engine;
  readonly state: StateDir;
  readonly def: ImageDef;
  /** The phase-1 key: the rootfs is cached under it. */
  readonly key: string;
  readonly builder: BuilderDef;
  readonly builderRef: string;
  /** The image's directory in the assembly. */
  readonly imageDir: string;
  /** Names of the packages every ancestor has installed. */
  readonly parentPackages: readonly string[];
  /** Named volumes of the builder (Gentoo: Portage snapshot, distfiles, binpkgs). */
  readonly mounts?: readonly VolumeMount[];
  readonly onOutput?: OutputHandler;
  /** Each step's wall time, as it ends (see {@link Phase1Step}). @default ignored */
  readonly onStep?: (step: Phase1Step, ms: number) => void;
  readonly signal?: AbortSignal;
}

/**
 * The timed steps of phase 1: `container` (created, inputs put, started, until
 * the script's first mark), the steps the script marks in `/imgsdk/out/steps.tsv`
 * (`mark` in lib.sh), `stream` (the rootfs tar streamed out, hashed and stored)
 * and `finish` (package database read, container removed).
 */
export type Phase1Step =
  'container' | 'setup' | 'apt-update' | 'apt-download' | 'apt-install' | 'files' | 'rootfs-tar' | 'stream' | 'finish';
const SCRIPT_STEPS: ReadonlySet<string> = new Set<Phase1Step>([
  'setup',
  'apt-update',
  'apt-download',
  'apt-install',
  'files',
  'rootfs-tar',
]);

/**
 * The builder-side scripts as they are put at `/imgsdk/scripts`, with `emerge-opts`:
 * the options every emerge of the Gentoo entries gets (the builder's EMERGE_DEFAULT_OPTS,
 * stated once in gentoo.ts and repeated on the command line, so that a makeConf
 * setting EMERGE_DEFAULT_OPTS outright does not drop them).
 */
export function scriptsTar(): Promise<Buffer> {
  return dirTar(SCRIPTS_DIR, { [EMERGE_OPTS.path]: formatList(EMERGE_OPTS, [BUILDER_EMERGE_OPTS]) });
}

/**
 * Phase 1: a container of the builder installs the image's packages and streams
 * back rootfs.tar and packages.json. Files go in and out through the API only.
 * The rootfs tar is written to a temp name, hashed, and renamed into the state
 * directory only when complete; the container is removed in every outcome.
 * The container gets only what the phase-1 key covers: the image's definition cut
 * to {@link phase1View}, no `files/` (a cache hit on the phase-1 key must not miss
 * anything the container could have read).
 */
export async function runPhase1(input: Phase1Input): Promise<RootfsRecord> {
  const { engine, state, def, key } = input;
  const inTar = await dirTar(
    input.imageDir,
    {
      'image.json': prettyJson(phase1View(def, input.builder.kind), ['id', 'packages']),
      [PARENT_PACKAGES.path]: formatList(PARENT_PACKAGES, input.parentPackages),
    },
    (rel) => rel === 'image.json' || rel.startsWith('files/'),
  );
  const scripts = await scriptsTar();
  const started = Date.now();
  let streamed = 0;
  let marks: readonly Mark[] = [];

  const rec = await engine.withContainer(
    {
      image: input.builderRef,
      cmd: ['/bin/sh', '/imgsdk/in/build.sh'],
      forImage: def.id,
      labels: { [LABEL_KEY]: key },
      mounts: input.mounts,
      signal: input.signal,
      network: input.builder.debian?.network ?? undefined,
    },
    async (c) => {
      await c.putArchive('/imgsdk/in', inTar);
      await c.putArchive('/imgsdk/scripts', scripts);
      const code = await c.run({ onOutput: input.onOutput });
      if (code !== 0)
        throw new BuildError(def.id, `phase 1 failed in builder ${input.builder.id} (exit ${code}):\n${indent(c.tail())}`, {
          phase: 'phase1',
        });
      const ran = Date.now();
      const { record: rec, steps, depends } = await collect(await c.getArchive('/imgsdk/out'), state, def.id, key);
      streamed = Date.now();
      marks = parseMarks(steps, started, ran);
      if (input.builder.kind !== 'debian') return rec;
      // Section, Priority and dependencies decide what the pipeline slims.
      const status = await readSingleFile(await c.getArchive('/var/lib/dpkg/status'));
      // The stanzas of this layer's packages become its /var/lib/dpkg/status.d (pkgdb.ts).
      const stanzas = statusStanzas(status);
      const control = Object.fromEntries(rec.packages.flatMap((p) => (stanzas.has(p.name) ? [[p.name, stanzas.get(p.name)!]] : [])));
      const enriched: RootfsRecord = {
        ...rec,
        packages: enrichPackages(rec.packages, parseDpkgStatus(status), parseRows(DEPENDS, depends)),
        control,
      };
      await state.writeRootfsRecord(enriched);
      return enriched;
    },
  );
  if (input.onStep) for (const [step, ms] of phase1Steps(marks, started, streamed, Date.now())) input.onStep(step, ms);
  return rec;
}

/** A step the script marked: its name and when it started (ms since the epoch). */
type Mark = readonly [Phase1Step | 'end', number];

/**
 * The script's marks (`name TAB ms` lines), kept only when they fall between the
 * container's creation and its exit: a remote engine's clock may differ from
 * ours, and its durations would then be fiction (the whole run is `container`).
 */
export function parseMarks(tsv: string, started: number, ran: number): Mark[] {
  const marks: Mark[] = [];
  for (const { step, ms: at } of parseRows(STEPS, tsv)) {
    const ms = Number(at);
    if ((SCRIPT_STEPS.has(step) || step === 'end') && at !== '' && Number.isFinite(ms)) marks.push([step as Phase1Step | 'end', ms]);
  }
  const inside = marks.length > 0 && marks[0][1] >= started && marks[marks.length - 1][1] <= ran;
  return inside ? [...marks, ['end', ran]] : [['end', ran]];
}

/**
 * Durations from the marks: `container` until the first and from the script's end
 * to the exit, each marked step until the next (a step marked twice is summed),
 * `stream` and `finish` after the run.
 * @example phase1Steps([['setup', 5], ['end', 9], ['end', 10]], 0, 12, 13) // [['container', 6], ['setup', 4], ['stream', 2], ['finish', 1]]
 */
export function phase1Steps(marks: readonly Mark[], started: number, streamed: number, done: number): [Phase1Step, number][] {
  const sums = new Map<Phase1Step, number>([['container', marks[0][1] - started]]);
  for (let i = 0; i + 1 < marks.length; i++) {
    const [name, at] = marks[i];
    // From the script's end to the container's exit is the container's too.
    const step = name === 'end' ? 'container' : name;
    sums.set(step, (sums.get(step) ?? 0) + marks[i + 1][1] - at);
  }
  const end = marks[marks.length - 1][1];
  sums.set('stream', streamed - end);
  sums.set('finish', done - streamed);
  return [...sums];
}

async function collect(
  out: Readable,
  state: StateDir,
  id: string,
  key: string,
): Promise<{ record: RootfsRecord; steps: string; depends: string }> {
  const dest = state.rootfsPath(key);
  await mkdir(dirname(dest), { recursive: true });
  const tmp = tempPath(dest);
  let packages: PackageInfo[] | null = null;
  const texts = new Map<string, string>();
  let sha256: string | null = null;
  let size = 0;
  // The tar is read into entries (bodies into the blob store) as it streams to its
  // file: the pipeline then starts from those, and nothing reads the tar again.
  let reading: Promise<Entry[] | null> = Promise.resolve(null);
  const ex = extract();
  ex.on('entry', (header, stream, next) => {
    const name = header.name.replace(/^(\.\/)?out\//, '');
    if (name === 'rootfs.tar') {
      const tap = new HashingStream();
      const toEntries = new PassThrough();
      // An unsafe tar is not refused here: the pipeline reads it again and names what is
      // wrong (phase 'pipeline'). The stream stops feeding a reader that gave up.
      reading = readRootfsTar(toEntries, state.blobs, { allowSetuid: true }).catch(() => {
        toEntries.destroy();
        return null;
      });
      tap.pipe(toEntries);
      pipeline(stream, tap, createWriteStream(tmp)).then(
        () => {
          sha256 = tap.hex();
          size = tap.bytes;
          next();
        },
        (err: unknown) => {
          toEntries.destroy(err as Error);
          next(err as Error);
        },
      );
    } else if (name === 'packages.json' || TEXTS.has(name)) {
      const chunks: Buffer[] = [];
      stream.on('data', (d: unknown) => void chunks.push(d as Buffer));
      stream.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (name !== 'packages.json') texts.set(name, text);
        else {
          try {
            packages = JSON.parse(text) as PackageInfo[];
          } catch (e) {
            return next(new BuildError(id, `packages.json from the builder is not JSON: ${(e as Error).message}`, { phase: 'phase1' }));
          }
        }
        next();
      });
      stream.resume();
    } else {
      stream.on('end', () => next());
      stream.resume();
    }
  });
  try {
    await pipeline(out, ex);
    if (!sha256 || !packages)
      throw new BuildError(id, 'the builder produced no rootfs.tar or packages.json in /imgsdk/out', { phase: 'phase1' });
    await rename(tmp, dest);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  const origins: Record<string, string> = {};
  // The package is after the last TAB: package names hold none, file names may.
  for (const { path, package: pkg } of parseRows(FILES, texts.get(FILES.path) ?? ''))
    if (path && pkg) origins[path.replace(/^\.?\/+/, '')] = pkg;
  const createdAccounts = parseCreatedAccounts(texts.get(PASSWD_ADDED.path) ?? '', texts.get(GROUP_ADDED.path) ?? '');
  const rec: RootfsRecord = {
    key,
    sha256: sha256!,
    size,
    packages: packages!,
    origins,
    ...(createdAccounts.length ? { createdAccounts } : {}),
  };
  const read = await reading;
  // Each entry's package, as rootfsInput's reading of the tar gives it.
  const entries = read?.map(({ origin: _none, ...e }) => (origins[e.path] === undefined ? e : { ...e, origin: origins[e.path] }));
  const record = entries ? await state.writeRootfsEntries(rec, entries) : (await state.writeRootfsRecord(rec), rec);
  return { record, steps: texts.get(STEPS.path) ?? '', depends: texts.get(DEPENDS.path) ?? '' };
}

/** The text files of /imgsdk/out that collect keeps (packages.json aside, parsed as JSON). */
const TEXTS: ReadonlySet<string> = new Set([FILES.path, PASSWD_ADDED.path, GROUP_ADDED.path, STEPS.path, DEPENDS.path]);

/**
 * The accounts an install created (`adduser --system` in a maintainer script), from
 * the lines it added to /etc/passwd and /etc/group: users with their primary group's
 * name, and groups of their own (`redis` user, `redis` group; `postdrop` group alone),
 * each group with the members the install gave it (`ssl-cert:x:108:postgres`).
 */
export function parseCreatedAccounts(passwd: string, group: string): CreatedAccount[] {
  const groups = new Map<number, string>();
  const members = new Map<string, string[]>();
  const out: CreatedAccount[] = [];
  for (const { name, gid, members: list } of parseRows(GROUP_ADDED, group)) {
    if (!name || !/^\d+$/.test(gid)) continue;
    groups.set(Number(gid), name);
    const m = list.split(',').filter(Boolean);
    if (m.length) members.set(name, m);
  }
  const withMembers = (name: string | undefined) => (name && members.has(name) ? { members: members.get(name)! } : {});
  const usedGroups = new Set<string>();
  for (const { name, uid, gid, home, shell } of parseRows(PASSWD_ADDED, passwd)) {
    if (!name || !/^\d+$/.test(uid) || !/^\d+$/.test(gid)) continue;
    const groupName = groups.get(Number(gid));
    if (groupName) usedGroups.add(groupName);
    out.push({
      user: name,
      uid: Number(uid),
      gid: Number(gid),
      ...(groupName ? { group: groupName } : {}),
      home: home || '/nonexistent',
      shell: shell || '/usr/sbin/nologin',
      ...withMembers(groupName),
    });
  }
  for (const [gid, name] of groups) if (!usedGroups.has(name)) out.push({ group: name, gid, ...withMembers(name) });
  return out.sort((a, b) => (a.user ?? a.group!).localeCompare(b.user ?? b.group!));
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => '  ' + l)
    .join('\n');
}
