import { INIT_PACKAGE, type AccountDef, type BuilderDef, type DirDef, type FileDef, type ImageDef } from '../contract/assembly';
import type { Problem } from '../contract/errors';
import { canonicalJson } from '../contract/json';
import { sha256 as sha256Of } from '../util/hash';
import type { App } from './app';
import type { Builder } from './builder';
import { filesOf, type Image } from './image';
import { Inheritance } from './inheritance';
import { KNOWN_USERS, noAccount, RULES, type RuleContext } from './rules';
import type { Site } from './site';

/** An app turned into data, with every problem found in it. */
export interface Resolved {
  readonly images: ReadonlyMap<string, ImageDef>;
  readonly builders: ReadonlyMap<string, BuilderDef>;
  /** Bytes of added files and patches, by sha256. */
  readonly blobs: ReadonlyMap<string, Buffer>;
  readonly problems: readonly Problem[];
  /** What is legal but likely not what was meant (reported, never fatal). */
  readonly warnings: readonly Problem[];
  /** Where each image was declared, for problems found later (graph cycles). */
  readonly sites: ReadonlyMap<string, { readonly declared: Site; readonly methods: Readonly<Record<string, Site>> }>;
}

/** A user or group name as adduser takes it (Debian's NAME_REGEX, lower case; also a uid). */
const ACCOUNT_NAME = /^([a-z_][-a-z0-9_]*\$?|\d+)$/;

/**
 * Checks the whole app, every image against the others (rules.ts, over one
 * inheritance view), and produces the definitions.
 * @example const r = resolveApp(app(web)); r.problems // []
 */
export function resolveApp(app: App): Resolved {
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  const add = (id: string, site: Site | undefined, message: string) => problems.push({ id, site: site?.toString() || undefined, message });
  const all = app.images();
  const view = new Inheritance(all);
  const builders = new Map<string, BuilderDef>();
  const builderValues = new Map<string, Builder>();
  const noteBuilder = (b: Builder) => {
    const prev = builderValues.get(b.id);
    if (!prev) {
      builderValues.set(b.id, b);
      builders.set(b.id, b.def);
      for (const p of b.problems) add(b.id, p.site, p.message);
    } else if (prev !== b && canonicalJson(prev.def) !== canonicalJson(b.def)) {
      add(b.id, b.site, `builder defined twice with different options (first at ${prev.site})`);
    }
  };
  const blobs = new Map<string, Buffer>();
  const images = new Map<string, ImageDef>();
  const sites = new Map<string, { declared: Site; methods: Readonly<Record<string, Site>> }>();
  for (const img of view.byId.values()) {
    const s = img.state;
    for (const p of s.problems) add(s.id, p.site, p.message);
    for (const w of s.warnings) warnings.push({ id: s.id, site: w.site.toString() || undefined, message: w.message });
    sites.set(s.id, { declared: s.declared, methods: s.sites });
    const r: RuleContext = {
      view,
      noteBuilder,
      problem: (site, message) => add(s.id, site, message),
      warning: (site, message) => warnings.push({ id: s.id, site: site?.toString() || undefined, message }),
    };
    for (const rule of RULES) rule(img, r);
    images.set(s.id, definitionOf(img, view, blobs, r));
  }
  // Two values with one id: an error only when they define different images.
  for (const img of all) {
    const first = view.byId.get(img.id)!;
    if (first !== img && canonicalJson(ownParts(first, view)) !== canonicalJson(ownParts(img, view))) {
      add(img.id, img.state.declared, `defined twice with different definitions (also at ${first.state.declared})`);
    }
  }
  applyPolicies(app, images, (id, message) => add(id, sites.get(id)!.declared, message));
  return { images, builders, blobs, problems, warnings, sites };
}

/** Policies see every definition; their forbidden paths and rules travel to the runtime. */
function applyPolicies(app: App, images: Map<string, ImageDef>, problem: (id: string, message: string) => void): void {
  const ctx = { images };
  for (const policy of app.policies) {
    for (const [id, def] of images) {
      for (const m of policy.check(def, ctx)) problem(id, `policy ${policy.name}: ${m}`);
      if (policy.forbid?.length) images.set(id, { ...images.get(id)!, forbid: [...new Set([...def.forbid, ...policy.forbid])].sort() });
      if (policy.rules?.length) images.set(id, { ...images.get(id)!, rules: [...new Set([...(def.rules ?? []), ...policy.rules])].sort() });
    }
  }
}

/** The definition of one image: what it inherits resolved, its files' and directories' owners checked, their bodies put in `blobs`. */
function definitionOf(img: Image, view: Inheritance, blobs: Map<string, Buffer>, r: RuleContext): ImageDef {
  const s = img.state;
  const parent = view.parentOf(img);
  const b = view.builderOf(img);
  const platforms = view.platformsOf(img);
  for (const [sha, data] of Object.entries(s.patchData)) blobs.set(sha, data);
  const dirs = dirDefs(img, view, blobs, r);
  return {
    id: s.id,
    parent: parent ? parent.id : typeof s.parent === 'string' ? s.parent : null,
    builder: b?.id ?? '',
    packages: withInitPackage(
      s.packages.map((p) => p.spec),
      b,
      view.configOf(img).init && !(parent && view.configOf(parent).init),
    ),
    portage: s.portage,
    keep: s.keep,
    purge: s.purge,
    closure: s.closure,
    copies: s.copies.map((c) => ({ from: typeof c.from === 'string' ? c.from : c.from.id, paths: c.paths })),
    files: fileDefs(img, view, blobs, r).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    // Absent when empty, so images without directories keep the definitions (and keys) they had.
    ...(dirs.length ? { dirs } : {}),
    accounts: s.accounts,
    needs: s.needs,
    hooks: s.hooks,
    config: view.shippedConfigOf(img),
    allowRoot: s.allowRoot,
    tags: s.tags,
    tests: s.tests,
    ...(s.ready ? { ready: s.ready } : {}),
    debug: s.debug,
    forbid: [],
    ...(platforms ? { platforms } : {}),
    ...(s.vex.length ? { vex: s.vex } : {}),
  };
}

