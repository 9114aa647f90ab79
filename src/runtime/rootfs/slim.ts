import type { PackageInfo } from '../store/state';
import { closure } from './closure';
import type { Entry } from '../store/entry';
import type { Libc } from './linkcheck';
import { globToRegExp, Layers, parents } from './resolve';
import type { References } from './references';

/**
 * Slimming: Debian pulls in libraries whole, and base packages for maintainer
 * scripts (debconf, adduser, passwd) or for other machines' needs (iproute2). The
 * requested packages and the ordinary packages they depend on stay whole. Library
 * and base packages (and, in a child, the parent's packages that this image needs
 * again) are "partial": of them, the image keeps what it can be shown to use, and
 * drops only what it can show unused:
 *
 * - shared libraries in the loader's directories that nothing kept links;
 * - programs in bin/sbin directories that nothing kept runs (as a `#!` interpreter);
 * - the modules, helpers, data and configuration of a package none of whose ELF
 *   files is used (a package used for one library keeps its modules and data:
 *   Ruby's library, Perl's modules, OpenSSL's providers, ICU's data);
 * - an interpreter's library tree (Perl, Python, Ruby, Tcl, Lua) when the image has
 *   no such interpreter;
 * - glibc's gconv modules when no kept file calls `iconv_open`;
 * - compiled locales (libc-bin's C.UTF-8) that no kept file names and `.locale()`
 *   does not declare.
 *
 * What programs load or run by a name no ELF header carries is kept with the package
 * that provides it (references.ts reads the names): the paths a kept configuration
 * file or script names (modules, included files, programs it runs), the locales it
 * names, and the commands a kept shell script or a program's `system()` runs,
 * resolved on PATH. OpenSSL's providers and engines go with libssl3 when it is used
 * (python3-cryptography loads the legacy provider at import, named by no file).
 *
 * Debian's Essential packages, which nothing declares a dependency on, are offered by
 * phase 1 as files: dash, whose /bin/sh is kept when a kept script names it or a kept
 * program calls popen/system (never when a policy forbids shells); bash and env for
 * `#!` lines; coreutils and the other Essential tools for scripts; libc-bin for the
 * C.UTF-8 locale; base-passwd for the standard accounts. Of an offered package only
 * what is named is kept: it is never "used" for having no ELF file.
 *
 * A package without ELF files (tzdata, netbase, ncurses-base, a package of scripts)
 * counts as used: the program that depends on it reads its data. Its programs in
 * bin/sbin and its interpreter trees follow the rules above.
 */

/** What slim() needs. */
export interface SlimInput {
  /** This image's entries (after purge). */
  readonly entries: readonly Entry[];
  /** Parent layers, oldest first. */
  readonly parents: readonly (readonly Entry[])[];
  /** Packages phase 1 installed (not the parent's). */
  readonly packages: readonly PackageInfo[];
  /** Packages as the image names them (`nginx-light`, `curl=7.88*`). */
  readonly requested: readonly string[];
  /** Sonames the image loads with dlopen (`.needs()`). */
  readonly needs: readonly string[];
  readonly libc: Libc;
  readonly ldSoConf: ReadonlyMap<string, string>;
  /** Globs the image's policies forbid (`noShell()`): a forbidden shell is never brought in. @default [] */
  readonly forbid?: readonly string[];
  /** What a file names (references.ts): read for kept files only. @default nothing */
  readonly references?: (e: Entry) => References;
  /** Locales the image declares (`.locale()`), as written. @default [] */
  readonly locales?: readonly string[];
}

/** What slim() kept and why it dropped the rest. */
export interface SlimResult {
  readonly entries: Entry[];
  /** Partial packages none of whose files is used (dropped whole but for library configuration). */
  readonly unused: readonly string[];
  /** Files kept because a kept file names them (path → the naming file), for PACKAGES.md. @default none */
  readonly named?: ReadonlyMap<string, string>;
}

const BIN_DIR = /^(?:usr\/(?:local\/)?)?s?bin\//;
const GCONV = /(?:^|\/)gconv\//;
/** A compiled locale's files (libc-bin's C.UTF-8, which tmux, Python and PostgreSQL's configuration ask for). */
const LOCALE_DIR = /^usr\/lib\/locale\/([^/]+)\//;
/**
 * Debian's Essential packages (bookworm), offered by phase 1 without a dependency:
 * only what a kept file names is kept of them.
 */
