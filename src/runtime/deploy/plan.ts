/**
 * The plan of a deploy, per image: cached, phase 2 again (rootfs pipeline, layer,
 * config, load from the cached phase-1 rootfs) or phase 1 again (a builder
 * container), with one reason a person reads. Pure: what the state directory and
 * the engine hold comes in as data, so every branch is tested without an engine,
 * and `deploy` and `diff` say the same thing.
 */
import type { BuilderKind, FileDef, ImageDef, ManifestImage } from '../../contract/assembly';
import { canonicalJson } from '../../contract/json';
import { sha256 } from '../../util/hash';
import { shortKey } from '../../contract/names';

/** What a deploy does for one image. */
export type Action = 'cached' | 'phase2' | 'phase1';

export interface Plan {
  readonly action: Action;
  /** One line: why it is cached or rebuilt (`files changed (/etc/nginx/nginx.conf)`). */
  readonly reason: string;
}

/** What a deploy recorded of an image it built or found cached: its keys and their inputs. */
export interface DeployedRecord {
  readonly id: string;
  readonly key: string;
  readonly parent: string | null;
  readonly builder: string;
  readonly inputs: Readonly<Record<string, string>> | null;
  /** Absent in records written by older versions. */
  readonly phase1Key?: string;
  /** `.file()` paths → digest of their definition (content, mode, owner, target), to name the ones that changed. */
  readonly files?: Readonly<Record<string, string>>;
  /** Per platform, for an image that names platforms: that build's keys and inputs. */
  readonly platforms?: Readonly<
    Record<string, { readonly key: string; readonly inputs: Readonly<Record<string, string>>; readonly phase1Key?: string }>
  >;
}

/** What the engine has under `<id>:<key12>`. */
export interface EngineImage {
  readonly id: string;
  /** Its `org.imgsdk.key` label. */
  readonly key: string | null;
}

/** Everything the plan of one image is decided from. */
export interface PlanFacts {
  readonly id: string;
  /** The image in the assembly: its key and phase-1 key and their inputs. */
  readonly image: ManifestImage;
  /** The image's `.file()`s now, to name the ones that changed. @default unnamed */
  readonly files?: readonly FileDef[];
  /** Its builder's kind, to name its inputs in that builder's words. @default neutral words */
  readonly kind?: BuilderKind;
  /** False for an image that installs nothing and runs no hook: its rootfs is empty, made without a container. */
  readonly needsBuilder: boolean;
  /** Image id of the intact build record at the image key, or null. */
  readonly built: string | null;
  /** Whether an intact rootfs is cached at the phase-1 key. */
  readonly rootfs: boolean;
  /** What the last deploy of this image recorded, or null. */
  readonly deployed: DeployedRecord | null;
  /**
   * What the engine has under `<id>:<key12>` (null: nothing). Undefined when the
   * engine is not asked (`load: false`): the state directory alone decides.
   */
  readonly engine?: EngineImage | null;
  /** `phase2`: redo phase 2 though cached (deploy -f); `phase1`: redo both (-F). */
  readonly force?: 'phase2' | 'phase1' | null;
}

/**
 * Decides what a deploy does for one image.
 * @example planImage({ id, image: m, needsBuilder: true, built: null, rootfs: true, deployed, engine: null })
 *   // { action: 'phase2', reason: 'files changed (/etc/nginx/nginx.conf)' }
 */
export function planImage(f: PlanFacts): Plan {
  const key12 = shortKey(f.image.key);
  const asked = f.engine !== undefined;
  const inEngine = !asked || (!!f.engine && f.engine.key === f.image.key && f.engine.id === f.built);
  if (f.built && inEngine && !f.force) {
    return {
      action: 'cached',
      reason: asked ? 'an image with this key is in the engine' : 'a build with this key is in the state directory',
    };
  }
  const action: Action = f.force === 'phase1' || (f.needsBuilder && !f.rootfs) ? 'phase1' : 'phase2';
  let reason: string;
  if (f.force) reason = f.force === 'phase1' ? 'forced (phase 1 and 2)' : 'forced (phase 2)';
  else if (f.built)
    reason = f.engine ? 'the image in the engine does not match the build record' : `no image ${f.id}:${key12} in the engine`;
  else if (f.deployed && f.deployed.key !== f.image.key) reason = changedInputs(f.image, f.deployed, f.files, f.kind).join('; ');
  else reason = 'no build record in the state directory';
  return { action, reason };
}

/**
 * The image as its build for `platform` sees it: that platform's key, phase-1 key
 * and inputs (the image itself for null, or an image that names no platforms).
 */
export function platformView(m: ManifestImage, platform: string | null): ManifestImage {
  const p = platform ? m.platforms?.[platform] : undefined;
  if (!p) return m;
  return { ...m, key: p.key, inputs: p.inputs, ...(p.phase1Key ? { phase1Key: p.phase1Key, phase1Inputs: p.phase1Inputs } : {}) };
}

