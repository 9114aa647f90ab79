import { existsSync, realpathSync, statSync } from 'node:fs';
import { checkArgs, describeValue, type ParamSpec } from './args';
import { basename, dirname, isAbsolute, join, posix, relative, resolve } from 'node:path';
import {
  VEX_STATUSES,
  type AccountDef,
  type HealthcheckDef,
  type PortageDef,
  type ReadyDef,
  type VexStatementDef,
} from '../contract/assembly';
import { Builder, type SiteProblem } from './builder';
import { Atom, checkKeyword, checkMakeConfName, checkUseFlag } from './portage/atom';
import { sha256 as sha256Of } from '../util/hash';
import { checkPlatforms } from '../contract/platform';
import { Site } from './site';
import { readRegularFile, readTree, type TreeEntry } from './source';
import * as v from './validate';

/** Content given to `.file()`. */
export type FileContent = string | Uint8Array | { readonly src: string } | { readonly dir: true } | { readonly symlink: string };

export interface FileOptions {
  /** Octal number (`0o755`) or string (`'0755'`). @default 0o644 for files, 0o755 for directories */
  readonly mode?: number | string;
  /** `user`, `user:group`, a uid or `uid:gid`; names resolve through `.account()`. @default 'root' */
  readonly owner?: string | number;
}

/** Options of `.dir()`. */
export interface DirProps {
  /** The host directory, relative to the defining file (as `.file()`'s `src`). */
  readonly src: string;
  /**
   * Paths left out, with `.dockerignore` semantics (`**`, `!` re-includes, the last
   * match decides), after the patterns of `<src>/.dockerignore`.
   * @default []
   */
  readonly ignore?: readonly string[];
  /** Read `<src>/.dockerignore` when there is one (as `docker build` reads its context's). @default true */
  readonly dockerignore?: boolean;
  /** Owner of every entry: `user`, `user:group`, a uid or `uid:gid`; names resolve through `.account()`. @default 'root' */
  readonly owner?: string | number;
  /**
   * Mode of every file and directory (as `COPY --chmod`), or one for files and one for
   * directories. Links are always 0777.
   * @default each entry's mode on the host
   */
  readonly mode?: number | string | { readonly file?: number | string; readonly dir?: number | string };
}

export interface AccountProps {
  readonly user: string;
  readonly uid: number;
  /** @default the user name */
  readonly group?: string;
  /** @default the uid */
  readonly gid?: number;
  /** @default `/home/<user>` */
  readonly home?: string;
  /** @default '/sbin/nologin' */
  readonly shell?: string;
}

export interface OverlayProps {
  readonly uri: string;
  /** @default 'git' */
  readonly type?: string;
  /** @default the remote's default branch */
  readonly branch?: string;
}

export interface ClosureProps {
  /** Paths or globs whose ELF closure is kept. */
  readonly roots: readonly string[];
  /** Globs kept as they are. @default [] */
  readonly keep?: readonly string[];
}

export interface CopyProps {
  /** Image to copy from (a value or an id defined in the same app). */
  readonly from: Image | string;
  /** Paths or globs in that image; their ELF closure comes along. */
  readonly paths: readonly string[];
}

/** How deploy tells that the image's server is up: give `port` or `cmd`. */
export interface ReadyProps {
  /** A TCP port the server listens on: up when it accepts a connection (from the deploying machine, to the container's address). */
  readonly port?: number;
  /** A probe run in a container of this image sharing the server's network (`['redis-cli', 'ping']`): up when it exits 0. */
  readonly cmd?: readonly string[] | string;
  /** Seconds to wait for it. @default 30 */
  readonly timeout?: number;
}

export interface HealthcheckProps {
  readonly cmd: readonly string[] | string;
  /** Seconds. @default 5 */
  readonly interval?: number;
  /** Seconds. @default 5 */
  readonly timeout?: number;
  /** @default 3 */
  readonly retries?: number;
  /** Seconds. @default 3 */
  readonly startPeriod?: number;
}

/** Categories `.keep()` can keep from the default purge. */
export const KEEP_CATEGORIES = [
  'docs',
  'man',
  'info',
  'locales',
  'headers',
  'static-libs',
  'pkgconfig',
  'cmake',
  'caches',
  'init',
  'ldcache',
  'python-cache',
  'portage',
  'extras',
  // Not purge categories: setuid/setgid bits (and file capabilities) and world-writable
  // files, which the build otherwise removes and reports.
  'setuid',
  'world-writable',
] as const;
export type KeepCategory = (typeof KEEP_CATEGORIES)[number];

/** @internal */
export interface FileState {
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink';
  readonly mode: number;
  readonly owner: string;
  readonly content: Buffer | null;
  readonly target: string | null;
  readonly site: Site;
}

/** @internal A `.dir()` source: the tree as read at the call. */
export interface DirState {
  /** Normalized absolute path in the image. */
  readonly dest: string;
  /** Absolute host path, for messages. */
  readonly src: string;
  readonly owner: string;
  readonly entries: readonly TreeEntry[];
  readonly site: Site;
}

/**
 * @internal An immutable list that grows at its end in constant time: each image
 * adds a node and shares the rest with the image it came from, so n `.file()` calls
 * cost O(n), not the O(n²) of copying an array per call.
 */
export interface Chain<T> {
  readonly last: T;
  readonly before: Chain<T> | null;
}

const chainArrays = new WeakMap<Chain<unknown>, unknown[]>();

/** @internal The items of a chain, oldest first (computed once per chain). */
export function chainItems<T>(c: Chain<T> | null): readonly T[] {
  if (c === null) return [];
  let out = chainArrays.get(c) as T[] | undefined;
  if (!out) {
    out = [];
    for (let n: Chain<T> | null = c; n; n = n.before) out.push(n.last);
    out.reverse();
    chainArrays.set(c, out);
  }
  return out;
}

/** @internal The `.file()`s of an image: the last one per path, in the order of those calls. */
export function filesOf(s: ImageState): readonly FileState[] {
  const all = chainItems(s.files);
  const seen = new Set<string>();
  const out: FileState[] = [];
  for (let i = all.length - 1; i >= 0; i--) {
    if (seen.has(all[i].path)) continue;
    seen.add(all[i].path);
    out.push(all[i]);
  }
  return out.reverse();
}

