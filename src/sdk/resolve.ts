import { INIT_ENTRYPOINT, INIT_PACKAGE, isRootUser, resolveUser, runsSomething, type AccountDef, type BuilderDef, type DirDef, type FileDef, type ImageConfigDef, type ImageDef } from '../contract/assembly';
import type { Problem } from '../contract/errors';
import type { App } from './app';
import type { Builder } from './builder';
import { checkDebianPackage } from './debian/package';
import { canonicalJson } from '../contract/json';
import { sha256 as sha256Of } from '../util/hash';
import { filesOf, Image, type ImageState } from './image';
import { Atom } from './portage/atom';
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

const PORTAGE_ONLY = new Set(['use', 'keywords', 'mask', 'unmask', 'unmaskUse', 'makeConf', 'packageEnv', 'overlay', 'provide', 'unprovide', 'patch', 'uninstall', 'noBinpkgCache', 'runtimeLibs']);
const KNOWN_USERS: Record<string, [number, number]> = { root: [0, 0], nobody: [65534, 65534] };
/** A user or group name as adduser takes it (Debian's NAME_REGEX, lower case; also a uid). */
const ACCOUNT_NAME = /^([a-z_][-a-z0-9_]*\$?|\d+)$/;

/** Checks the whole app, every image against the others, and produces the definitions. */
export function resolveApp(app: App): Resolved {
  const problems: Problem[] = [];
  const add = (id: string, site: Site | undefined, message: string) => problems.push({ id, site: site?.toString() || undefined, message });
  const warnings: Problem[] = [];
  const warn = (id: string, site: Site | undefined, message: string) => warnings.push({ id, site: site?.toString() || undefined, message });

  // One value per id; two different definitions with one id are an error.
  const byId = new Map<string, Image>();
  const all = app.images();
  for (const img of all) {
    const prev = byId.get(img.id);
    if (!prev) byId.set(img.id, img);
  }

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

  const parentOf = (s: ImageState): Image | null | undefined => {
    if (s.parent === null) return null;
    if (Image.isImage(s.parent)) return byId.get(s.parent.id) ?? s.parent;
    return byId.get(s.parent); // undefined: unknown
  };

  // What an image inherits is computed once per id, walking up the parent chain
  // without recursion (chains can be thousands deep) and stopping at a cycle of
  // string ids, which is reported elsewhere.
  const builderMemo = new Map<string, Builder | null>();
  const builderOf = (img: Image): Builder | null =>
    inherited(img, parentOf, builderMemo, (i, fromParent) => i.state.builder ?? fromParent ?? null);

  const scratchConfig: ImageConfigDef = { entrypoint: null, cmd: null, env: {}, workdir: null, expose: [], volumes: [], labels: {}, user: null, healthcheck: null };
  const configMemo = new Map<string, ImageConfigDef>();
  const configOf = (img: Image): ImageConfigDef =>
    inherited(img, parentOf, configMemo, (i, fromParent) => {
      const base = fromParent ?? scratchConfig;
      const own = i.state.config;
      return {
        entrypoint: own.entrypoint ?? base.entrypoint,
        // As in a Dockerfile, a new entrypoint resets the inherited cmd.
        cmd: own.cmd ?? (own.entrypoint ? null : base.cmd),
        env: sortKeys({ ...base.env, ...own.env }),
        workdir: own.workdir ?? base.workdir,
        expose: [...new Set([...base.expose, ...own.expose])].sort(),
        volumes: [...new Set([...base.volumes, ...own.volumes])].sort(),
        labels: sortKeys({ ...base.labels, ...own.labels }),
        user: own.user ?? base.user,
        healthcheck: own.healthcheck ?? base.healthcheck,
        ...((own.init ?? base.init) ? { init: true as const } : {}),
      };
    });
  // The config as shipped: with .init(), tini comes first (kept apart from the inherited
  // config above, so a child's own entrypoint gets it in front too).
  const shippedConfig = (c: ImageConfigDef): ImageConfigDef =>
    c.init && (c.entrypoint || c.cmd) ? { ...c, entrypoint: [...INIT_ENTRYPOINT, ...(c.entrypoint ?? [])] } : c;

  // The platforms an image is built for: its own, else its parent's, else its builder's; null: the host's.
  const platformsMemo = new Map<string, readonly string[] | null>();
  const platformsOf = (img: Image): readonly string[] | null =>
    inherited(img, parentOf, platformsMemo, (i, fromParent) => i.state.platforms ?? fromParent ?? builderOf(i)?.platforms ?? null);
  const describe = (ps: readonly string[] | null) => (ps ? ps.join(', ') : "the host's platform only (it names none)");

  const accountsMemo = new Map<string, readonly AccountDef[]>();
  const accountsOf = (img: Image): readonly AccountDef[] =>
    inherited(img, parentOf, accountsMemo, (i, fromParent) => {
      const own = i.state.accounts;
      return [...(fromParent ?? []).filter((a) => !own.some((o) => o.user === a.user)), ...own];
    });

  // An account no .account() declares may still be one a package's install creates
  // (postgresql's postinst makes `postgres`): accepted when the image or a parent
  // installs packages; the build then fails, naming it, if no install did.
  const installsMemo = new Map<string, boolean>();
  const installsPackages = (img: Image): boolean =>
    inherited(img, parentOf, installsMemo, (i, fromParent) => i.state.packages.length > 0 || (fromParent ?? false));

  // False when the parent chain meets an unknown id or a cycle: that is reported already.
  const chainMemo = new Map<string, boolean>();
  const chainEndsAtScratch = (img: Image): boolean =>
    inherited(img, parentOf, chainMemo, (i, fromParent) => {
      const p = parentOf(i.state);
      return p === null ? true : p === undefined ? false : fromParent ?? false;
    });

  const blobs = new Map<string, Buffer>();
  const images = new Map<string, ImageDef>();
  const sites = new Map<string, { declared: Site; methods: Readonly<Record<string, Site>> }>();

  for (const img of byId.values()) {
    const s = img.state;
    for (const p of s.problems) add(s.id, p.site, p.message);
    for (const w of s.warnings) warnings.push({ id: s.id, site: w.site.toString() || undefined, message: w.message });
    sites.set(s.id, { declared: s.declared, methods: s.sites });

    const parent = parentOf(s);
    if (parent === undefined) add(s.id, s.sites.from, `unknown parent "${s.parent}": no image with that id in the app`);
    for (const c of s.copies) {
      const from = typeof c.from === 'string' ? c.from : c.from.id;
      if (!byId.has(from)) add(s.id, c.site, `copy from unknown image "${from}"`);
    }

    const b = builderOf(img);
    if (b) noteBuilder(b);
    else if (chainEndsAtScratch(img)) add(s.id, s.declared, 'no builder: set .builder(...) or inherit one through .from(...)');
    const pb = parent ? builderOf(parent) : null;
    if (b && pb && (b.kind !== pb.kind || b.libc !== pb.libc)) {
      add(s.id, s.sites.builder ?? s.sites.from, `builder ${b.id} (${b.kind}, ${b.libc}) does not match the parent ${parent!.id}'s builder ${pb.id} (${pb.kind}, ${pb.libc})`);
    }

    const platforms = platformsOf(img);
    if (platforms && b) {
      const missing = platforms.filter((p) => !b.platforms?.includes(p));
      if (missing.length) {
        add(s.id, s.sites.platforms ?? s.sites.builder ?? s.sites.from ?? s.declared, b.platforms
          ? `builder ${b.id} does not build for ${missing.join(', ')} (its platforms: ${b.platforms.join(', ')}); add ${missing.length === 1 ? 'it' : 'them'} to the builder's platforms`
          : `builder ${b.id} names no platforms, so it cannot build for ${missing.join(', ')}; give it platforms: [${platforms.map((p) => `'${p}'`).join(', ')}]`);
      }
    }
    if (parent) {
      const pp = platformsOf(parent);
      const missing = platforms === null ? (pp === null ? [] : null) : pp === null ? platforms : platforms.filter((p) => !pp.includes(p));
      if (missing === null || missing.length) {
        add(s.id, s.sites.platforms ?? s.sites.from, `is built for ${describe(platforms)}, but its parent ${parent.id} is built for ${describe(pp)}${missing?.length ? `: the parent has no ${missing.join(', ')}` : ''}`);
      }
    }
    for (const c of s.copies) {
      const from = byId.get(typeof c.from === 'string' ? c.from : c.from.id);
      if (!from) continue;
      const fp = platformsOf(from);
      const missing = platforms === null ? (fp === null ? [] : null) : fp === null ? platforms : platforms.filter((p) => !fp.includes(p));
      if (missing === null || missing.length) {
        add(s.id, c.site, `.copy() across platforms: this image is built for ${describe(platforms)}, but ${from.id} for ${describe(fp)}${missing?.length ? ` (no ${missing.join(', ')})` : ''}`);
      }
    }

    if (b?.kind === 'debian') {
      for (const c of s.portageCalls) if (PORTAGE_ONLY.has(c.method)) add(s.id, c.site, `.${c.method}() is Portage-only, but ${b.id} is a Debian builder`);
      // Nothing on the Debian path fetches or verifies it: accepting the checksum would be a silent lie.
      for (const dl of s.portage.downloads) {
        add(s.id, s.sites.download, `.download("${dl.url}") is not supported on Debian images (${b.id} is a Debian builder): add the file with .file(path, { src }), or fetch and check it in a .configureRootfs() hook`);
      }
    }
    for (const p of s.packages) {
      const m = b?.kind === 'debian' ? checkDebianPackage(p.spec) : b?.kind === 'gentoo' ? Atom.check(p.spec) : null;
      if (m) add(s.id, p.site, m);
    }
    if (b?.kind === 'gentoo') {
      // Each .keywords() call adds one entry: the n-th call's site is the n-th entry's.
      const sites = s.portageCalls.filter((c) => c.method === 'keywords').map((c) => c.site);
      s.portage.keywords.forEach((k, i) => {
        const m = keywordsDoNotPin(k.atom, s.packages.map((p) => p.spec));
        if (m) warn(s.id, sites[i], m);
      });
    }

    const config = shippedConfig(configOf(img));
    const runs = runsSomething(config);
    const accounts = accountsOf(img);
    const user = config.user;
    // Root by name or by what the name resolves to (an account declared with uid 0).
    const isRoot = isRootUser(user) || resolveUser(user, accounts)?.uid === 0;
    if (runs && isRoot && !s.allowRoot) {
      add(s.id, s.sites.user ?? s.sites.entrypoint ?? s.sites.cmd ?? s.declared, `runs as root: set .user(...) or call .allowRoot()`);
    } else if (s.sites.user && user !== null && isRoot && !s.allowRoot) {
      // Naming root is a choice to run as root, whether or not this image runs anything yet.
      add(s.id, s.sites.user, `.user('${user}') runs as root: call .allowRoot() to mean it`);
    }
    const fromPackages = installsPackages(img);
    const noAccount = `has no .account() in this image or its parents, and ${s.id} installs no packages whose install could create it`;
    if (user && !/^\d+(:\d+)?$/.test(user) && !KNOWN_USERS[user] && !accounts.some((a) => a.user === user)) {
      if (!fromPackages) add(s.id, s.sites.user, `user "${user}" ${noAccount}`);
    }

    const files: FileDef[] = [];
    for (const f of filesOf(s)) {
      const owner = resolveOwner(f.owner, accounts);
      // Left to the build: an owner a package's install may create (its ids are known only then).
      const later = !owner && fromPackages && f.owner.split(':').every((n) => ACCOUNT_NAME.test(n));
      if (!owner && !later) add(s.id, f.site, `file ${f.path}: owner "${f.owner}" ${noAccount}`);
      let sha256: string | null = null;
      if (f.content) {
        sha256 = sha256Of(f.content);
        blobs.set(sha256, f.content);
      }
      files.push({ path: f.path, type: f.type, mode: f.mode, uid: owner?.[0] ?? 0, gid: owner?.[1] ?? 0, sha256, size: f.content?.length ?? 0, target: f.target, ...(later ? { owner: f.owner } : {}) });
    }
    for (const [sha, data] of Object.entries(s.patchData)) blobs.set(sha, data);
    const dirs: DirDef[] = [];
    for (const dir of s.dirs) {
      const owner = resolveOwner(dir.owner, accounts);
      const later = !owner && fromPackages && dir.owner.split(':').every((n) => ACCOUNT_NAME.test(n));
      if (!owner && !later) add(s.id, dir.site, `dir ${dir.dest}: owner "${dir.owner}" ${noAccount}`);
      const [uid, gid] = owner ?? [0, 0];
      const entries: FileDef[] = [];
      for (const e of dir.entries) {
        let sha256: string | null = null;
        if (e.data) {
          sha256 = sha256Of(e.data);
          blobs.set(sha256, e.data);
        }
        const path = e.rel === '' ? dir.dest : dir.dest === '/' ? `/${e.rel}` : `${dir.dest}/${e.rel}`;
        entries.push({ path, type: e.type, mode: e.mode, uid, gid, sha256, size: e.data?.length ?? 0, target: e.target, ...(later ? { owner: dir.owner } : {}) });
      }
      dirs.push({ dest: dir.dest, entries });
    }

    const def: ImageDef = {
      id: s.id,
      parent: parent ? parent.id : typeof s.parent === 'string' ? s.parent : null,
      builder: b?.id ?? '',
      packages: withInitPackage(s.packages.map((p) => p.spec), b, configOf(img).init && !(parent && configOf(parent).init)),
      portage: s.portage,
      keep: s.keep,
      purge: s.purge,
      closure: s.closure,
      copies: s.copies.map((c) => ({ from: typeof c.from === 'string' ? c.from : c.from.id, paths: c.paths })),
      files: files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
      // Absent when empty, so images without directories keep the definitions (and keys) they had.
      ...(dirs.length ? { dirs } : {}),
      accounts: s.accounts,
      needs: s.needs,
      hooks: s.hooks,
      config,
      allowRoot: s.allowRoot,
      tags: s.tags,
      tests: s.tests,
      ...(s.ready ? { ready: s.ready } : {}),
      debug: s.debug,
      forbid: [],
      ...(platforms ? { platforms } : {}),
      ...(s.vex.length ? { vex: s.vex } : {}),
    };
    images.set(s.id, def);
  }

  // Two values with one id: an error only when they define different images.
  for (const img of all) {
    const first = byId.get(img.id)!;
    if (first === img) continue;
    if (canonicalJson(ownParts(first, parentOf)) !== canonicalJson(ownParts(img, parentOf))) {
      add(img.id, img.state.declared, `defined twice with different definitions (also at ${first.state.declared})`);
    }
  }

  // Policies see every definition; their forbidden paths travel to the runtime.
  const ctx = { images };
  for (const policy of app.policies) {
    for (const [id, def] of images) {
      for (const m of policy.check(def, ctx)) add(id, sites.get(id)!.declared, `policy ${policy.name}: ${m}`);
      if (policy.forbid?.length) images.set(id, { ...images.get(id)!, forbid: [...new Set([...def.forbid, ...policy.forbid])].sort() });
      if (policy.rules?.length) images.set(id, { ...images.get(id)!, rules: [...new Set([...(def.rules ?? []), ...policy.rules])].sort() });
    }
  }

  return { images, builders, blobs, problems, warnings, sites };
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
  const asked = selecting.length ? `the image's packages ask for ${selecting.map(String).join(', ')}` : `the image's packages do not name a version of ${k.cpn}`;
  return `.keywords("${atom}") does not pin ${k.cpn}: ${asked}, and emerge installs the newest visible version, keyworded or not. ` +
    `To pin it, put "${atom}" in .packages()`;
}