export const ESSENTIAL = new Set([
  'base-files',
  'base-passwd',
  'bash',
  'bsdutils',
  'coreutils',
  'dash',
  'debianutils',
  'diffutils',
  'dpkg',
  'findutils',
  'grep',
  'gzip',
  'hostname',
  'init-system-helpers',
  'libc-bin',
  'login',
  'ncurses-base',
  'ncurses-bin',
  'perl-base',
  'sed',
  'sysvinit-utils',
  'tar',
  'util-linux',
]);
/** Where a shell is looked for (dash's /bin/sh, canonical). */
const SHELLS = ['usr/bin/sh', 'bin/sh', 'usr/bin/dash', 'bin/dash'];
const isLibc = (e: Entry) => e.elf?.soname === 'libc.so.6' || /^libc\.musl/.test(e.elf?.soname ?? '');

const USRMERGE = /^(?:bin|sbin|lib|lib32|lib64|libx32)$/;

/** Debian's default PATH, where `#!/usr/bin/env NAME` finds NAME. */
const PATH_DIRS = ['usr/local/sbin', 'usr/local/bin', 'usr/sbin', 'usr/bin', 'sbin', 'bin'];
/** Directories ld.so searches by default (multiarch and lib64 included), where a library nobody links is unused. */
const LOADER_DIR = /^(?:usr\/)?lib(?:32|64|x32)?\/(?:[^/]+-linux-gnu[^/]*\/)?[^/]+$/;