/** @internal */
export interface OwnConfig {
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly workdir?: string;
  readonly expose: readonly string[];
  readonly volumes: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly user?: string;
  readonly healthcheck?: HealthcheckDef;
  readonly init?: boolean;
}

/** @internal The whole state of an image; never mutated once an Image holds it. */
export interface ImageState {
  readonly id: string;
  readonly declared: Site;
  readonly parent: Image | string | null;
  readonly builder: Builder | null;
  /** Platforms named with `.platforms()` (normalized, sorted), or null: inherited. */
  readonly platforms: readonly string[] | null;
  readonly packages: readonly { readonly spec: string; readonly site: Site }[];
  readonly portage: PortageDef;
  /** Portage-only calls, to report them on a Debian image. */
  readonly portageCalls: readonly { readonly method: string; readonly site: Site }[];
  readonly keep: readonly string[];
  readonly purge: readonly string[];
  readonly closure: { readonly roots: readonly string[]; readonly keep: readonly string[] } | null;
  readonly copies: readonly { readonly from: Image | string; readonly paths: readonly string[]; readonly site: Site }[];
  /** Every `.file()` call, in order; {@link filesOf} keeps the last per path. */
  readonly files: Chain<FileState> | null;
  readonly dirs: readonly DirState[];
  readonly accounts: readonly AccountDef[];
  readonly needs: readonly string[];
  readonly hooks: {
    readonly configureBuilder: readonly string[];
    readonly configureRootfs: readonly string[];
    readonly finishRootfs: readonly string[];
  };
  readonly config: OwnConfig;
  readonly allowRoot: boolean;
  readonly tags: readonly string[];
  readonly tests: readonly string[];
  readonly ready?: ReadyDef;
  readonly debug: boolean;
  readonly vex: readonly VexStatementDef[];
  /** Bytes of `.patch()` files by sha256. */
  readonly patchData: Readonly<Record<string, Buffer>>;
  readonly problems: readonly SiteProblem[];
  /** Things synth says but that do not stop it (a `.file()` source outside the project). */
  readonly warnings: readonly SiteProblem[];
  /** Last call site of each method, for problems found at synth. */
  readonly sites: Readonly<Record<string, Site>>;
}

const EMPTY_PORTAGE: PortageDef = {
  use: [],
  keywords: [],
  mask: [],
  unmask: [],
  unmaskUse: [],
  makeConf: {},
  packageEnv: [],
  overlays: [],
  provide: [],
  unprovide: [],
  patches: [],
  uninstall: [],
  noBinpkgCache: [],
  runtimeLibs: [],
  downloads: [],
  record: [],
  locales: [],
};

type Draft = { -readonly [K in keyof ImageState]: ImageState[K] };

/**
 * The brand of an Image, the same in every copy of imgsdk (a construct library may
 * depend on its own copy): `Image.isImage` checks it where `instanceof` would see two
 * classes.
 */
const IMAGE_BRAND = Symbol.for('imgsdk.Image');

/** A statement given to `.vex()`: OpenVEX's fields; the vulnerability by name or as OpenVEX's object. */
export interface VexStatement {
  readonly vulnerability: string | { readonly name: string; readonly aliases?: readonly string[] };
  readonly status: VexStatementDef['status'];
  /** Required with `not_affected` unless `impact_statement` says why (OpenVEX's justification labels, e.g. `vulnerable_code_not_present`). */
  readonly justification?: string;
  readonly impact_statement?: string;
  /** Required with `affected`: what a user should do. */
  readonly action_statement?: string;
  readonly status_notes?: string;
  /** @default the pushed image */
  readonly products?: readonly (string | { readonly '@id': string })[];
}

const VEX_JUSTIFICATIONS = [
  'component_not_present',
  'vulnerable_code_not_present',
  'vulnerable_code_not_in_execute_path',
  'vulnerable_code_cannot_be_controlled_by_adversary',
  'inline_mitigations_already_exist',
];

/** What is wrong with a VEX statement by OpenVEX v0.2.0's rules, or null. */
function checkVexStatement(st: VexStatement): string | null {
  const name = typeof st?.vulnerability === 'string' ? st.vulnerability : st?.vulnerability?.name;
  if (!name) return '.vex(): a statement names no vulnerability';
  if (!(VEX_STATUSES as readonly string[]).includes(st.status))
    return `.vex(): ${name}: status "${st.status}" is not one of ${VEX_STATUSES.join(', ')}`;
  if (st.status === 'not_affected' && !st.justification && !st.impact_statement)
    return `.vex(): ${name}: not_affected needs a justification (${VEX_JUSTIFICATIONS.join(', ')}) or an impact_statement`;
  if (st.justification && !VEX_JUSTIFICATIONS.includes(st.justification))
    return `.vex(): ${name}: justification "${st.justification}" is not one of ${VEX_JUSTIFICATIONS.join(', ')}`;
  if (st.status === 'affected' && !st.action_statement) return `.vex(): ${name}: affected needs an action_statement (what users should do)`;
  return null;
}

function normalizeVex(st: VexStatement): VexStatementDef {
  const { vulnerability, products, ...rest } = st;
  return {
    ...rest,
    vulnerability: typeof vulnerability === 'string' ? { name: vulnerability } : vulnerability,
    ...(products ? { products: products.map((p) => (typeof p === 'string' ? { '@id': p } : p)) } : {}),
  };
}

/**
 * A container image definition: an immutable value. Every method returns a new
 * Image, so a base shared by many children never sees a child's changes.
 *
 * Methods check what they can at the call site and record problems with the
 * caller's `file:line` instead of throwing; `synth` reports them all at once.
 *
 * @example
 * const nmap = image('mynamespace/nmap')
 *   .from(glibc)
 *   .packages('net-analyzer/nmap')
 *   .use('net-analyzer/nmap', '+ipv6', '-nls')
 *   .entrypoint('/usr/bin/nmap')
 *   .user('nobody');
 */
