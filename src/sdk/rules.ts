/**
 * The rules an image must keep against the others of its app, one small function
 * each, run by resolveApp (resolve.ts) over every image in this order. A rule
 * reads the inheritance view and reports problems (fatal) or warnings at the call
 * that caused them.
 */
import { isRootUser, resolveUser, runsSomething } from '../contract/assembly';
import type { Builder } from './builder';
import { checkDebianPackage } from './debian/package';
import type { Image } from './image';
import type { Inheritance } from './inheritance';
import { Atom } from './portage/atom';
import type { Site } from './site';

/** What a rule sees: the app's inheritance, and where it reports. */
export interface RuleContext {
  readonly view: Inheritance;
  /** A problem of the image being checked, at `site`. */
  problem(site: Site | undefined, message: string): void;
  /** A warning (legal, likely not what was meant) of the image being checked. */
  warning(site: Site | undefined, message: string): void;
  /** Records the image's builder; two builders with one id and different options are a problem. */
  noteBuilder(b: Builder): void;
}

/** One rule: checks `img` and reports through `r`. */
export type Rule = (img: Image, r: RuleContext) => void;

/** Methods that only a Portage (Gentoo) builder understands. */
export const PORTAGE_ONLY = new Set([
  'use',
  'keywords',
  'mask',
  'unmask',
  'unmaskUse',
  'makeConf',
  'packageEnv',
  'overlay',
  'provide',
  'unprovide',
  'patch',
  'uninstall',
  'noBinpkgCache',
  'runtimeLibs',
]);

/** Users every image has. */
export const KNOWN_USERS: Readonly<Record<string, readonly [number, number]>> = { root: [0, 0], nobody: [65534, 65534] };

/** The parent named by `.from('id')` is an image of the app. */
export const knownParent: Rule = (img, r) => {
  if (r.view.parentOf(img) === undefined)
    r.problem(img.state.sites.from, `unknown parent "${String(img.state.parent)}": no image with that id in the app`);
};

/** Each `.copy({ from })` names an image of the app. */
export const knownCopySources: Rule = (img, r) => {
  for (const c of img.state.copies) {
    const from = typeof c.from === 'string' ? c.from : c.from.id;
    if (!r.view.byId.has(from)) r.problem(c.site, `copy from unknown image "${from}"`);
  }
};

/** An image has a builder, its own or inherited; the builder is recorded (one definition per id). */
export const hasBuilder: Rule = (img, r) => {
  const b = r.view.builderOf(img);
  if (b) r.noteBuilder(b);
  else if (r.view.endsAtScratch(img)) r.problem(img.state.declared, 'no builder: set .builder(...) or inherit one through .from(...)');
};

/** A child's builder is of its parent's builder's kind and libc. */
export const builderMatchesParent: Rule = (img, r) => {
  const s = img.state;
  const parent = r.view.parentOf(img);
  const b = r.view.builderOf(img);
  const pb = parent ? r.view.builderOf(parent) : null;
  if (b && pb && (b.kind !== pb.kind || b.libc !== pb.libc)) {
    r.problem(
      s.sites.builder ?? s.sites.from,
      `builder ${b.id} (${b.kind}, ${b.libc}) does not match the parent ${parent!.id}'s builder ${pb.id} (${pb.kind}, ${pb.libc})`,
    );
  }
};

/** The builder builds for every platform the image names. */
export const builderBuildsPlatforms: Rule = (img, r) => {
  const s = img.state;
  const platforms = r.view.platformsOf(img);
  const b = r.view.builderOf(img);
  if (!platforms || !b) return;
  const missing = platforms.filter((p) => !b.platforms?.includes(p));
  if (!missing.length) return;
  r.problem(
    s.sites.platforms ?? s.sites.builder ?? s.sites.from ?? s.declared,
    b.platforms
      ? `builder ${b.id} does not build for ${missing.join(', ')} (its platforms: ${b.platforms.join(', ')}); add ${missing.length === 1 ? 'it' : 'them'} to the builder's platforms`
      : `builder ${b.id} names no platforms, so it cannot build for ${missing.join(', ')}; give it platforms: [${platforms.map((p) => `'${p}'`).join(', ')}]`,
  );
};

