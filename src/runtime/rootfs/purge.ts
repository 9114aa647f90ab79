import { RootfsError } from '../../contract/errors';
import type { Entry } from '../store/entry';
import { comparePaths, globToRegExp, Layers, parents } from './resolve';

/**
 * The purge: what a runtime image never needs (docs, headers, package databases, init
 * scripts, ...), removed by category so an image can keep one by name, plus the
 * image's own globs. The report feeds PACKAGES.md.
 */

/** The purge categories, in the order they are tried and reported. */
export const PURGE_CATEGORIES = [
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
  'portage',
  'ldcache',
  'python-cache',
  'extras',
] as const;

export type PurgeCategory = (typeof PURGE_CATEGORIES)[number];

/** Options of purge. */
export interface PurgeOptions {
  /** Image the entries belong to, named by errors. @default 'the image' */
  readonly image?: string;
  /** Categories not purged (`headers`, `docs`, ...). An unknown name is a RootfsError naming the image. */
  readonly keep: readonly string[];
  /** Extra globs removed (see globToRegExp); a matched directory goes with its content. */
  readonly purge: readonly string[];
  /**
   * Locales whose messages and compiled data stay (`en_US.UTF-8`, `de`); C and POSIX always stay.
   * @default []
   */
  readonly locales?: readonly string[];
}

/** What the purge removed. */
export interface PurgeReport {
  /** Entries and bytes removed per category, in PURGE_CATEGORIES order; categories that removed nothing are left out. */
  readonly categories: readonly { readonly category: PurgeCategory; readonly count: number; readonly bytes: number }[];
  /** Paths removed by the image's own globs, sorted. */
  readonly globbed: readonly string[];
  /** Bytes removed by the image's own globs. */
  readonly globbedBytes: number;
  /** Symlinks removed because what they pointed to was purged, sorted. */
  readonly dangling: readonly string[];
}

/** A subtree pattern removes the matched path and all under it; a file pattern only non-directories. */
interface Rule {
  readonly tree?: RegExp;
  readonly files?: RegExp;
  readonly test?: (e: Entry, locales: LocaleSet) => boolean;
}

const tree = (alternatives: string) => new RegExp(`^(?:${alternatives})(?:/|$)`);
const LIB = '(?:usr/(?:local/)?)?lib(?:32|64|x32)?';