export class Image {
  /**
   * True for an Image of any copy of imgsdk (as constructs' `Construct.isConstruct`).
   * `x instanceof Image` asks the same, so it holds across copies too.
   * @example if (Image.isImage(x)) console.log(x.id);
   */
  static isImage(x: unknown): x is Image {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[IMAGE_BRAND] === true;
  }

  static [Symbol.hasInstance](x: unknown): boolean {
    return Image.isImage(x);
  }

  /** @internal */
  readonly state: ImageState;

  private constructor(state: ImageState) {
    this.state = state;
  }

  /** @internal */
  static create(id: string, site: Site): Image {
    const problems: SiteProblem[] = [];
    const m = v.checkImageId(id);
    if (m) problems.push({ site, message: m });
    return new Image({
      id,
      declared: site,
      parent: null,
      builder: null,
      platforms: null,
      packages: [],
      portage: EMPTY_PORTAGE,
      portageCalls: [],
      keep: [],
      purge: [],
      closure: null,
      copies: [],
      files: null,
      dirs: [],
      accounts: [],
      needs: [],
      hooks: { configureBuilder: [], configureRootfs: [], finishRootfs: [] },
      config: { env: {}, expose: [], volumes: [], labels: {} },
      allowRoot: false,
      tags: [],
      tests: [],
      debug: false,
      vex: [],
      patchData: {},
      problems,
      warnings: [],
      sites: {},
    });
  }

  /** The image id, `namespace/name`. */
  get id(): string {
    return this.state.id;
  }

  /** @internal This image with a problem of a call of `method` recorded, nothing else changed. */
  problemAt(method: string, fn: Function, message: string, site: Site = Site.here(fn)): Image {
    const d: Draft = {
      ...this.state,
      sites: { ...this.state.sites, [method]: site },
      problems: [...this.state.problems, { site, message }],
    };
    return new Image(d);
  }

  private next(method: string, fn: Function, edit: (d: Draft, site: Site, problem: (m: string | null) => void) => void): Image {
    const site = Site.here(fn);
    const d: Draft = { ...this.state, sites: { ...this.state.sites, [method]: site } };
    const found: SiteProblem[] = [];
    edit(d, site, (m) => {
      if (m) found.push({ site, message: m });
    });
    if (found.length) d.problems = [...d.problems, ...found];
    return new Image(d);
  }

  private portageNext(
    method: string,
    fn: Function,
    edit: (p: { -readonly [K in keyof PortageDef]: PortageDef[K] }, problem: (m: string | null) => void, site: Site) => void,
    after?: (d: Draft) => void,
  ): Image {
    return this.next(method, fn, (d, site, problem) => {
      const p = { ...d.portage };
      edit(p, problem, site);
      d.portage = p;
      d.portageCalls = [...d.portageCalls, { method, site }];
      after?.(d);
    });
  }

  /**
   * The parent image; its layers and installed packages are inherited.
   * @example image('acme/app').from(glibc)
   */
  from(parent: Image | string): Image {
    return this.next('from', this.from, (d, _s, problem) => {
      if (typeof parent === 'string') problem(v.checkImageId(parent));
      d.parent = parent;
    });
  }

  /**
   * The builder this image is built in; inherited from the parent when not set.
   * @example image('kubler/glibc').builder(bob)
   */
  builder(b: Builder): Image {
    return this.next('builder', this.builder, (d) => {
      d.builder = b;
    });
  }

  /**
   * The platforms this image is built for, narrowing what it inherits (its parent's,
   * else its builder's). Each must be a platform of the builder and of the parent.
   * @example image('acme/jq').from(base).platforms('linux/arm64')
   */
  platforms(...names: string[]): Image {
    return this.next('platforms', this.platforms, (d, _s, problem) => {
      const r = checkPlatforms(names);
      for (const m of r.problems) problem(m);
      d.platforms = r.platforms;
    });
  }

  /**
   * Packages to install: Portage atoms or Debian package names, checked at synth
   * against the builder's kind.
   * @example image('acme/web').packages('nginx-light')
   */
  packages(...names: string[]): Image {
    return this.next('packages', this.packages, (d, site) => {
      d.packages = [...d.packages, ...names.map((spec) => ({ spec, site }))];
    });
  }

  /**
   * USE flags for an atom (`/etc/portage/package.use`).
   * @example img.use('net-analyzer/nmap', '+ipv6', '-nls')
   */
  use(atom: string, ...flags: string[]): Image {
    return this.portageNext('use', this.use, (p, problem) => {
      problem(Atom.check(atom));
      if (flags.length === 0) problem(`.use("${atom}") names no USE flag`);
      for (const f of flags) problem(checkUseFlag(f, { allowSign: true }));
      p.use = [...p.use, { atom, values: flags }];
    });
  }

  /**
   * Keywords for an atom (`package.accept_keywords`).
   * @example img.keywords('=net-analyzer/nmap-7.60', '~amd64')
   */
  keywords(atom: string, ...keywords: string[]): Image {
    return this.portageNext('keywords', this.keywords, (p, problem) => {
      problem(Atom.check(atom));
      for (const k of keywords) problem(checkKeyword(k));
      p.keywords = [...p.keywords, { atom, values: keywords }];
    });
  }

  /** Masks atoms (`package.mask`). @example img.mask('>=dev-lang/perl-5.40') */
  mask(...atoms: string[]): Image {
    return this.portageNext('mask', this.mask, (p, problem) => {
      for (const a of atoms) problem(Atom.check(a));
      p.mask = [...p.mask, ...atoms];
    });
  }

  /** Unmasks atoms (`package.unmask`). @example img.unmask('=dev-libs/libressl-3.9.2') */
  unmask(...atoms: string[]): Image {
    return this.portageNext('unmask', this.unmask, (p, problem) => {
      for (const a of atoms) problem(Atom.check(a));
      p.unmask = [...p.unmask, ...atoms];
    });
  }

  /** Unmasks USE flags the profile masks (Kubler's `unmask_use`). @example img.unmaskUse('dev-lang/python', 'jit') */
  unmaskUse(atom: string, ...flags: string[]): Image {
    return this.portageNext('unmaskUse', this.unmaskUse, (p, problem) => {
      problem(Atom.check(atom));
      if (flags.length === 0) problem(`.unmaskUse("${atom}") names no USE flag`);
      for (const f of flags) problem(checkUseFlag(f, { allowSign: false }));
      p.unmaskUse = [...p.unmaskUse, { atom, values: flags }];
    });
  }