/** The parent is built for every platform of the image (both name none, or the parent names more). */
export const platformsMatchParent: Rule = (img, r) => {
  const parent = r.view.parentOf(img);
  if (!parent) return;
  const platforms = r.view.platformsOf(img);
  const pp = r.view.platformsOf(parent);
  const missing = missingPlatforms(platforms, pp);
  if (missing === null || missing.length) {
    r.problem(
      img.state.sites.platforms ?? img.state.sites.from,
      `is built for ${describe(platforms)}, but its parent ${parent.id} is built for ${describe(pp)}${missing?.length ? `: the parent has no ${missing.join(', ')}` : ''}`,
    );
  }
};

/** An image copied from is built for every platform of the image. */
export const copiesMatchPlatforms: Rule = (img, r) => {
  const platforms = r.view.platformsOf(img);
  for (const c of img.state.copies) {
    const from = r.view.byId.get(typeof c.from === 'string' ? c.from : c.from.id);
    if (!from) continue;
    const fp = r.view.platformsOf(from);
    const missing = missingPlatforms(platforms, fp);
    if (missing === null || missing.length) {
      r.problem(
        c.site,
        `.copy() across platforms: this image is built for ${describe(platforms)}, but ${from.id} for ${describe(fp)}${missing?.length ? ` (no ${missing.join(', ')})` : ''}`,
      );
    }
  }
};

/** A Debian image uses no Portage-only method and no `.download()` (nothing on the Debian path would check it). */
export const debianRefusesPortage: Rule = (img, r) => {
  const b = r.view.builderOf(img);
  if (b?.kind !== 'debian') return;
  const s = img.state;
  for (const c of s.portageCalls)
    if (PORTAGE_ONLY.has(c.method)) r.problem(c.site, `.${c.method}() is Portage-only, but ${b.id} is a Debian builder`);
  for (const dl of s.portage.downloads) {
    r.problem(
      s.sites.download,
      `.download("${dl.url}") is not supported on Debian images (${b.id} is a Debian builder): add the file with .file(path, { src }), or fetch and check it in a .configureRootfs() hook`,
    );
  }
};

/** Each package is a Debian package name or a Portage atom, as the builder's kind takes it. */
export const packageSpecsFitBuilder: Rule = (img, r) => {
  const b = r.view.builderOf(img);
  for (const p of img.state.packages) {
    const m = b?.kind === 'debian' ? checkDebianPackage(p.spec) : b?.kind === 'gentoo' ? Atom.check(p.spec) : null;
    if (m) r.problem(p.site, m);
  }
};

/** Gentoo: a `.keywords()` for a version the packages do not select warns (it pins nothing). */
export const keywordsPin: Rule = (img, r) => {
  if (r.view.builderOf(img)?.kind !== 'gentoo') return;
  const s = img.state;
  // Each .keywords() call adds one entry: the n-th call's site is the n-th entry's.
  const sites = s.portageCalls.filter((c) => c.method === 'keywords').map((c) => c.site);
  s.portage.keywords.forEach((k, i) => {
    const m = keywordsDoNotPin(
      k.atom,
      s.packages.map((p) => p.spec),
    );
    if (m) r.warning(sites[i], m);
  });
};

/** An image that runs something as root (by name or by uid 0), or names root in `.user()`, says `.allowRoot()`. */
export const rootIsMeant: Rule = (img, r) => {
  const s = img.state;
  if (s.allowRoot) return;
  const config = r.view.shippedConfigOf(img);
  const user = config.user;
  // Root by name or by what the name resolves to (an account declared with uid 0).
  const isRoot = isRootUser(user) || resolveUser(user, r.view.accountsOf(img))?.uid === 0;
  if (!isRoot) return;
  if (runsSomething(config))
    r.problem(s.sites.user ?? s.sites.entrypoint ?? s.sites.cmd ?? s.declared, `runs as root: set .user(...) or call .allowRoot()`);
  // Naming root is a choice to run as root, whether or not this image runs anything yet.
  else if (s.sites.user && user !== null) r.problem(s.sites.user, `.user('${user}') runs as root: call .allowRoot() to mean it`);
};

