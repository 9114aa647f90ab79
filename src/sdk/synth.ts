import { mkdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  ASSEMBLY_VERSION,
  type BuilderDef,
  type ImageDef,
  type OverlayDef,
  type Manifest,
  type ManifestBuilder,
  type ManifestImage,
  type ManifestPlatform,
} from '../contract/assembly';
import { forPlatform } from './builder';
import { ValidationError, type Problem } from '../contract/errors';
import { outDirOf } from '../contract/defaults';
import { App, type AppInput } from './app';
import { renderApt } from '../contract/apt';
import {
  APT_LOCALES,
  formatList,
  formatRows,
  PORTAGE_ACCOUNTS,
  PORTAGE_DOWNLOADS,
  PORTAGE_IMAGE,
  PORTAGE_LOCALES,
  PORTAGE_LOCK,
  PORTAGE_NO_BINPKG_CACHE,
  PORTAGE_OVERLAYS,
  PORTAGE_PACKAGES,
  PORTAGE_RECORD,
  PORTAGE_RUNTIME_LIBS,
  PORTAGE_UNINSTALL,
} from '../contract/builder-files';
import { buildGraph, dependenciesOf, findCycles, levels } from './graph';
import { prettyJson } from '../contract/json';
import { writeAtomicSync } from '../util/files';
import { parseEpoch } from '../contract/epoch';
import { sourcesOf } from './load';
import { builderKey, imageKey, keyInputs, phase1Inputs, phase1Key } from '../contract/key';
import { lockedAtom } from './portage/lock';
import { lockStates, readLockFile, type ImageLockState, type Lock } from './lock';
import { Atom } from './portage/atom';
import { inheritedOverlays, renderInheritedPortage, type PortageOf } from './portage/config';
import { resolveApp } from './resolve';
import { SDK_VERSION } from '../contract/version';

/** A synthesized assembly, in memory: the manifest and every file of `imgsdk.out/`. */
export interface Assembly {
  readonly manifest: Manifest;
  /** Definitions by image id (also written as `<dir>/image.json`). */
  readonly images: ReadonlyMap<string, ImageDef>;
  readonly builders: ReadonlyMap<string, BuilderDef>;
  /** Every file of the assembly except manifest.json, by path relative to its root. */
  readonly files: ReadonlyMap<string, string | Buffer>;
  /**
   * What synth reports without failing: definitions that are legal but likely not
   * what was meant (keywords that do not pin a version). Not written to disk.
   */
  readonly warnings: readonly Problem[];
  /** Per image, whether imgsdk.lock has a current entry for it and what phase 1 pins. */
  readonly locks: ReadonlyMap<string, ImageLockState>;
}

/** `assemble` options. */
export interface AssembleOptions {
  /**
   * imgsdk.lock, or the path of one (absent file: no lock). Images with a current
   * entry install exactly the locked versions and have them in their keys; the
   * others install the archive's candidates. @default none
   */
  readonly lock?: Lock | string | null;
}

export interface SynthOptions extends AssembleOptions {
  /** Where to write the assembly. @default $IMGSDK_OUTDIR, else ./imgsdk.out (see defaults.ts) */
  readonly outdir?: string;
}

export interface AssembleOptions {
  /**
   * Timestamp of every layer entry and config, in seconds; an input of every key.
   * @default process.env.SOURCE_DATE_EPOCH ?? 0
   */
  readonly epoch?: number;
}

/** The directory of an image inside the assembly: its id (`ns/name`). */
export const imageDir = (id: string): string => id;

/**
 * Validates an app and builds its assembly in memory; throws one ValidationError
 * listing every problem. Warnings do not fail: they are in `warnings`.
 * @example const asm = assemble(app(web)); asm.manifest.order; asm.warnings.map(formatProblem)
 */