  /** make.conf variables for this image's build. @example img.makeConf({ MAKEOPTS: '-j2' }) */
  makeConf(vars: Readonly<Record<string, string>>): Image {
    return this.portageNext('makeConf', this.makeConf, (p, problem) => {
      for (const k of Object.keys(vars)) problem(checkMakeConfName(k));
      p.makeConf = { ...p.makeConf, ...vars };
    });
  }

  /**
   * Environment for one package's build (`package.env` + `env/<name>`).
   * @example img.packageEnv('app-shells/bash', { CFLAGS: '-Os' })
   */
  packageEnv(atom: string, vars: Readonly<Record<string, string>>): Image {
    return this.portageNext('packageEnv', this.packageEnv, (p, problem) => {
      problem(Atom.check(atom));
      for (const k of Object.keys(vars)) problem(checkMakeConfName(k));
      const name = 'imgsdk-' + atom.replace(/[^A-Za-z0-9_.+-]+/g, '_').replace(/^_+|_+$/g, '');
      p.packageEnv = [...p.packageEnv, { atom, name, vars: { ...vars } }];
    });
  }

  /**
   * An overlay (repos.conf entry, synced in the builder).
   * @example img.overlay('berne', { uri: 'https://github.com/berney/gentoo-overlay.git' })
   */
  overlay(name: string, props: OverlayProps): Image {
    return this.portageNext('overlay', this.overlay, (p, problem) => {
      if (!/^[A-Za-z0-9_][A-Za-z0-9_-]*$/.test(name)) problem(`overlay name "${name}" is not a repository name`);
      problem(v.checkUri(props.uri));
      p.overlays = [
        ...p.overlays.filter((o) => o.name !== name),
        { name, uri: props.uri, type: props.type ?? 'git', branch: props.branch ?? null },
      ];
    });
  }

  /** Packages Portage should consider installed (`profile/package.provided`). @example img.provide('sys-libs/glibc') */
  provide(...atoms: string[]): Image {
    return this.portageNext('provide', this.provide, (p, problem) => {
      for (const a of atoms) problem(Atom.check(a));
      p.provide = [...p.provide, ...atoms];
    });
  }

  /** Reinstall packages a parent provides. @example img.unprovide('dev-libs/openssl') */
  unprovide(...atoms: string[]): Image {
    return this.portageNext('unprovide', this.unprovide, (p, problem) => {
      for (const a of atoms) problem(Atom.check(a));
      p.unprovide = [...p.unprovide, ...atoms];
    });
  }

  /**
   * A patch applied to a package's sources (`/etc/portage/patches/<atom>/`).
   * The path is relative to the defining file.
   * @example img.patch('app-shells/bash', 'patches/bash-no-nls.patch')
   */
  patch(atom: string, file: string): Image {
    let patchData: { sha256: string; data: Buffer } | null = null;
    return this.portageNext(
      'patch',
      this.patch,
      (p, problem, site) => {
        problem(Atom.check(atom));
        const data = readSource(resolve(site.dir(), file), problem, `patch ${file}`);
        const sha256 = data ? sha256Of(data) : '';
        p.patches = [...p.patches, { atom, name: basename(file), sha256 }];
        if (data) patchData = { sha256, data };
      },
      (d) => {
        if (patchData) d.patchData = { ...d.patchData, [patchData.sha256]: patchData.data };
      },
    );
  }

  /** Removes a package from the root after the install (Kubler's `uninstall_package`). @example img.uninstall('sys-apps/portage') */
  uninstall(...atoms: string[]): Image {
    return this.portageNext('uninstall', this.uninstall, (p, problem) => {
      for (const a of atoms) problem(Atom.check(a));
      p.uninstall = [...p.uninstall, ...atoms];
    });
  }

  /** Never reuse binary packages of these atoms (Kubler's `_no_cache`). @example img.noBinpkgCache('dev-libs/openssl') */
  noBinpkgCache(...atoms: string[]): Image {
    return this.portageNext('noBinpkgCache', this.noBinpkgCache, (p, problem) => {
      for (const a of atoms) problem(Atom.check(a));
      p.noBinpkgCache = [...p.noBinpkgCache, ...atoms];
    });
  }

  /** Copies the compiler's runtime libraries into the root (`copy_gcc_libs`). @example img.runtimeLibs('gcc') */
  runtimeLibs(...kinds: ('gcc' | 'gfortran')[]): Image {
    return this.portageNext('runtimeLibs', this.runtimeLibs, (p, problem) => {
      for (const k of kinds) if (k !== 'gcc' && k !== 'gfortran') problem(`runtimeLibs takes 'gcc' or 'gfortran', not "${k}"`);
      p.runtimeLibs = [...new Set([...p.runtimeLibs, ...kinds])].sort();
    });
  }

  /**
   * A file downloaded in the builder, checked against its sha256 (`download_file`).
   * @example img.download('https://example.org/app.tar.gz', 'ab12…')
   */
  download(url: string, sha256: string, name?: string): Image {
    return this.next('download', this.download, (d, _s, problem) => {
      problem(v.checkUri(url));
      if (!/^[0-9a-f]{64}$/.test(sha256)) problem(`download ${url}: "${sha256}" is not a sha256 in hex`);
      const file = name ?? (posix.basename(url.split('?')[0]) || 'download');
      d.portage = { ...d.portage, downloads: [...d.portage.downloads, { url, sha256, name: file }] };
    });
  }

  /** Adds a row to PACKAGES.md for something installed by hand (`log_as_installed`). @example img.record('manual', 'oracle-jdk-21') */
  record(group: string, name: string): Image {
    return this.next('record', this.record, (d) => {
      d.portage = { ...d.portage, record: [...d.portage.record, { group, name }] };
    });
  }