/** An interpreter's library tree and the files that show the interpreter is in the image. */
const INTERPRETERS: readonly { readonly name: string; readonly tree: RegExp; readonly present: RegExp }[] = [
  {
    name: 'perl',
    tree: /^usr\/(?:share\/perl5?|lib\/[^/]+-linux-gnu[^/]*\/perl(?:5|-base)?|lib\/perl5?)\//,
    present: /^usr\/bin\/perl(?:5[.\d]*)?$|\/libperl\.so/,
  },
  {
    name: 'python',
    tree: /^usr\/lib\/python3(?:\.\d+)?\/|^usr\/share\/python3?\//,
    present: /^usr\/bin\/python3(?:\.\d+)?$|\/libpython3\.\d+\.so/,
  },
  {
    name: 'ruby',
    tree: /^usr\/lib\/ruby\/|^usr\/lib\/[^/]+-linux-gnu[^/]*\/ruby\/|^usr\/share\/rubygems-integration\//,
    present: /\/libruby[-\d.]*\.so|^usr\/bin\/ruby/,
  },
  { name: 'tcl', tree: /^usr\/share\/tcltk\/|^usr\/lib\/tcltk\//, present: /\/libtcl8\.\d+\.so|^usr\/bin\/tclsh/ },
  { name: 'lua', tree: /^usr\/share\/lua\/|^usr\/lib\/[^/]+-linux-gnu[^/]*\/lua\//, present: /\/liblua5\.\d+\.so|^usr\/bin\/lua/ },
];

/**
 * Slims the partial packages of an image (see the module comment). Entries of
 * packages that are not this image's own (the parent's, brought again by phase 1)
 * are partial too, and dropped where a parent layer already has the path.
 *
 * @example
 * const { entries } = slim({ entries, parents, packages, requested: ['nginx-light'], needs: [], libc: 'glibc', ldSoConf });
 */
export function slim(input: SlimInput): SlimResult {
  const own = new Set(input.packages.map((p) => p.name));
  const partial = partialPackages(input.requested, input.packages);
  const parentFs = new Layers(input.parents);
  // The parent's packages: only what the parent's layers lack.
  const offered = new Set([...ESSENTIAL].filter((p) => !own.has(p)));
  const entries = ofAlternatives(
    input.entries.filter((e) => !e.origin || own.has(e.origin) || !parentFs.get(e.path)),
    input.parents,
    offered,
  );
  const isPartial = (e: Entry) => !!e.origin && (partial.has(e.origin) || !own.has(e.origin));
  if (!entries.some(isPartial)) return { entries: [...entries], unused: [] };

  const libConfig = new Set(input.packages.filter((p) => p.section === 'libs' || p.section === 'oldlibs').map((p) => p.name));
  const needs = new Set(input.needs);
  const byPackage = new Map<string, Entry[]>();
  const roots = new Set<string>();
  for (const e of entries) {
    if (e.type === 'dir') continue;
    if (!isPartial(e)) roots.add(e.path);
    else {
      const files = byPackage.get(e.origin!);
      if (files) files.push(e);
      else byPackage.set(e.origin!, [e]);
      // A library's configuration (ld.so.conf.d, netconfig) goes with the library.
      if (e.path.startsWith('etc/') && libConfig.has(e.origin!)) roots.add(e.path);
      if (needs.has(e.path.slice(e.path.lastIndexOf('/') + 1))) roots.add(e.path);
    }
  }
  const forbid = (input.forbid ?? []).map(globToRegExp);
  // dash is offered, not depended on: without glibc in the image (busybox-static) it could not run.
  const glibc = [...input.parents, entries].some((layer) => layer.some((e) => e.elf?.soname === 'libc.so.6'));
  const noShell = !glibc || SHELLS.some((p) => forbid.some((r) => r.test(p)));
  const shell = SHELLS.find((p) => entries.some((e) => e.path === p));
  const named = namedBy(input, entries, forbid);
  // Kept files can need more (a module's libraries): repeat until nothing is added.
  let kept: Entry[] = [];
  let used: Set<string>;
  for (;;) {
    kept = roots.size
      ? closure([...input.parents, entries], {
          libc: input.libc,
          roots: [...roots],
          keep: [],
          ldSoConf: input.ldSoConf,
          literal: true,
          skipInterpreter: (p) => (noShell && SHELLS.includes(p)) || forbid.some((r) => r.test(p)),
        })
      : [];
    const names = named(kept);
    const beyond = usedBeyondLoading(kept, byPackage, input.parents, offered, names.locales);
    used = beyond.used;
    const more = [...beyond.paths, ...names.paths].filter((p) => !roots.has(p));
    // popen() and system() run /bin/sh: a program that calls them gets it, unless a policy forbids shells.
    // So does a configuration that names a script to run (lighttpd's include_shell runs it with /bin/sh -c).
    if (!noShell && shell && !roots.has(shell) && (names.runsScript || kept.some((e) => e.elf?.shell && !isLibc(e)))) more.push(shell);
    if (!more.length) break;
    for (const p of more) roots.add(p);
  }

  const have = new Set(kept.map((e) => e.path));
  // The directories of whole and used packages (/var/log/nginx, conf.d) are part of them too,
  // and used packages' symlinks to files that are kept (libfoo.so.1 -> libfoo.so.1.2 came along already).
  // Symlinks are looked up with every candidate symlink in place, so chains resolve.
  const view = new Layers([...input.parents, kept, entries.filter((e) => e.type === 'symlink' && !have.has(e.path))]);
  const keptDirs = new Set(kept.flatMap((e) => parents(e.path)));
  const extra = entries.filter((e) => {
    if (have.has(e.path)) return false;
    // The usrmerge links (/bin -> usr/bin, /lib64 -> usr/lib64) are the layout, not a
    // package's content: an entrypoint /bin/bash needs them whoever owns them. (Kept as
    // links only: as closure roots they would keep all of usr/bin.)
    if (e.type === 'symlink' && USRMERGE.test(e.path) && /^\/?usr\//.test(e.linkname ?? '')) return true;
    if (isPartial(e) && !used.has(e.origin!)) return false;
    if (e.type === 'dir') return true;
    if (e.type !== 'symlink' || !isPartial(e)) return false;
    const target = view.resolve(e.path);
    // To a kept file, or to a directory that holds kept files (perl's share/perl/5.36 -> 5.36.0).
    return !!target && (target.entry.type === 'dir' ? keptDirs.has(target.path) : have.has(target.path));
  });
  const unused = [...byPackage.keys()].filter((p) => !used.has(p) && partial.has(p)).sort();
  // Reported: what a partial package kept only because a kept file names it.
  const partialPaths = new Set(kept.filter(isPartial).map((e) => e.path));
  const byName = new Map([...named.why].filter(([p]) => partialPaths.has(p)).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { entries: [...kept, ...extra], unused, ...(byName.size ? { named: byName } : {}) };
}

/**
 * Partial packages with an ELF file among the kept entries, and those without ELF
 * files (data, scripts) unless they are tools that cannot run here: programs in
 * bin/sbin whose interpreter the image lacks (debconf, adduser without perl).
 */
function usedPackages(
  kept: readonly Entry[],
  byPackage: ReadonlyMap<string, readonly Entry[]>,
  runs: (interp: string) => boolean,
  offered: ReadonlySet<string>,
): Set<string> {
  const used = new Set(kept.filter((e) => e.type === 'file' && e.elf && e.origin).map((e) => e.origin!));
  for (const [pkg, files] of byPackage) {
    // An offered package (base-files) is no program's dependency: only what is named of it counts.
    if (offered.has(pkg)) {
      if (files.some((e) => e.type === 'file' && kept.includes(e))) used.add(pkg);
      continue;
    }
    if (files.some((e) => e.elf)) continue;
    const programs = files.filter((e) => e.shebang && BIN_DIR.test(e.path));
    if (!programs.length || programs.some((e) => runs(e.shebang!))) used.add(pkg);
  }
  return used;
}

/** Whether a `#!` interpreter (a path, or a name `env` finds in PATH) is in `view`. */
function interpreterIn(view: Layers): (interp: string) => boolean {
  return (interp) => (interp.includes('/') ? !!view.lookup(interp) : PATH_DIRS.some((d) => view.lookup(`${d}/${interp}`)));
}

/**
 * Files of partial packages kept although nothing loads them by DT_NEEDED: the
 * modules, helpers and data of used packages, interpreter trees of interpreters the
 * image has, gconv modules when something calls iconv_open.
 */
function usedBeyondLoading(
  kept: readonly Entry[],
  byPackage: ReadonlyMap<string, readonly Entry[]>,
  parents: readonly (readonly Entry[])[],
  offered: ReadonlySet<string>,
  locales: ReadonlySet<string>,
): { paths: string[]; used: Set<string> } {
  const runs = interpreterIn(new Layers([...parents, kept]));
  const used = usedPackages(kept, byPackage, runs, offered);
  const all = [...parents.flat(), ...kept];
  const interpreters = new Set(INTERPRETERS.filter((i) => all.some((e) => e.type !== 'dir' && i.present.test(e.path))).map((i) => i.name));
  const iconv = all.some((e) => e.elf?.iconv && !isLibc(e));
  const namedLocales = new Set(locales);
  if (all.some((e) => e.elf?.utf8Locale && !isLibc(e))) namedLocales.add('C.utf8');
  const out: string[] = [];
  for (const [pkg, files] of byPackage) {
    for (const e of files) {
      // Directories and symlinks follow what they lead to (see slim()); a symlink to a
      // directory as a root would keep the whole directory.
      if (e.type === 'dir' || e.type === 'symlink') continue;
      const interp = INTERPRETERS.find((i) => i.tree.test(e.path));
      const locale = LOCALE_DIR.exec(e.path);
      let keep: boolean;
      if (interp) keep = interpreters.has(interp.name);
      else if (GCONV.test(e.path)) keep = iconv;
      else if (locale) keep = namedLocales.has(locale[1]);
      else if (!used.has(pkg) || offered.has(pkg)) keep = false;
      else if (BIN_DIR.test(e.path) && (e.elf?.interp || e.shebang)) keep = false;
      // A helper script of a library or base package never brings its interpreter in
      // (usrmerge's Perl scripts would keep all of Perl): kept only where it can run.
      else if (e.shebang && !runs(e.shebang)) keep = false;
      else if (e.elf && !e.elf.interp && LOADER_DIR.test(e.path)) keep = false;
      else keep = true;
      if (keep) out.push(e.path);
    }
  }
  return { paths: out, used };
}

/** Packages kept only for what is used of them: see slim(). */
export function partialPackages(requested: readonly string[], packages: readonly PackageInfo[]): Set<string> {
  const wanted = new Set(requested.map((p) => p.replace(/[=/:].*$/, '')));
  const byName = new Map(packages.map((p) => [p.name, p]));
  const whole = new Set<string>();
  // A virtual name (`awk`) stands for the installed package that provides it (mawk).
  for (const p of packages) if (p.provides?.some((v) => wanted.has(v))) wanted.add(p.name);
  const stack = [...wanted].filter((n) => byName.has(n));
  while (stack.length) {
    const name = stack.pop()!;
    if (whole.has(name)) continue;
    const p = byName.get(name)!;
    if (!wanted.has(name) && isLibraryOrBase(p)) continue;
    whole.add(name);
    for (const d of p.depends ?? []) if (byName.has(d) && !whole.has(d)) stack.push(d);
  }
  // Without dependency data (an older builder script), only the class of each package counts.
  const known = packages.some((p) => p.depends !== undefined);
  return new Set(packages.filter((p) => (known ? !whole.has(p.name) : !wanted.has(p.name) && isLibraryOrBase(p))).map((p) => p.name));
}

function isLibraryOrBase(p: PackageInfo): boolean {
  return p.section === 'libs' || p.section === 'oldlibs' || p.essential === true || p.priority === 'required' || p.priority === 'important';
}

/**
 * What the kept files name that the image has (see references.ts): paths of this
 * image's files, commands on PATH (never one a policy forbids), and locales (those
 * `.locale()` declares, too). Each file is read once; returns what is new.
 */
function namedBy(
  input: SlimInput,
  entries: readonly Entry[],
  forbid: readonly RegExp[],
): ((kept: readonly Entry[]) => { paths: string[]; locales: Set<string>; runsScript: boolean }) & { why: Map<string, string> } {
  const refs = input.references;
  const here = new Map(entries.map((e) => [e.path, e]));
  const view = new Layers([...input.parents, entries]);
  const locales = new Set((input.locales ?? []).map((l) => l.replace(/\.(UTF-8|utf-8|UTF8)/, '.utf8')));
  const seen = new Set<string>();
  const why = new Map<string, string>();
  // Whether a kept configuration file names an executable script (run through the shell).
  let runsScript = false;
  const fn = (kept: readonly Entry[]) => {
    const paths: string[] = [];
    if (!refs) return { paths, locales, runsScript };
    for (const e of kept) {
      if (e.type !== 'file' || seen.has(e.path)) continue;
      seen.add(e.path);
      const r = refs(e);
      const config = !e.elf && !e.shebang;
      for (const p of r.paths) {
        const t = here.get(p);
        if (t && t.type !== 'dir' && !forbid.some((f) => f.test(p))) {
          paths.push(p);
          if (!why.has(p)) why.set(p, e.path);
          if (config && t.type === 'file' && t.shebang && t.mode & 0o111) runsScript = true;
        }
      }
      for (const c of r.commands) {
        const p = PATH_DIRS.map((d) => `${d}/${c}`).find((q) => view.lookup(q));
        const real = p ? (view.resolve(p)?.path ?? p) : '';
        if (p && here.has(real) && !forbid.some((f) => f.test(p) || f.test(real))) {
          paths.push(p);
          if (!why.has(real)) why.set(real, e.path);
        }
      }
      for (const l of r.locales) locales.add(l);
    }
    return { paths, locales, runsScript };
  };
  return Object.assign(fn, { why });
}

/**
 * update-alternatives' links (`/usr/bin/which -> /etc/alternatives/which ->
 * /usr/bin/which.debianutils`) belong to no package; those that lead to a file of an
 * offered package count as that package's, so they stay only when its file does.
 */
function ofAlternatives(entries: readonly Entry[], parentLayers: readonly (readonly Entry[])[], offered: ReadonlySet<string>): Entry[] {
  const view = new Layers([...parentLayers, entries]);
  return entries.map((e) => {
    if (e.origin || e.type !== 'symlink' || !(e.path.startsWith('etc/alternatives/') || (e.linkname ?? '').includes('/etc/alternatives/')))
      return e;
    const target = view.resolve(e.path)?.entry.origin;
    return target && offered.has(target) ? { ...e, origin: target } : e;
  });
}