/** Whether `p` pins exactly one version (`=`, `~`) that keywords atom `k` (`=`, `~`) leaves out; false when it cannot tell. */
function pinnedOutside(k: Atom, p: Atom): boolean {
  const exact = (a: Atom) => (a.op === '=' && !a.wildcard) || a.op === '~';
  if (!exact(p) || !(k.op === '=' || k.op === '~')) return false;
  if (k.wildcard) return !p.version!.startsWith(k.version!);
  if (p.version !== k.version) return true;
  return k.op === '=' && p.op === '=' && (p.revision ?? 0) !== (k.revision ?? 0);
}

/** What one value defines by itself (parents compare by id), to compare two values with one id. */
function ownParts(img: Image, parentOf: (s: ImageState) => Image | null | undefined): unknown {
  const s = img.state;
  const p = parentOf(s);
  return {
    parent: p ? p.id : s.parent, builder: s.builder?.id ?? null, platforms: s.platforms, packages: s.packages.map((x) => x.spec), portage: s.portage,
    keep: s.keep, purge: s.purge, closure: s.closure, copies: s.copies.map((c) => ({ from: typeof c.from === 'string' ? c.from : c.from.id, paths: c.paths })),
    dirs: s.dirs.map((d) => ({ dest: d.dest, owner: d.owner, entries: d.entries.map((e) => ({ ...e, data: e.data?.toString('base64') ?? null })) })),
    files: filesOf(s).map((f) => ({ path: f.path, type: f.type, mode: f.mode, owner: f.owner, target: f.target, content: f.content?.toString('base64') ?? null })),
    accounts: s.accounts, needs: s.needs, hooks: s.hooks, config: s.config, allowRoot: s.allowRoot, tags: s.tags, tests: s.tests, debug: s.debug, vex: s.vex,
    ...(s.ready ? { ready: s.ready } : {}),
  };
}