  /** Locales kept (and generated on glibc). @example img.locale('en_US.UTF-8') */
  locale(...locales: string[]): Image {
    return this.next('locale', this.locale, (d, _s, problem) => {
      for (const l of locales)
        if (!/^[A-Za-z]{2,3}(_[A-Z]{2})?(\.[A-Za-z0-9-]+)?(@[a-z]+)?$|^C(\.UTF-8|\.utf8)?$|^POSIX$/.test(l))
          problem(`"${l}" is not a locale name like en_US.UTF-8`);
      d.portage = { ...d.portage, locales: [...new Set([...d.portage.locales, ...locales])].sort() };
    });
  }

  /**
   * Keeps what the default purge removes: `headers`, `static-libs`, `docs`, `man`, ...;
   * `setuid` keeps setuid/setgid bits (removed and reported by default) and
   * `world-writable` keeps `o+w` on files a hook made world-writable.
   * @example img.keep('headers', 'static-libs')
   * @example img.keep('setuid') // a sudo-like image that needs its setuid helper
   */
  keep(...categories: KeepCategory[]): Image {
    return this.next('keep', this.keep, (d, _s, problem) => {
      for (const c of categories)
        if (!KEEP_CATEGORIES.includes(c)) problem(`keep: unknown category "${c}" (known: ${KEEP_CATEGORIES.join(', ')})`);
      d.keep = [...new Set([...d.keep, ...categories])].sort();
    });
  }

  /** Extra globs removed from the root filesystem. @example img.purge('usr/share/nginx/html/**') */
  purge(...globs: string[]): Image {
    return this.next('purge', this.purge, (d, _s, problem) => {
      for (const g of globs) problem(v.checkGlob(g));
      d.purge = [...d.purge, ...globs];
    });
  }

  /**
   * Prunes the root to the ELF closure of `roots` plus `keep`.
   * @example img.closure({ roots: ['/usr/bin/nmap'], keep: ['/usr/share/nmap/**'] })
   */
  closure(props: ClosureProps): Image {
    return this.next('closure', this.closure, (d, _s, problem) => {
      if (props.roots.length === 0) problem('closure: roots is empty');
      for (const g of [...props.roots, ...(props.keep ?? [])]) problem(v.checkGlob(g));
      d.closure = { roots: [...props.roots], keep: [...(props.keep ?? [])] };
    });
  }

  /**
   * Files from another image, with their ELF closure.
   * @example image('acme/tools').copy({ from: busybox, paths: ['/bin/busybox'] })
   */
  copy(props: CopyProps): Image {
    return this.next('copy', this.copy, (d, site, problem) => {
      if (typeof props.from === 'string') problem(v.checkImageId(props.from));
      if (props.paths.length === 0) problem('copy: paths is empty');
      for (const g of props.paths) problem(v.checkGlob(g));
      d.copies = [...d.copies, { from: props.from, paths: [...props.paths], site }];
    });
  }

  /**
   * Adds a file, directory or symlink. `{ src }` is relative to the defining file.
   * @example
   * img.file('/etc/nginx/nginx.conf', { src: 'nginx.conf' })
   *    .file('/var/cache/app', { dir: true }, { owner: 'app', mode: 0o700 })
   */
  file(path: string, content: FileContent, opts: FileOptions = {}): Image {
    return this.next('file', this.file, (d, site, problem) => {
      problem(v.checkAbsolutePath(path, 'file'));
      if (/(^|\/)\.wh\./.test(path)) problem(`file ${path}: ".wh." names are layer whiteouts, which would delete a parent's files`);
      let type: FileState['type'] = 'file';
      let data: Buffer | null = null;
      let target: string | null = null;
      let srcMode: number | null = null;
      if (typeof content === 'string') data = Buffer.from(content);
      else if (content instanceof Uint8Array) data = Buffer.from(content);
      else if ('src' in content) {
        const abs = resolve(site.dir(), content.src);
        data = readSource(abs, problem, `file ${path}`) ?? Buffer.alloc(0);
        const outside = outsideProject(abs, site.dir());
        if (outside) {
          // A file from elsewhere on the host (../../etc/shadow) keeps its mode unless told, and is said out loud.
          srcMode = outside.mode;
          d.warnings = [
            ...d.warnings,
            {
              site,
              message: `file ${path}: its source ${abs} is outside the project (${outside.root}); it is copied into the assembly and the image${opts.mode === undefined ? ` with its mode 0${outside.mode.toString(8)}` : ''}`,
            },
          ];
        }
      } else if ('dir' in content) type = 'dir';
      else if ('symlink' in content) {
        type = 'symlink';
        target = content.symlink;
        if (!target) problem(`file ${path}: empty symlink target`);
      }
      const mode = v.parseMode(opts.mode, type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : (srcMode ?? 0o644), problem);
      const owner = opts.owner === undefined ? 'root' : String(opts.owner);
      let norm = posix.normalize(path);
      if (norm === '/') problem(`file "${path}": the root directory is the image's own; name a path below it`);
      else if (norm.endsWith('/') || /\/\.$/.test(path)) {
        if (type === 'dir') norm = norm.replace(/\/+$/, '');
        else problem(`file "${path}" ends in "/": name the ${type === 'symlink' ? 'link' : 'file'} (a directory is { dir: true })`);
      }
      d.files = { last: { path: norm, type, mode, owner, content: data, target, site }, before: d.files };
    });
  }