export function assemble(input: AppInput, opts: AssembleOptions = {}): Assembly {
  const epoch = parseEpoch(opts.epoch ?? process.env.SOURCE_DATE_EPOCH, opts.epoch === undefined ? 'SOURCE_DATE_EPOCH' : 'epoch');
  const theApp = App.isApp(input) ? input : App.of([input]);
  const r = resolveApp(theApp);
  const problems: Problem[] = [...r.problems];
  const g = buildGraph(r.images, r.builders);
  problems.push(...cycleProblems(g, r.sites));
  if (problems.length) throw new ValidationError(problems);

  const builders: Record<string, ManifestBuilder> = {};
  for (const [id, def] of [...r.builders].sort(([a], [b]) => cmp(a, b))) builders[id] = manifestBuilder(def);

  const order = levels(g, [...r.images.keys()]);
  const lock = typeof opts.lock === 'string' ? readLockFile(opts.lock) : (opts.lock ?? null);
  const locks = lockStates(order.flat(), r.images, r.builders, lock);
  const keys = new Map<string, string>();
  const manifestImages: Record<string, ManifestImage> = {};
  const files = new Map<string, string | Buffer>();
  const inputs = new Map<string, Record<string, string>>();
  const p1keys = new Map<string, string>();
  const p1inputs = new Map<string, Record<string, string>>();
  // Per platform, for images that name platforms: the keys of each from that platform's builder, parent and copies.
  const platformKeys = new Map<string, Record<string, ManifestPlatform>>();
  for (const id of order.flat()) {
    const def = r.images.get(id)!;
    // What phase 1 reads: the apt files render the pins only for an image that installs something.
    const pins = def.packages.length ? locks.get(id)!.pins : [];
    if (def.platforms) {
      const per = platformKeysOf(def, def.platforms, builders, platformKeys, { epoch, own: locks.get(id)!.own, pins });
      platformKeys.set(id, per);
      const first = per[def.platforms[0]];
      keys.set(id, first.key);
      inputs.set(id, first.inputs);
      p1keys.set(id, first.phase1Key!);
      p1inputs.set(id, first.phase1Inputs!);
      continue;
    }
    const p1 = {
      builder: builders[def.builder].key,
      kind: builders[def.builder].kind,
      parent: def.parent ? p1keys.get(def.parent)! : null,
      pins,
    };
    p1keys.set(id, phase1Key(def, p1));
    p1inputs.set(id, phase1Inputs(def, p1));
    const copies: Record<string, string> = {};
    for (const c of def.copies) copies[c.from] = keys.get(c.from)!;
    const k = {
      builder: builders[def.builder].key,
      parent: def.parent ? keys.get(def.parent)! : null,
      copies,
      epoch,
      lock: locks.get(id)!.own,
    };
    keys.set(id, imageKey(def, k));
    inputs.set(id, keyInputs(def, k));
  }
  for (const id of [...r.images.keys()].sort()) {
    const def = r.images.get(id)!;
    const dir = imageDir(id);
    const key = keys.get(id)!;
    const p1 = p1keys.get(id)!;
    const per = platformKeys.get(id);
    manifestImages[id] = {
      key,
      phase1Key: p1,
      parent: def.parent,
      builder: def.builder,
      dependsOn: dependenciesOf(g, id),
      tags: def.tags,
      dir,
      inputs: inputs.get(id)!,
      phase1Inputs: p1inputs.get(id)!,
      ...(per ? { platforms: per } : {}),
    };
    for (const [path, content] of imageFiles(def, p1, r.builders.get(def.builder)!, r.blobs, locks.get(id)!, portageChain(r.images, def)))
      files.set(`${dir}/${path}`, content);
  }

  const sources = sourcesOf(theApp);
  const manifest: Manifest = {
    version: ASSEMBLY_VERSION,
    sdkVersion: SDK_VERSION,
    images: manifestImages,
    builders,
    order,
    ...(epoch ? { epoch } : {}),
    ...(sources && Object.keys(sources).length ? { sources } : {}),
  };
  return {
    manifest,
    images: r.images,
    builders: r.builders,
    files: new Map([...files].sort(([a], [b]) => cmp(a, b))),
    warnings: r.warnings,
    locks,
  };
}