const RULES: Readonly<Record<PurgeCategory, Rule>> = {
  docs: { tree: tree('usr/(?:local/)?share/(?:doc|doc-base|gtk-doc|lintian|linda)') },
  man: { tree: tree('usr/(?:local/)?share/man') },
  info: { tree: tree('usr/(?:local/)?share/info') },
  locales: { test: (e, l) => purgesLocale(e, l) },
  headers: { tree: tree('usr/include|usr/[^/]+/include') },
  'static-libs': { files: new RegExp(`^${LIB}/.*\\.(?:a|la|o)$`) },
  pkgconfig: { tree: /(?:^|\/)pkgconfig(?:\/|$)/ },
  cmake: { tree: tree('usr/lib(?:32|64)?(?:/[^/]+)?/cmake|usr/share/cmake') },
  // The directories stay: package managers and services expect them to exist.
  caches: { files: /^var\/(?:cache|lib\/apt|lib\/dpkg|log)\// },
  init: {
    tree: tree('etc/(?:init\\.d|rc.\\.d|systemd|logrotate\\.d|cron\\.[^/]+|ufw)|(?:usr/)?lib/systemd|usr/share/(?:bug|menu)'),
  },
  portage: {
    tree: tree('var/db/pkg|var/cache/edb|var/lib/portage|etc/portage|var/lib/gentoo|usr/share/(?:aclocal|gettext|gir-[^/]+|vala/vapi)'),
  },
  ldcache: { files: /^etc\/ld\.so\.cache$/ },
  'python-cache': { tree: /(?:^|\/)__pycache__(?:\/|$)/, files: /\.py[co]$/ },
  // Integration with tools an image does not have: editors, shells' completion, bug reporters.
  extras: {
    tree: tree('usr/share/(?:vim|nvim|emacs|bash-completion|zsh|fish|apport|reportbug)|etc/bash_completion\\.d'),
  },
};

interface LocaleSet {
  /** Languages (`en`, `de`) whose message catalogs stay. */
  readonly languages: ReadonlySet<string>;
  /** Normalized names (`en_US.utf8`) of compiled locales that stay. */
  readonly names: ReadonlySet<string>;
  /** Languages declared alone (`de`): every compiled locale of theirs stays. */
  readonly bare: ReadonlySet<string>;
}

/** glibc's normalization of a codeset: `UTF-8` → `utf8`. */
function normalizeLocale(name: string): string {
  const m = /^([^.@]*)(?:\.([^@]*))?(@.*)?$/.exec(name)!;
  const codeset = m[2] === undefined ? '' : '.' + m[2].toLowerCase().replace(/[^a-z0-9]/g, '');
  return m[1] + codeset + (m[3] ?? '');
}

const language = (name: string) => name.split(/[_.@]/)[0];

function localeSet(locales: readonly string[]): LocaleSet {
  const declared = locales.filter((l) => !['C', 'POSIX'].includes(language(l)));
  return {
    languages: new Set(['C', 'POSIX', ...declared.map(language)]),
    names: new Set(['C.utf8', ...declared.map(normalizeLocale)]),
    bare: new Set(declared.filter((d) => language(d) === d)),
  };
}

function purgesLocale(e: Entry, l: LocaleSet): boolean {
  if (/^usr\/share\/i18n(?:\/|$)/.test(e.path)) return true;
  let m = /^usr\/share\/locale\/([^/]+)(\/.*)?$/.exec(e.path);
  if (m) {
    // Files directly in usr/share/locale (locale.alias) are not a language.
    if (m[2] === undefined && e.type !== 'dir') return false;
    return !l.languages.has(language(m[1]));
  }
  m = /^usr\/lib(?:64)?\/locale\/([^/]+)/.exec(e.path);
  if (!m) return false;
  // The archive holds every compiled locale; it is only worth its size when some are declared.
  if (m[1] === 'locale-archive') return l.names.size === 1;
  return !l.names.has(normalizeLocale(m[1])) && !l.bare.has(language(m[1]));
}

function categoryOf(e: Entry, active: readonly PurgeCategory[], l: LocaleSet): PurgeCategory | null {
  for (const c of active) {
    const r = RULES[c];
    if (r.tree?.test(e.path)) return c;
    if (r.files && e.type !== 'dir' && r.files.test(e.path)) return c;
    if (r.test?.(e, l)) return c;
  }
  return null;
}

/**
 * Removes the default purge categories (except those in `keep`) and the `purge` globs
 * from one layer's entries. A removed directory takes its content along; symlinks that
 * pointed into removed paths are removed too, since they would dangle.
 *
 * @example
 * const { kept, purged } = purge(entries, { keep: ['headers'], purge: ['usr/share/zoneinfo/right'] });
 */
export function purge(entries: readonly Entry[], opts: PurgeOptions): { kept: Entry[]; purged: PurgeReport } {
  const unknown = opts.keep.filter((k) => !(PURGE_CATEGORIES as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new RootfsError(
      `${opts.image ?? 'the image'}: unknown purge categor${unknown.length === 1 ? 'y' : 'ies'} in keep: ${unknown.join(', ')} (known: ${PURGE_CATEGORIES.join(', ')})`,
    );
  }
  const active = PURGE_CATEGORIES.filter((c) => !opts.keep.includes(c));
  const locales = localeSet(opts.locales ?? []);
  const globs = opts.purge.map(globToRegExp);

  // A glob matching a directory removes what is under it too, whatever those paths look like.
  const globbedDirs = new Set<string>();
  for (const e of entries) if (e.type === 'dir' && globs.some((g) => g.test(e.path))) globbedDirs.add(e.path);

  const stats = new Map<PurgeCategory, { count: number; bytes: number }>();
  const globbed: string[] = [];
  let globbedBytes = 0;
  let kept: Entry[] = [];
  for (const e of entries) {
    if (globs.some((g) => g.test(e.path)) || parents(e.path).some((p) => globbedDirs.has(p))) {
      globbed.push(e.path);
      globbedBytes += e.size;
      continue;
    }
    const c = categoryOf(e, active, locales);
    if (c === null) {
      kept.push(e);
      continue;
    }
    const s = stats.get(c) ?? { count: 0, bytes: 0 };
    s.count++;
    s.bytes += e.size;
    stats.set(c, s);
  }

  // Symlinks that resolved before the purge and no longer do pointed into purged paths.
  // Ones that never resolved in this layer alone may point into a parent layer: kept.
  // Repeated because removing one symlink can strand another that went through it.
  const before = new Layers([entries]);
  const dangling: string[] = [];
  for (let changed = true; changed;) {
    changed = false;
    const after = new Layers([kept]);
    const next = kept.filter((e) => {
      if (e.type !== 'symlink' || !before.resolve(e.path) || after.resolve(e.path)) return true;
      dangling.push(e.path);
      changed = true;
      return false;
    });
    kept = next;
  }

  return {
    kept,
    purged: {
      categories: PURGE_CATEGORIES.filter((c) => stats.has(c)).map((c) => ({ category: c, ...stats.get(c)! })),
      globbed: globbed.sort(comparePaths),
      globbedBytes,
      dangling: dangling.sort(comparePaths),
    },
  };
}