  /**
   * Adds a host directory tree at `dest`, as a Dockerfile's `COPY app/ /app/`. `src` is
   * relative to the defining file. Entries are read at the call and become one layer
   * of their own above the packages (as `.file()`s are), so editing one file of the
   * tree rebuilds and loads only that layer; split rarely-changing parts (`node_modules`)
   * into a `.dir()` of their own to keep them in a layer that stays.
   *
   * Ignore patterns follow `.dockerignore` (`<src>/.dockerignore` is read unless
   * `dockerignore: false`). Modes are the host's (or `mode`), owners numeric, times
   * SOURCE_DATE_EPOCH; setuid/setgid bits and world-writable modes are removed and
   * reported unless the image `.keep()`s them. Symlinks stay links; a link leaving
   * the tree, a FIFO, socket or device is refused, naming the path.
   * @example
   * image('acme/app').from(node)
   *   .dir('/app/node_modules', { src: 'app/node_modules', owner: 'app' })
   *   .dir('/app', { src: 'app', ignore: ['node_modules', '**\/*.log'], owner: 'app' })
   */
  dir(dest: string, props: DirProps): Image {
    return this.next('dir', this.dir, (d, site, problem) => {
      problem(v.checkAbsolutePath(dest, 'dir'));
      if (/(^|\/)\.wh\./.test(dest)) problem(`dir ${dest}: ".wh." names are layer whiteouts, which would delete a parent's files`);
      const norm = posix.normalize(dest).replace(/(.)\/+$/, '$1');
      if (typeof props?.src !== 'string' || props.src === '') {
        problem(`dir ${dest}: src must name a host directory`);
        return;
      }
      const ignore = props.ignore ?? [];
      if (!Array.isArray(ignore) || ignore.some((p) => typeof p !== 'string')) problem(`dir ${dest}: ignore must be a list of patterns`);
      const m = props.mode;
      const both = typeof m === 'object' && m !== null ? m : { file: m, dir: m };
      const fileMode = both.file === undefined ? null : v.parseMode(both.file, 0o644, problem);
      const dirMode = both.dir === undefined ? null : v.parseMode(both.dir, 0o755, problem);
      const abs = resolve(site.dir(), props.src);
      const tree = readTree(abs, { ignore: Array.isArray(ignore) ? ignore : [], dockerignore: props.dockerignore });
      for (const p of tree.problems) problem(`dir ${dest}: ${p}`);
      const outside = outsideProject(abs, site.dir());
      if (outside)
        d.warnings = [
          ...d.warnings,
          {
            site,
            message: `dir ${dest}: its source ${abs} is outside the project (${outside.root}); it is copied into the assembly and the image`,
          },
        ];
      const entries = tree.entries
        .filter((e) => !(norm === '/' && e.rel === ''))
        .map((e) =>
          e.type === 'file' && fileMode !== null
            ? { ...e, mode: fileMode }
            : e.type === 'dir' && dirMode !== null
              ? { ...e, mode: dirMode }
              : e,
        );
      const owner = props.owner === undefined ? 'root' : String(props.owner);
      d.dirs = [...d.dirs.filter((x) => x.dest !== norm), { dest: norm, src: abs, owner, entries, site }];
    });
  }

  /**
   * A user and group written to /etc/passwd and /etc/group.
   * @example img.account({ user: 'nmap', uid: 1000 })
   */
  account(props: AccountProps): Image {
    return this.next('account', this.account, (d, _s, problem) => {
      problem(v.checkAccountName(props.user));
      problem(v.checkId('uid', props.uid));
      const gid = props.gid ?? props.uid;
      problem(v.checkId('gid', gid));
      const group = props.group ?? props.user;
      problem(v.checkAccountName(group));
      const a: AccountDef = {
        user: props.user,
        uid: props.uid,
        group,
        gid,
        home: props.home ?? `/home/${props.user}`,
        shell: props.shell ?? '/sbin/nologin',
      };
      d.accounts = [...d.accounts.filter((x) => x.user !== a.user), a];
    });
  }

  /**
   * The user the image runs as: a name from `.account()`, `nobody`, `root`, or a uid.
   * @example img.user('nobody')
   */
  user(name: string | number): Image {
    return this.next('user', this.user, (d, _s, problem) => {
      const u = String(name);
      if (typeof name === 'number') problem(v.checkId('uid', name));
      else if (!/^\d+(:\d+)?$/.test(u)) problem(v.checkAccountName(u));
      d.config = { ...d.config, user: u };
    });
  }

  /** Allows the image to run as root (otherwise an error at synth). @example img.allowRoot() */
  allowRoot(): Image {
    return this.next('allowRoot', this.allowRoot, (d) => {
      d.allowRoot = true;
    });
  }

  /**
   * Runs the program under an init as PID 1, which forwards signals to it and reaps
   * its children. Without one, a program that installs no SIGTERM handler (node,
   * python) ignores `docker stop` as PID 1 and is killed only after the 10 s timeout.
   *
   * The init is the distribution's `tini` (Debian `tini`, Gentoo `sys-process/tini`),
   * installed into the image and put before the entrypoint: the image's config says
   * `/usr/bin/tini -- <entrypoint…>`. An OCI config has no init flag, so this works on
   * every engine and with `docker run` without `--init`. Children inherit it and keep it
   * in front of an entrypoint of their own; `.init(false)` turns it off.
   *
   * @example image('acme/api').from(node).entrypoint('/usr/bin/node', '/app/main.js').init()
   */
  init(enabled = true): Image {
    return this.next('init', this.init, (d) => {
      d.config = { ...d.config, init: enabled };
    });
  }

  /** The entrypoint. @example img.entrypoint('/usr/sbin/nginx', '-g', 'daemon off;') */
  entrypoint(...args: string[]): Image {
    return this.next('entrypoint', this.entrypoint, (d, _s, problem) => {
      if (args.length === 0 || args[0] === '') problem('entrypoint is empty');
      d.config = { ...d.config, entrypoint: args };
    });
  }

  /** The default command (arguments to the entrypoint). @example img.cmd('--help') */
  cmd(...args: string[]): Image {
    return this.next('cmd', this.cmd, (d, _s, problem) => {
      if (args.length === 0) problem('cmd is empty');
      d.config = { ...d.config, cmd: args };
    });
  }