/** The keys of an image that names platforms, per platform: each from that platform's builder, parent and copies. */
function platformKeysOf(
  def: ImageDef,
  platforms: readonly string[],
  builders: Readonly<Record<string, ManifestBuilder>>,
  platformKeys: ReadonlyMap<string, Record<string, ManifestPlatform>>,
  { epoch, own, pins }: { epoch: ReturnType<typeof parseEpoch>; own: ImageLockState['own']; pins: ImageLockState['pins'] },
): Record<string, ManifestPlatform> {
  const per: Record<string, ManifestPlatform> = {};
  for (const p of platforms) {
    const copies: Record<string, string> = {};
    for (const c of def.copies) copies[c.from] = platformKeys.get(c.from)![p].key;
    const bk = builders[def.builder].platforms![p].key;
    const parent = def.parent ? platformKeys.get(def.parent)![p] : null;
    const k = { builder: bk, parent: parent?.key ?? null, copies, epoch, lock: own, platform: p };
    const p1 = { builder: bk, kind: builders[def.builder].kind, parent: parent ? parent.phase1Key! : null, pins };
    per[p] = {
      key: imageKey(def, k),
      builderKey: bk,
      inputs: keyInputs(def, k),
      phase1Key: phase1Key(def, p1),
      phase1Inputs: phase1Inputs(def, p1),
    };
  }
  return per;
}

/** A dependency cycle is a problem at each image in it, at its .from() or .copy(). */
function cycleProblems(g: ReturnType<typeof buildGraph>, sites: ReturnType<typeof resolveApp>['sites']): Problem[] {
  const problems: Problem[] = [];
  for (const cycle of findCycles(g)) {
    for (const id of cycle) {
      const s = sites.get(id);
      const site = s?.methods.from ?? s?.methods.copy ?? s?.declared;
      problems.push({ id, site: site?.toString() || undefined, message: `dependency cycle: ${cycle.join(' -> ')} -> ${cycle[0]}` });
    }
  }
  return problems;
}

/**
 * A builder as the manifest lists it; one naming platforms also lists each
 * platform's definition and key, and its own key is its first platform's.
 */
function manifestBuilder(def: BuilderDef): ManifestBuilder {
  if (!def.platforms) return { key: builderKey(def), kind: def.kind, libc: def.libc, def };
  const platforms: Record<string, { key: string; def: BuilderDef }> = {};
  for (const p of def.platforms) {
    const v = forPlatform(def, p);
    // An impossible platform was reported by resolve; keep its variant the plain definition.
    const variant = typeof v === 'string' ? def : v;
    platforms[p] = { key: builderKey(variant), def: variant };
  }
  return { key: platforms[def.platforms[0]].key, kind: def.kind, libc: def.libc, def, platforms };
}