/** A deployed record as the build for `platform` recorded it (its first platform's build when the record has no platforms). */
export function deployedOn(rec: DeployedRecord | null, platform: string | null): DeployedRecord | null {
  const p = platform && rec?.platforms?.[platform];
  if (!rec || !p) return rec;
  return { ...rec, key: p.key, inputs: p.inputs, ...(p.phase1Key ? { phase1Key: p.phase1Key } : {}) };
}

/** An image that installs nothing and runs no hook gets its (empty) rootfs without a container. */
export function needsBuilder(def: ImageDef): boolean {
  const h = def.hooks;
  return (
    def.packages.length > 0 ||
    h.configureBuilder.length > 0 ||
    h.configureRootfs.length > 0 ||
    h.finishRootfs.length > 0 ||
    def.portage.downloads.length > 0
  );
}

/** Names of the key's inputs, as a person reads them. */
const LABELS: Readonly<Record<string, string>> = {
  platform: 'platform',
  packages: 'packages',
  portage: 'builder options',
  files: 'files',
  hooks: 'hooks',
  config: 'config (entrypoint, env, user, labels, …)',
  rootfs: 'rootfs options (keep, purge, closure, accounts, needs)',
  checks: 'tests or debug',
  script: 'build-script version',
  epoch: 'SOURCE_DATE_EPOCH',
  lock: 'locked package versions (imgsdk.lock)',
};

/** The `portage` input in each builder kind's words: on a Debian image only `.locale()` and `.record()` reach it. */
const PORTAGE_LABELS: Readonly<Record<BuilderKind, string>> = {
  gentoo: 'flags (USE, keywords, masks, make.conf, overlays)',
  debian: 'locales or records (.locale(), .record())',
};

// Own inputs first, then what comes from above.
const ORDER = ['packages', 'lock', 'portage', 'files', 'hooks', 'config', 'rootfs', 'checks', 'script', 'builder', 'parent', 'copies'];

/**
 * Which inputs of an image's key changed since `base`, one phrase each, own inputs
 * first (`packages`, `files changed (/etc/app.conf)`, `parent acme/web changed`),
 * in the words of the image's builder `kind` when it is given.
 */
export function changedInputs(m: ManifestImage, base: DeployedRecord, files?: readonly FileDef[], kind?: BuilderKind): string[] {
  const now = m.inputs;
  const was = base.inputs;
  if (!now || !was) return ['key changed (inputs not recorded by the older version that wrote the baseline)'];
  const reasons: string[] = [];
  for (const k of [...new Set([...Object.keys(now), ...Object.keys(was)])].sort(order)) {
    if (now[k] === was[k]) continue;
    if (k === 'parent') {
      reasons.push(
        m.parent !== base.parent
          ? `parent changed from ${base.parent ?? 'scratch'} to ${m.parent ?? 'scratch'}`
          : `parent ${m.parent} changed`,
      );
    } else if (k === 'builder') {
      reasons.push(
        m.builder !== base.builder ? `builder changed from ${base.builder} to ${m.builder}` : `builder ${m.builder} changed (builder key)`,
      );
    } else if (k === 'copies') {
      reasons.push(`copied image changed (${m.dependsOn.filter((d) => d !== m.parent).join(', ') || 'copies removed'})`);
    } else if (k === 'files' && files && base.files) {
      const paths = changedFiles(fileDigests(files), base.files);
      reasons.push(paths.length ? `files changed (${paths.join(', ')})` : 'files');
    } else if (k.startsWith('dir:')) {
      reasons.push(`directory ${k.slice(4)} ${!(k in was) ? 'added' : !(k in now) ? 'removed' : 'changed'}`);
    } else if (k === 'portage' && kind) reasons.push(PORTAGE_LABELS[kind]);
    else reasons.push(LABELS[k] ?? k);
  }
  return reasons.length ? reasons : ['key changed'];
}

/** `.file()` path → digest of its whole definition, as a deployed record keeps them. */
export function fileDigests(files: readonly FileDef[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of files) out[f.path] = sha256(canonicalJson(f)).slice(0, 16);
  return out;
}

function changedFiles(now: Readonly<Record<string, string>>, was: Readonly<Record<string, string>>): string[] {
  const paths = [...new Set([...Object.keys(now), ...Object.keys(was)])].filter((p) => now[p] !== was[p]).sort();
  return paths.map((p) => (p.startsWith('/') ? p : `/${p}`) + (!(p in now) ? ' removed' : !(p in was) ? ' added' : ''));
}

function order(a: string, b: string): number {
  const i = (k: string) => (k.startsWith('dir:') ? ORDER.indexOf('files') : ORDER.includes(k) ? ORDER.indexOf(k) : ORDER.length);
  return i(a) - i(b) || (a < b ? -1 : a > b ? 1 : 0);
}