  /** An environment variable. @example img.env('LANG', 'C.UTF-8') */
  env(name: string, value: string): Image {
    return this.next('env', this.env, (d, _s, problem) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) problem(`"${name}" is not an environment variable name`);
      d.config = { ...d.config, env: { ...d.config.env, [name]: value } };
    });
  }

  /** The working directory. @example img.workdir('/srv') */
  workdir(path: string): Image {
    return this.next('workdir', this.workdir, (d, _s, problem) => {
      problem(v.checkAbsolutePath(path, 'workdir'));
      d.config = { ...d.config, workdir: path };
    });
  }

  /** Ports the image listens on: `8080`, `'53/udp'`. @example img.expose(8080) */
  expose(...ports: (number | string)[]): Image {
    return this.next('expose', this.expose, (d, _s, problem) => {
      const norm = ports.map((p) => v.normalizePort(p, problem));
      d.config = { ...d.config, expose: [...new Set([...d.config.expose, ...norm])].sort() };
    });
  }

  /** Volumes. @example img.volume('/data') */
  volume(...paths: string[]): Image {
    return this.next('volume', this.volume, (d, _s, problem) => {
      for (const p of paths) problem(v.checkAbsolutePath(p, 'volume'));
      d.config = { ...d.config, volumes: [...new Set([...d.config.volumes, ...paths])].sort() };
    });
  }

  /** An OCI label. @example img.label('org.opencontainers.image.source', 'https://…') */
  label(key: string, value: string): Image {
    return this.next('label', this.label, (d, _s, problem) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(key)) problem(`"${key}" is not a label key`);
      d.config = { ...d.config, labels: { ...d.config.labels, [key]: value } };
    });
  }

  /** Extra tags (besides `latest` and the key). @example img.tag('1.25', 'stable') */
  tag(...tags: string[]): Image {
    return this.next('tag', this.tag, (d, _s, problem) => {
      for (const t of tags) if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(t)) problem(`"${t}" is not a valid tag`);
      d.tags = [...new Set([...d.tags, ...tags])].sort();
    });
  }

  /** Libraries loaded with dlopen (NSS, plugins), checked like DT_NEEDED. @example img.needs('libnss_files.so.2') */
  needs(...sonames: string[]): Image {
    return this.next('needs', this.needs, (d, _s, problem) => {
      for (const s of sonames) if (!/^[^/\s]+\.so(\.[0-9A-Za-z._-]+)?$/.test(s)) problem(`"${s}" is not a library soname`);
      d.needs = [...new Set([...d.needs, ...sonames])].sort();
    });
  }

  /** Shell run in the builder before anything is installed. @example img.configureBuilder('emerge -1 dev-vcs/git') */
  configureBuilder(sh: string): Image {
    return this.hook('configureBuilder', sh, this.configureBuilder);
  }

  /** Shell run with ROOT set, before the packages are installed. @example img.configureRootfs('mkdir -p $ROOT/srv') */
  configureRootfs(sh: string): Image {
    return this.hook('configureRootfs', sh, this.configureRootfs);
  }

  /** Shell run after the install, before the purge. @example img.finishRootfs('rm -rf $ROOT/usr/share/nginx/html') */
  finishRootfs(sh: string): Image {
    return this.hook('finishRootfs', sh, this.finishRootfs);
  }

  private hook(name: 'configureBuilder' | 'configureRootfs' | 'finishRootfs', sh: string, fn: Function): Image {
    return this.next(name, fn, (d, _s, problem) => {
      if (!sh.trim()) problem(`${name}: empty script`);
      d.hooks = { ...d.hooks, [name]: [...d.hooks[name], sh] };
    });
  }

  /** A command run in the built image; a non-zero exit fails the deploy. @example img.test('/usr/sbin/nginx -t') */
  test(cmd: string | readonly string[]): Image {
    return this.next('test', this.test, (d, _s, problem) => {
      const c = typeof cmd === 'string' ? cmd : JSON.stringify(cmd);
      if (!c.trim() || c === '[]') problem('test: empty command');
      d.tests = [...d.tests, c];
    });
  }

  /**
   * The started check: deploy starts the built image once (its entrypoint, as it
   * will run) before tagging it, and fails naming the image with the log's tail
   * when the server does not come up within `timeout` seconds (or exits).
   * @example image('acme/db').packages('postgresql').entrypoint(...).ready({ port: 5432 })
   * @example image('acme/cache').packages('redis-server').entrypoint('redis-server').ready({ cmd: ['redis-cli', 'ping'], timeout: 10 })
   */
  ready(props: ReadyProps): Image {
    return this.next('ready', this.ready, (d, _s, problem) => {
      const cmd =
        props.cmd === undefined
          ? undefined
          : typeof props.cmd === 'string'
            ? props.cmd.trim().split(/\s+/).filter(Boolean)
            : [...props.cmd];
      if ((props.port === undefined) === (cmd === undefined)) problem('ready: give either a port or a cmd');
      if (props.port !== undefined && !(Number.isInteger(props.port) && props.port > 0 && props.port < 65536))
        problem(`ready: port ${props.port} is not a TCP port (1-65535)`);
      if (cmd !== undefined && cmd.length === 0) problem('ready: empty command');
      const timeout = props.timeout ?? 30;
      if (!(Number.isFinite(timeout) && timeout > 0)) problem(`ready: timeout ${timeout} must be a number of seconds > 0`);
      d.ready = { ...(props.port !== undefined ? { port: props.port } : {}), ...(cmd ? { cmd } : {}), timeout };
    });
  }

  /** A health check, also run after a build. @example img.healthcheck({ cmd: ['/usr/bin/wget', '-q', 'localhost:8080'] }) */
  healthcheck(props: HealthcheckProps): Image {
    return this.next('healthcheck', this.healthcheck, (d, _s, problem) => {
      const cmd = typeof props.cmd === 'string' ? ['/bin/sh', '-c', props.cmd] : [...props.cmd];
      if (cmd.length === 0) problem('healthcheck: empty command');
      const hc: HealthcheckDef = {
        cmd,
        interval: props.interval ?? 5,
        timeout: props.timeout ?? 5,
        retries: props.retries ?? 3,
        startPeriod: props.startPeriod ?? 3,
      };
      for (const k of ['interval', 'timeout', 'retries', 'startPeriod'] as const) {
        if (!(Number.isFinite(hc[k]) && hc[k] >= 0)) problem(`healthcheck: ${k} must be a number >= 0`);
      }
      d.config = { ...d.config, healthcheck: hc };
    });
  }

  /** Also builds `<id>:debug`, with a busybox shell added on top. @example img.debug() */
  debug(): Image {
    return this.next('debug', this.debug, (d) => {
      d.debug = true;
    });
  }

  /**
   * OpenVEX statements about this image: which vulnerabilities affect it, and which do
   * not and why. Pushed with a signing key, they are attested as an OpenVEX document
   * (predicate `https://openvex.dev/ns/v0.2.0`) whose products default to the pushed
   * image. Calls add up; not part of the key. Takes statements or a whole OpenVEX
   * document (its statements are taken).
   * @example img.vex({ vulnerability: 'CVE-2023-4911', status: 'not_affected', justification: 'vulnerable_code_not_in_execute_path' })
   */
  vex(...statements: readonly (VexStatement | { readonly statements: readonly VexStatement[] })[]): Image {
    return this.next('vex', this.vex, (d, _site, problem) => {
      const flat = statements.flatMap((x) => ('statements' in x && Array.isArray(x.statements) ? x.statements : [x as VexStatement]));
      const ok: VexStatementDef[] = [];
      for (const st of flat) {
        const m = checkVexStatement(st);
        problem(m);
        if (!m) ok.push(normalizeVex(st));
      }
      d.vex = [...d.vex, ...ok];
    });
  }

  /**
   * Applies a reusable transform.
   * @example const hardened = (i: Image) => i.user('nobody'); img.with(hardened)
   */
  with(fn: (img: Image) => Image): Image {
    const r: unknown = fn(this);
    return Image.isImage(r) ? r : this.problemAt('with', this.with, `.with(): the function returned ${describeValue(r)}, not an image`);
  }
}