/** The files of one image's directory; `build.sh` names the phase-1 key (of its first platform, for an image that names platforms). */
function imageFiles(
  def: ImageDef,
  key: string,
  builder: BuilderDef,
  blobs: ReadonlyMap<string, Buffer>,
  lock: ImageLockState,
  chain: readonly PortageOf[],
): [string, string | Buffer][] {
  const out: [string, string | Buffer][] = [
    ['image.json', prettyJson(def, ['id', 'parent', 'builder', 'packages'])],
    ['build.sh', buildScript(def, key, builder)],
  ];
  if (builder.kind === 'gentoo') {
    // The ancestors' settings too: phase 1 emerges their packages into this builder (config.ts).
    for (const [p, c] of Object.entries(renderInheritedPortage(chain))) out.push([`portage/${p}`, c]);
    out.push(...portageLists(def, inheritedOverlays(chain)));
    // Locked: phase 1 installs exactly these versions (portage.sh checks they are still in the tree).
    if (def.packages.length && lock.own.length)
      out.push([PORTAGE_LOCK.path, formatList(PORTAGE_LOCK, lock.own.map(lockedAtom), `imgsdk.lock: ${def.id}`)]);
    // The ancestors' patches first: a path the image patches too is the image's.
    const patches = new Map<string, Buffer>();
    for (const patch of chain.flatMap((c) => c.portage.patches)) {
      const a = Atom.parse(patch.atom);
      const dir = a.version ? `${a.category}/${a.name}-${a.version}${a.revision ? '-r' + a.revision : ''}` : a.cpn;
      patches.set(`portage/patches/${dir}/${patch.name}`, blobs.get(patch.sha256)!);
    }
    out.push(...patches);
  } else {
    for (const [p, c] of Object.entries(renderApt(def.packages, builder.debian!, def.packages.length ? lock.pins : [])))
      out.push([`apt/${p}`, c]);
    // `.locale()`: debian.sh compiles each into the root, as portage.sh does (C.UTF-8 comes with libc-bin).
    if (def.portage.locales.length) out.push([APT_LOCALES.path, formatList(APT_LOCALES, def.portage.locales)]);
  }
  const hooks = {
    configureBuilder: 'configure-builder.sh',
    configureRootfs: 'configure-rootfs.sh',
    finishRootfs: 'finish-rootfs.sh',
  } as const;
  for (const [name, file] of Object.entries(hooks)) {
    const parts = def.hooks[name as keyof typeof hooks];
    if (parts.length) out.push([`hooks/${file}`, `#!/bin/sh\n# ${def.id}: .${name}()\nset -eu\n${parts.join('\n')}\n`]);
  }
  // Content-addressed: a body added twice (or by a file and a directory) is written once.
  const bodies = new Set<string>();
  for (const f of [...def.files, ...(def.dirs ?? []).flatMap((d) => d.entries)]) {
    if (f.sha256 && !bodies.has(f.sha256)) (bodies.add(f.sha256), out.push([`files/${f.sha256}`, blobs.get(f.sha256)!]));
  }
  return out;
}

/**
 * The plain inputs the Gentoo entries (portage-setup.sh) read (as debian.sh reads apt/packages.list), by path
 * in the image's directory, in the columns contract/builder-files.ts declares; only
 * those with content are written, except `image` (the id).
 * @example portageLists(def, []) // [['portage/imgsdk/image', 'acme/curl\n'], ['portage/imgsdk/packages.list', 'net-misc/curl\n']]
 */
function portageLists(def: ImageDef, overlays: readonly OverlayDef[]): [string, string][] {
  const p = def.portage;
  const lists: [string, string][] = [
    [PORTAGE_IMAGE.path, formatList(PORTAGE_IMAGE, [def.id])],
    [PORTAGE_PACKAGES.path, formatList(PORTAGE_PACKAGES, def.packages)],
    [PORTAGE_DOWNLOADS.path, formatRows(PORTAGE_DOWNLOADS, p.downloads)],
    [PORTAGE_NO_BINPKG_CACHE.path, formatList(PORTAGE_NO_BINPKG_CACHE, p.noBinpkgCache)],
    [PORTAGE_OVERLAYS.path, formatRows(PORTAGE_OVERLAYS, overlays)],
    [PORTAGE_ACCOUNTS.path, formatRows(PORTAGE_ACCOUNTS, def.accounts)],
    [PORTAGE_UNINSTALL.path, formatList(PORTAGE_UNINSTALL, p.uninstall)],
    [PORTAGE_RUNTIME_LIBS.path, formatList(PORTAGE_RUNTIME_LIBS, p.runtimeLibs)],
    [PORTAGE_LOCALES.path, formatList(PORTAGE_LOCALES, p.locales)],
    [PORTAGE_RECORD.path, formatRows(PORTAGE_RECORD, p.record)],
  ];
  return lists.filter(([, text]) => text !== '');
}

