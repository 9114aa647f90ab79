import {
  BUILD_SCRIPT_VERSION,
  BUILDER_VERSION,
  DEBIAN_BOOTSTRAP_VERSION,
  GENTOO_SETUP_VERSION,
  type BuilderDef,
  type BuilderKind,
  type ImageDef,
  phase1View,
} from './assembly';
import { sha256 } from '../util/hash';
import { canonicalJson } from './json';
import { DEFAULT_PLATFORM } from './platform';

/**
 * The inputs that go into an image's key, by name, so `imgsdk diff` can say which
 * one changed. File contents enter through their sha256 in the definition.
 */
export function keyInputs(def: ImageDef, keys: KeyParts): Record<string, string> {
  const { id: _id, tags: _tags, ...rest } = def;
  const parts: Record<string, unknown> = {
    packages: rest.packages,
    portage: rest.portage,
    files: rest.files,
    hooks: rest.hooks,
    config: rest.config,
    rootfs: {
      keep: rest.keep,
      purge: rest.purge,
      closure: rest.closure,
      copies: rest.copies,
      accounts: rest.accounts,
      needs: rest.needs,
      forbid: rest.forbid,
      allowRoot: rest.allowRoot,
      ...(rest.rules?.length ? { rules: rest.rules } : {}),
    },
    checks: { tests: rest.tests, debug: rest.debug },
  };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parts)) out[k] = sha256(canonicalJson(v));
  // One input per directory source, so `imgsdk diff` names the one that changed; none without them.
  for (const d of rest.dirs ?? []) out[`dir:${d.dest}`] = sha256(canonicalJson(d.entries));
  out.builder = keys.builder;
  out.parent = keys.parent ?? 'scratch';
  out.copies = sha256(canonicalJson(keys.copies));
  out.script = BUILD_SCRIPT_VERSION;
  // The time of every layer entry and of the config; absent means 0, so keys made before it counted stay.
  if (keys.epoch) out.epoch = String(keys.epoch);
  // The image's own locked packages (imgsdk.lock); the ancestors' come in through the parent key.
  // The platform, when it is not the one every key meant before platforms existed (its builder's key differs too).
  if (keys.platform && keys.platform !== DEFAULT_PLATFORM) out.platform = keys.platform;
  // Gentoo entries add their USE flags and repository: the same version built with other flags is another package.
  out.lock = sha256(
    canonicalJson(
      (keys.lock ?? []).map((p) => ({
        name: p.name,
        version: p.version,
        arch: p.arch,
        sha256: p.sha256,
        ...(p.use ? { use: p.use, repository: p.suite } : {}),
      })),
    ),
  );
  return out;
}

/** What an image's key takes from outside its own definition. */
export interface KeyParts {
  readonly builder: string;
  readonly parent: string | null;
  readonly copies: Readonly<Record<string, string>>;
  /** SOURCE_DATE_EPOCH. @default 0 */
  readonly epoch?: number;
  /** The image's own locked packages (imgsdk.lock). @default [] */
  readonly lock?: readonly LockedKeyPart[];
  /** The platform this key is for, when the image names platforms. @default the host's (no input) */
  readonly platform?: string;
}

/**
 * key(image) = sha256 over its definition's parts, the builder's key, the parent's
 * key, the keys of images it copies from, its locked packages, SOURCE_DATE_EPOCH and the
 * build-script version. Tags are not part of it: retagging does not rebuild.
 * @example imageKey(def, { builder: bk, parent: pk, copies: {} })
 */
export function imageKey(def: ImageDef, keys: KeyParts): string {
  return sha256(canonicalJson(keyInputs(def, keys)));
}

/**
 * key(builder) = sha256 over its definition and the version of how builders are
 * made (for Gentoo builders also the version of their set-up, for bootstrapped
 * Debian builders the version of their layout). The id is a name, not an input:
 * identical definitions under two ids (an app's and a library's `bookworm`) are one
 * builder, bootstrapped once, and build images with equal keys.
 * @example builderKey(bookworm.def) === builderKey({ ...bookworm.def, id: 'lib/bookworm' }) // true
 */
export function builderKey(def: BuilderDef): string {
  const { id: _id, ...what } = def;
  if (def.kind === 'gentoo') return sha256(canonicalJson({ def: what, version: BUILDER_VERSION, setup: GENTOO_SETUP_VERSION }));
  if (def.debian?.source.kind === 'mmdebstrap')
    return sha256(canonicalJson({ def: what, version: BUILDER_VERSION, bootstrap: DEBIAN_BOOTSTRAP_VERSION }));
  return sha256(canonicalJson({ def: what, version: BUILDER_VERSION }));
}

/** What phase 1 reads from outside an image's own definition. */
export interface Phase1KeyParts {
  /** The builder's key (its definition: suite, mirrors, sources, stage3, …). */
  readonly builder: string;
  readonly kind: BuilderKind;
  /** The parent's phase-1 key: its packages are the ones phase 1 treats as there already. */
  readonly parent: string | null;
  /** Every locked version phase 1 installs (apt/lock.tsv: the ancestors' and the image's own). @default [] */
  readonly pins?: readonly LockedKeyPart[];
}

/**
 * The named inputs of an image's phase-1 key: exactly what the builder container
 * gets (the phase-1 view, the apt configuration rendered from packages, builder and
 * pins, the parent's packages through the parent's phase-1 key, the scripts' version).
 * Files, config, purge/keep, accounts (Debian), tests, tags and SOURCE_DATE_EPOCH are
 * not read by phase 1 and are not in it.
 */
export function phase1Inputs(def: ImageDef, parts: Phase1KeyParts): Record<string, string> {
  const { id: _id, ...view } = phase1View(def, parts.kind);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(view)) out[k] = sha256(canonicalJson(v));
  out.builder = parts.builder;
  out.parent = parts.parent ?? 'scratch';
  out.lock = sha256(canonicalJson((parts.pins ?? []).map((p) => ({ name: p.name, version: p.version, arch: p.arch, sha256: p.sha256 }))));
  out.script = BUILD_SCRIPT_VERSION;
  return out;
}

/**
 * key(phase 1) = sha256 over {@link phase1Inputs}: the key of the rootfs tar and
 * package list phase 1 leaves, so images whose phase-1 inputs did not change reuse
 * it and rerun only the rootfs pipeline and phase 2.
 * @example phase1Key(def, { builder: bk, kind: 'debian', parent: null })
 */
export function phase1Key(def: ImageDef, parts: Phase1KeyParts): string {
  return sha256(canonicalJson(phase1Inputs(def, parts)));
}

/** What of a locked package enters the key (imgsdk.lock's suite does not: a copy between suites rebuilds nothing). */
export interface LockedKeyPart {
  readonly name: string;
  readonly version: string;
  readonly arch: string;
  readonly sha256: string;
  /** Gentoo: the USE flags; with them the repository (`suite`) enters the key too. */
  readonly use?: readonly string[];
  readonly suite?: string;
}
