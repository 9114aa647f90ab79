import { createHash } from 'node:crypto';
import { BUILD_SCRIPT_VERSION, BUILDER_VERSION, GENTOO_SETUP_VERSION, type BuilderDef, type ImageDef } from '../assembly';
import { canonicalJson } from '../json';
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
    rootfs: { keep: rest.keep, purge: rest.purge, closure: rest.closure, copies: rest.copies, accounts: rest.accounts, needs: rest.needs, forbid: rest.forbid, allowRoot: rest.allowRoot },
    checks: { tests: rest.tests, debug: rest.debug },
  };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parts)) out[k] = sha256(canonicalJson(v));
  out.builder = keys.builder;
  out.parent = keys.parent ?? 'scratch';
  out.copies = sha256(canonicalJson(keys.copies));
  out.script = BUILD_SCRIPT_VERSION;
  // The time of every layer entry and of the config; absent means 0, so keys made before it counted stay.
  if (keys.epoch) out.epoch = String(keys.epoch);
  // The image's own locked packages (imgsdk.lock); the ancestors' come in through the parent key.
  // The platform, when it is not the one every key meant before platforms existed (its builder's key differs too).
  if (keys.platform && keys.platform !== DEFAULT_PLATFORM) out.platform = keys.platform;
  out.lock = sha256(canonicalJson((keys.lock ?? []).map((p) => ({ name: p.name, version: p.version, arch: p.arch, sha256: p.sha256 }))));
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
 * made (for Gentoo builders also the version of their set-up).
 */
export function builderKey(def: BuilderDef): string {
  if (def.kind === 'gentoo') return sha256(canonicalJson({ def, version: BUILDER_VERSION, setup: GENTOO_SETUP_VERSION }));
  return sha256(canonicalJson({ def, version: BUILDER_VERSION }));
}

/** What of a locked package enters the key (imgsdk.lock's suite does not: a copy between suites rebuilds nothing). */
export interface LockedKeyPart {
  readonly name: string;
  readonly version: string;
  readonly arch: string;
  readonly sha256: string;
}

export function sha256(s: string | Buffer): string {
  return createHash('sha256').update(s).digest('hex');
}