/** The Portage settings of `def` and of its ancestors, root first (the image last). */
function portageChain(images: ReadonlyMap<string, ImageDef>, def: ImageDef): PortageOf[] {
  const chain: PortageOf[] = [];
  for (let d: ImageDef | undefined = def; d; d = d.parent ? images.get(d.parent) : undefined)
    chain.unshift({ id: d.id, portage: d.portage });
  return chain;
}

function buildScript(def: ImageDef, key: string, builder: BuilderDef): string {
  return [
    '#!/bin/sh',
    `# generated by imgsdk: builder-side entry of ${def.id}`,
    'set -eu',
    `IMGSDK_IMAGE='${def.id}'`,
    `IMGSDK_KEY='${key}'`,
    `IMGSDK_BUILDER='${builder.id}'`,
    'export IMGSDK_IMAGE IMGSDK_KEY IMGSDK_BUILDER',
    `exec /bin/sh /imgsdk/scripts/${builder.kind === 'gentoo' ? 'portage' : 'debian'}.sh /imgsdk/in`,
    '',
  ].join('\n');
}

/**
 * Validates the app, then writes its assembly to `outdir`. On a problem nothing
 * is written and the previous assembly stays as it was. A re-synth removes the
 * files the previous manifest listed that are gone now, and nothing else.
 * @example await synth(app(web), { outdir: 'imgsdk.out' })
 */
export async function synth(input: AppInput, opts: SynthOptions = {}): Promise<Assembly> {
  const asm = assemble(input, opts);
  await writeAssembly(asm, resolve(opts.outdir ?? outDirOf()));
  return asm;
}

/**
 * Writes an assembly: changed files via temp+rename, stale ones removed, manifest
 * last. Synchronous file calls on purpose: an assembly is thousands of small files
 * written one after the other, and a thread-pool round trip per call cost more
 * than the writes themselves (1000 images: 1.4 s async, 0.3 s sync).
 */
export async function writeAssembly(asm: Assembly, outdir: string): Promise<void> {
  const previous = previousFiles(outdir);
  const listed = [...asm.files.keys()];
  const made = new Set<string>();
  const ensureDir = (d: string): void => {
    if (!made.has(d)) (mkdirSync(d, { recursive: true }), made.add(d));
  };
  ensureDir(outdir);
  for (const [rel, content] of asm.files) {
    const dest = join(outdir, rel);
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    const st = statSync(dest, { throwIfNoEntry: false });
    // A body under files/<sha256> is named by its hash, and the pipeline checks each one it
    // reads against it: one of the right size is not read back (a tree is thousands of them).
    if (st?.isFile() && st.size === bytes.length && (CONTENT_ADDRESSED.test(rel) || readFileSync(dest).equals(bytes))) continue;
    ensureDir(dirname(dest));
    writeAtomicSync(dest, bytes, rel.endsWith('.sh') ? 0o755 : 0o644);
  }
  const now = new Set(listed);
  for (const rel of previous) {
    if (now.has(rel)) continue;
    rmSync(join(outdir, rel), { force: true });
    removeEmptyParents(outdir, dirname(rel));
  }
  const manifest = { ...asm.manifest, files: listed };
  writeAtomicSync(
    join(outdir, 'manifest.json'),
    prettyJson(manifest, ['version', 'sdkVersion', 'epoch', 'sources', 'images', 'builders', 'order', 'files']),
  );
}

const CONTENT_ADDRESSED = /\/files\/[0-9a-f]{64}$/;

function previousFiles(outdir: string): string[] {
  try {
    const m = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as { files?: unknown };
    return Array.isArray(m.files) ? m.files.filter((f): f is string => typeof f === 'string' && !f.split('/').includes('..')) : [];
  } catch {
    return [];
  }
}

function removeEmptyParents(root: string, rel: string): void {
  for (let d = rel; d && d !== '.'; d = dirname(d)) {
    try {
      rmdirSync(join(root, d));
    } catch {
      return;
    }
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