/** A `.user()` name is declared by `.account()` here or in a parent, or may come from a package's install. */
export const userHasAccount: Rule = (img, r) => {
  const s = img.state;
  const user = r.view.shippedConfigOf(img).user;
  if (!user || /^\d+(:\d+)?$/.test(user) || KNOWN_USERS[user] || r.view.accountsOf(img).some((a) => a.user === user)) return;
  if (!r.view.installsPackages(img)) r.problem(s.sites.user, `user "${user}" ${noAccount(img)}`);
};

/** Every rule, in the order their problems are reported. File and directory owners are checked where their definitions are made (resolve.ts). */
export const RULES: readonly Rule[] = [
  knownParent,
  knownCopySources,
  hasBuilder,
  builderMatchesParent,
  builderBuildsPlatforms,
  platformsMatchParent,
  copiesMatchPlatforms,
  debianRefusesPortage,
  packageSpecsFitBuilder,
  keywordsPin,
  rootIsMeant,
  userHasAccount,
];

/** The end of the message for a name no account declares and no install could create. */
export function noAccount(img: Image): string {
  return `has no .account() in this image or its parents, and ${img.id} installs no packages whose install could create it`;
}

/** Platforms of `mine` that `theirs` lacks; null when `theirs` names some and `mine` none (the host's). */
function missingPlatforms(mine: readonly string[] | null, theirs: readonly string[] | null): string[] | null {
  if (mine === null) return theirs === null ? [] : null;
  return theirs === null ? [...mine] : mine.filter((p) => !theirs.includes(p));
}

function describe(ps: readonly string[] | null): string {
  return ps ? ps.join(', ') : "the host's platform only (it names none)";
}

/**
 * Keywords make a version visible; they do not make emerge choose it. emerge
 * installs the best visible version of what `.packages()` asks for, so keywords
 * for `=cat/pkg-1.2` (or `~`, `<`, `<=`) do nothing while the image asks for
 * plain `cat/pkg` and a newer version is visible (Kubler's nmap 7.60 example).
 * The message says how to pin, or null when a package of the image selects a
 * version itself (or the atom is invalid, which is reported elsewhere).
 */
function keywordsDoNotPin(atom: string, packages: readonly string[]): string | null {
  if (Atom.check(atom) !== null) return null;
  const k = Atom.parse(atom);
  // `>`/`>=` ranges are open upwards: the newest visible version is in them.
  if (k.version === null || k.op === null || k.op === '>' || k.op === '>=') return null;
  const selecting = packages
    .filter((p) => Atom.check(p) === null)
    .map((p) => Atom.parse(p))
    .filter((p) => p.blocker === null && p.cpn === k.cpn && p.version !== null);
  if (selecting.some((p) => !pinnedOutside(k, p))) return null;
  const asked = selecting.length
    ? `the image's packages ask for ${selecting.map(String).join(', ')}`
    : `the image's packages do not name a version of ${k.cpn}`;
  return (
    `.keywords("${atom}") does not pin ${k.cpn}: ${asked}, and emerge installs the newest visible version, keyworded or not. ` +
    `To pin it, put "${atom}" in .packages()`
  );
}

/** Whether `p` pins exactly one version (`=`, `~`) that keywords atom `k` (`=`, `~`) leaves out; false when it cannot tell. */
function pinnedOutside(k: Atom, p: Atom): boolean {
  const exact = (a: Atom) => (a.op === '=' && !a.wildcard) || a.op === '~';
  if (!exact(p) || !(k.op === '=' || k.op === '~')) return false;
  if (k.wildcard) return !p.version!.startsWith(k.version!);
  if (p.version !== k.version) return true;
  return k.op === '=' && p.op === '=' && (p.revision ?? 0) !== (k.revision ?? 0);
}