/**
 * An owner's uid and gid; null when no account declares it. A name left null may
 * still be left to the build (`later`): one a package's install may create, when
 * the image or a parent installs packages (its ids are known only then).
 */
function ownerOf(
  owner: string,
  img: Image,
  view: Inheritance,
  what: string,
  site: Site | undefined,
  r: RuleContext,
): { ids: [number, number] | null; later: boolean } {
  const ids = resolveOwner(owner, view.accountsOf(img));
  const later = !ids && view.installsPackages(img) && owner.split(':').every((n) => ACCOUNT_NAME.test(n));
  if (!ids && !later) r.problem(site, `${what}: owner "${owner}" ${noAccount(img)}`);
  return { ids, later };
}

/** The `.file()` entries as definitions, their bodies in `blobs`. */
function fileDefs(img: Image, view: Inheritance, blobs: Map<string, Buffer>, r: RuleContext): FileDef[] {
  return filesOf(img.state).map((f) => {
    const { ids, later } = ownerOf(f.owner, img, view, `file ${f.path}`, f.site, r);
    let sha256: string | null = null;
    if (f.content) {
      sha256 = sha256Of(f.content);
      blobs.set(sha256, f.content);
    }
    return {
      path: f.path,
      type: f.type,
      mode: f.mode,
      uid: ids?.[0] ?? 0,
      gid: ids?.[1] ?? 0,
      sha256,
      size: f.content?.length ?? 0,
      target: f.target,
      ...(later ? { owner: f.owner } : {}),
    };
  });
}

/** The `.dir()` sources as definitions, their files' bodies in `blobs`. */
function dirDefs(img: Image, view: Inheritance, blobs: Map<string, Buffer>, r: RuleContext): DirDef[] {
  return img.state.dirs.map((dir) => {
    const { ids, later } = ownerOf(dir.owner, img, view, `dir ${dir.dest}`, dir.site, r);
    const [uid, gid] = ids ?? [0, 0];
    const entries: FileDef[] = dir.entries.map((e) => {
      let sha256: string | null = null;
      if (e.data) {
        sha256 = sha256Of(e.data);
        blobs.set(sha256, e.data);
      }
      const path = e.rel === '' ? dir.dest : dir.dest === '/' ? `/${e.rel}` : `${dir.dest}/${e.rel}`;
      return {
        path,
        type: e.type,
        mode: e.mode,
        uid,
        gid,
        sha256,
        size: e.data?.length ?? 0,
        target: e.target,
        ...(later ? { owner: dir.owner } : {}),
      };
    });
    return { dest: dir.dest, entries };
  });
}

/** What one value defines by itself (parents compare by id), to compare two values with one id. */
function ownParts(img: Image, view: Inheritance): unknown {
  const s = img.state;
  const p = view.parentOf(img);
  return {
    parent: p ? p.id : s.parent,
    builder: s.builder?.id ?? null,
    platforms: s.platforms,
    packages: s.packages.map((x) => x.spec),
    portage: s.portage,
    keep: s.keep,
    purge: s.purge,
    closure: s.closure,
    copies: s.copies.map((c) => ({ from: typeof c.from === 'string' ? c.from : c.from.id, paths: c.paths })),
    dirs: s.dirs.map((d) => ({
      dest: d.dest,
      owner: d.owner,
      entries: d.entries.map((e) => ({ ...e, data: e.data?.toString('base64') ?? null })),
    })),
    files: filesOf(s).map((f) => ({
      path: f.path,
      type: f.type,
      mode: f.mode,
      owner: f.owner,
      target: f.target,
      content: f.content?.toString('base64') ?? null,
    })),
    accounts: s.accounts,
    needs: s.needs,
    hooks: s.hooks,
    config: s.config,
    allowRoot: s.allowRoot,
    tags: s.tags,
    tests: s.tests,
    debug: s.debug,
    vex: s.vex,
    ...(s.ready ? { ready: s.ready } : {}),
  };
}

/** The uid and gid of `user[:group]` (names or numbers) among known users and declared accounts; null when either is unknown. */
function resolveOwner(owner: string, accounts: readonly AccountDef[]): [number, number] | null {
  const [u, g] = owner.split(':');
  const uid = /^\d+$/.test(u)
    ? [Number(u), Number(u)]
    : (KNOWN_USERS[u] ?? ((a) => (a ? [a.uid, a.gid] : null))(accounts.find((a) => a.user === u)));
  if (!uid) return null;
  if (g === undefined) return uid as [number, number];
  const gid = /^\d+$/.test(g) ? Number(g) : (KNOWN_USERS[g]?.[1] ?? accounts.find((a) => a.group === g)?.gid);
  return gid === undefined ? null : [uid[0], gid];
}

/** The image's packages plus tini when `.init()` is its own (a parent with it has it installed). */
function withInitPackage(packages: string[], b: Builder | null, own: boolean | undefined): string[] {
  if (!own || !b) return packages;
  const pkg = INIT_PACKAGE[b.kind];
  return packages.includes(pkg) ? packages : [...packages, pkg];
}