/**
 * The project a defining file belongs to: the nearest directory above it with a
 * package.json (or .git), else the file's own directory. Returns that root and the
 * source's mode when `src` (symlinks resolved) lies outside it, else null.
 */
function outsideProject(src: string, fromDir: string): { root: string; mode: number } | null {
  const root = projectRoot(fromDir);
  try {
    const real = realpathSync(src);
    const rel = relative(realpathSync(root), real);
    if (!rel.startsWith('..') && !isAbsolute(rel)) return null;
    return { root, mode: statSync(real).mode & 0o7777 };
  } catch {
    return null; // unreadable: already a problem
  }
}

// Thousands of `.file()` calls from one file ask for the same root: look it up once per directory.
const roots = new Map<string, string>();

function projectRoot(fromDir: string): string {
  let root = roots.get(fromDir);
  if (root !== undefined) return root;
  root = fromDir;
  for (let d = fromDir; ; d = dirname(d)) {
    if (existsSync(join(d, 'package.json')) || existsSync(join(d, '.git'))) {
      root = d;
      break;
    }
    if (dirname(d) === d) break;
  }
  roots.set(fromDir, root);
  return root;
}

/** A source's bytes, or null with the problem recorded; never reads what is not a regular file. */
function readSource(path: string, problem: (m: string) => void, what: string): Buffer | null {
  const r = readRegularFile(path);
  if ('data' in r) return r.data;
  problem(`${what}: ${r.problem}`);
  return null;
}

/**
 * A new image with parent `scratch`.
 * @example export const web = image('acme/web').builder(deb).packages('nginx-light');
 */
export function image(id: string): Image {
  const bad = checkArgs('image()', ['string'], [id]);
  if (!bad) return Image.create(id, Site.here(image));
  const site = Site.here(image);
  return Image.create(INVALID_ID, site).problemAt('image', image, bad, site);
}

/** The id of an image whose `image(id)` was not given a string (the problem says so). */
const INVALID_ID = 'invalid/id';

/**
 * The runtime types of every public method's arguments (args.ts), for JavaScript
 * callers: one line per method, checked before its body runs. A new public method
 * adds its line (test/sdk/args.test.ts checks that every method has one).
 */
export const IMAGE_SIGNATURES: Readonly<Record<string, readonly ParamSpec[]>> = {
  from: ['image|string'],
  builder: ['builder'],
  platforms: ['...string'],
  packages: ['...string'],
  use: ['string', '...string'],
  keywords: ['string', '...string'],
  mask: ['...string'],
  unmask: ['...string'],
  unmaskUse: ['string', '...string'],
  makeConf: ['record'],
  packageEnv: ['string', 'record'],
  overlay: ['string', '{uri:string,type:?string,branch:?string}'],
  provide: ['...string'],
  unprovide: ['...string'],
  patch: ['string', 'string'],
  uninstall: ['...string'],
  noBinpkgCache: ['...string'],
  runtimeLibs: ['...string'],
  download: ['string', 'string', '?string'],
  record: ['string', 'string'],
  locale: ['...string'],
  keep: ['...string'],
  purge: ['...string'],
  closure: ['{roots:strings,keep:?strings}'],
  copy: ['{from:image/string,paths:strings}'],
  file: ['string', 'string|bytes|{src:?string,dir:?boolean,symlink:?string}', '?{mode:?integer/string,owner:?string/integer}'],
  account: ['{user:string,uid:integer,group:?string,gid:?integer,home:?string,shell:?string}'],
  user: ['string|integer'],
  allowRoot: [],
  entrypoint: ['...string'],
  cmd: ['...string'],
  env: ['string', 'string'],
  workdir: ['string'],
  expose: ['...integer|string'],
  volume: ['...string'],
  label: ['string', 'string'],
  tag: ['...string'],
  needs: ['...string'],
  configureBuilder: ['string'],
  configureRootfs: ['string'],
  finishRootfs: ['string'],
  test: ['string|strings'],
  healthcheck: ['{cmd:strings/string,interval:?number,timeout:?number,retries:?integer,startPeriod:?number}'],
  dir: ['string', '{src:string,ignore:?strings,dockerignore:?boolean,owner:?string/integer,mode:?integer/string/object}'],
  init: ['?boolean'],
  ready: ['object'],
  vex: ['...object'],
  debug: [],
  with: ['function'],
};

for (const [name, params] of Object.entries(IMAGE_SIGNATURES)) {
  const proto = Image.prototype as unknown as Record<string, (this: Image, ...args: unknown[]) => Image>;
  const body = proto[name];
  if (typeof body !== 'function') continue;
  // Named as the method, so Site.here(this.<method>) inside the body skips this frame too.
  const checked = {
    [name](this: Image, ...args: unknown[]): Image {
      const bad = checkArgs(`.${name}()`, params, args);
      return bad ? this.problemAt(name, checked, bad) : body.apply(this, args);
    },
  }[name];
  proto[name] = checked;
}

Object.defineProperty(Image.prototype, IMAGE_BRAND, { value: true });