/**
 * A value computed from an image and what its parent inherits, memoized by id.
 * Walks up iteratively; `fromParent` is null at scratch, at an unknown parent,
 * and where the walk meets an image already on its path (a cycle).
 */
function inherited<T>(
  img: Image,
  parentOf: (s: ImageState) => Image | null | undefined,
  memo: Map<string, T>,
  step: (img: Image, fromParent: T | null) => T,
): T {
  const path: Image[] = [];
  const onPath = new Set<string>();
  let top: T | null = null;
  for (let cur: Image | null | undefined = img; cur; cur = parentOf(cur.state)) {
    if (memo.has(cur.id)) {
      top = memo.get(cur.id)!;
      break;
    }
    if (onPath.has(cur.id)) break;
    onPath.add(cur.id);
    path.push(cur);
  }
  for (let i = path.length - 1; i >= 0; i--) {
    top = step(path[i], top);
    memo.set(path[i].id, top);
  }
  return top!;
}

function resolveOwner(owner: string, accounts: readonly AccountDef[]): [number, number] | null {
  const [u, g] = owner.split(':');
  const uid = /^\d+$/.test(u) ? [Number(u), Number(u)] : KNOWN_USERS[u] ?? ((a) => (a ? [a.uid, a.gid] : null))(accounts.find((a) => a.user === u));
  if (!uid) return null;
  if (g === undefined) return uid as [number, number];
  const gid = /^\d+$/.test(g) ? Number(g) : KNOWN_USERS[g]?.[1] ?? accounts.find((a) => a.group === g)?.gid;
  return gid === undefined ? null : [uid[0], gid];
}

/** The image's packages plus tini when `.init()` is its own (a parent with it has it installed). */
function withInitPackage(packages: string[], b: Builder | null, own: boolean | undefined): string[] {
  if (!own || !b) return packages;
  const pkg = INIT_PACKAGE[b.kind];
  return packages.includes(pkg) ? packages : [...packages, pkg];
}

function sortKeys<V>(r: Record<string, V>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k];
  return out;
}
