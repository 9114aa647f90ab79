/**
 * The Portage grammar imgsdk checks at the call site: package atoms, USE flags,
 * keywords and make.conf names, per the Package Manager Specification (EAPI 8)
 * plus the user-configuration extensions Portage documents in portage(5)
 * (repository constraints `::repo`).
 */
import { ImgsdkError } from '../../contract/errors';

/** Options of {@link Atom.parse} and {@link Atom.check}. */
export interface AtomOptions {
  /**
   * Accept `!` and `!!` blockers (only meaningful in dependency strings).
   * @default false
   */
  readonly allowBlocker?: boolean;
  /**
   * Reject atoms without a version, e.g. where one exact package is meant.
   * @default false
   */
  readonly requireVersion?: boolean;
}

/** A version operator of PMS 8.3.1. `=…*` is `=` with {@link Atom.wildcard}. */
export type AtomOperator = '=' | '>=' | '<=' | '<' | '>' | '~';

// PMS 3.2: the number part, one optional letter, any number of suffixes, then -rN.
const VERSION = String.raw`\d+(?:\.\d+)*[a-z]?(?:_(?:alpha|beta|pre|rc|p)\d*)*`;
const VERSION_RE = new RegExp(`^(${VERSION})(?:-r(\\d+))?$`);
const CATEGORY_RE = /^[A-Za-z0-9_][A-Za-z0-9+_.-]*$/;
const PACKAGE_CHARS_RE = /^[A-Za-z0-9+_-]*$/;
const SLOT_RE = /^[A-Za-z0-9_][A-Za-z0-9+_.-]*$/;
const REPO_RE = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;
const USE_FLAG_RE = /^[A-Za-z0-9][A-Za-z0-9+_@-]*$/;
const USE_DEP_RE = /^([!-]?)([A-Za-z0-9][A-Za-z0-9+_@-]*)(\(\+\)|\(-\))?([?=]?)$/;
const KEYWORD_RE = /^-?~?[A-Za-z0-9_][A-Za-z0-9_-]*$/;
const SHELL_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const OPERATORS: readonly AtomOperator[] = ['>=', '<=', '<', '>', '=', '~'];

/** Thrown inside the parser; turned into a message or an ImgsdkError at the edge. */
class Bad extends Error {}

type AtomFields = Pick<
  Atom,
  'blocker' | 'op' | 'wildcard' | 'category' | 'name' | 'version' | 'revision' | 'slot' | 'subslot' | 'slotOp' | 'repo' | 'useDeps'
>;

/**
 * A package atom (a "package dependency specification" in PMS terms), parsed once
 * and immutable. Category and name are checked by PMS 3.1 rules, the version by
 * PMS 3.2, operators, slots and USE dependencies by PMS 8.3.
 *
 * @example
 * const a = Atom.parse('>=dev-libs/openssl-3.0.13-r1:0/3::gentoo[static-libs(+),-bindist]');
 * a.cpn;      // 'dev-libs/openssl'
 * a.version;  // '3.0.13'
 * a.revision; // 1
 * a.subslot;  // '3'
 */
export class Atom {
  /** `!` (weak) or `!!` (strong) blocker, or null. */
  readonly blocker: '!' | '!!' | null;
  readonly op: AtomOperator | null;
  /** True for `=cat/pkg-1.2*`: any version starting with the given components. */
  readonly wildcard: boolean;
  readonly category: string;
  readonly name: string;
  /** Version without the revision, e.g. `1.2.3_rc1`; null when unversioned. */
  readonly version: string | null;
  /** Revision number of `-rN`; null when the atom names none. */
  readonly revision: number | null;
  readonly slot: string | null;
  readonly subslot: string | null;
  /** Slot operator `:=` / `:slot=` (`=`) or `:*` (`*`). */
  readonly slotOp: '=' | '*' | null;
  /** Repository constraint of `::repo`. */
  readonly repo: string | null;
  /** USE dependencies as written, e.g. `static-libs(+)`, `-foo`, `bar?`, `!baz=`. */
  readonly useDeps: readonly string[];

  private constructor(f: AtomFields) {
    this.blocker = f.blocker;
    this.op = f.op;
    this.wildcard = f.wildcard;
    this.category = f.category;
    this.name = f.name;
    this.version = f.version;
    this.revision = f.revision;
    this.slot = f.slot;
    this.subslot = f.subslot;
    this.slotOp = f.slotOp;
    this.repo = f.repo;
    this.useDeps = Object.freeze([...f.useDeps]);
    Object.freeze(this);
  }

  /**
   * Parses an atom, throwing an `ImgsdkError` with code `ATOM` that says what is wrong.
   *
   * @example
   * Atom.parse('=net-analyzer/nmap-7.60*').wildcard; // true
   * Atom.parse('dev-libs/openssl-');
   * // throws: "dev-libs/openssl-" is not a valid atom: version missing after "-"
   */
  static parse(text: string, opts: AtomOptions = {}): Atom {
    try {
      return new Atom(parseAtom(text, opts));
    } catch (e) {
      if (e instanceof Bad) throw new ImgsdkError('ATOM', `"${text}" is not a valid atom: ${e.message}`);
      throw e;
    }
  }

  /**
   * The problem with an atom as a message, or null when it is valid.
   *
   * @example
   * Atom.check('sys-libs/glibc');        // null
   * Atom.check('>=sys-libs/glibc');      // '">=sys-libs/glibc" is not a valid atom: operator ">=" needs a version'
   */
  static check(text: string, opts: AtomOptions = {}): string | null {
    try {
      parseAtom(text, opts);
      return null;
    } catch (e) {
      if (e instanceof Bad) return `"${text}" is not a valid atom: ${e.message}`;
      throw e;
    }
  }

  /**
   * `category/name`, the qualified package name.
   *
   * @example
   * Atom.parse('~app-misc/foo-1.0:2').cpn; // 'app-misc/foo'
   */
  get cpn(): string {
    return `${this.category}/${this.name}`;
  }

  /**
   * The canonical text of the atom; parsing it gives an equal atom.
   *
   * @example
   * String(Atom.parse('=app-misc/foo-1.0-r01')); // '=app-misc/foo-1.0-r1'
   */
  toString(): string {
    let s = (this.blocker ?? '') + (this.op ?? '') + this.cpn;
    if (this.version !== null) {
      s += `-${this.version}${this.revision !== null ? `-r${this.revision}` : ''}${this.wildcard ? '*' : ''}`;
    }
    if (this.slot !== null || this.slotOp !== null) {
      s += `:${this.slot ?? ''}${this.subslot !== null ? `/${this.subslot}` : ''}${this.slotOp ?? ''}`;
    }
    if (this.repo !== null) s += `::${this.repo}`;
    if (this.useDeps.length > 0) s += `[${this.useDeps.join(',')}]`;
    return s;
  }
}

function parseAtom(text: string, opts: AtomOptions): AtomFields {
  if (text === '') throw new Bad('empty');
  if (/\s/.test(text)) throw new Bad('contains whitespace');
  let rest = text;

  let blocker: '!' | '!!' | null = null;
  if (rest.startsWith('!')) {
    blocker = rest.startsWith('!!') ? '!!' : '!';
    if (!opts.allowBlocker) throw new Bad(`blockers ("${blocker}") are not allowed here`);
    rest = rest.slice(blocker.length);
  }
  const op = OPERATORS.find((o) => rest.startsWith(o)) ?? null;
  if (op !== null) rest = rest.slice(op.length);

  // PMS 8.3: the slot comes before USE dependencies; Portage puts "::repo" between them.
  let useDeps: string[] = [];
  const open = rest.indexOf('[');
  if (open >= 0) {
    if (!rest.endsWith(']')) throw new Bad('USE dependencies ("[...]") must come last and end with "]"');
    useDeps = parseUseDeps(rest.slice(open + 1, -1));
    rest = rest.slice(0, open);
  } else if (rest.includes(']')) {
    throw new Bad('"]" without "["');
  }

  let repo: string | null = null;
  const repoAt = rest.indexOf('::');
  if (repoAt >= 0) {
    repo = rest.slice(repoAt + 2);
    rest = rest.slice(0, repoAt);
    const problem = checkRepoName(repo);
    if (problem) throw new Bad(problem);
  }

  let slot: string | null = null;
  let subslot: string | null = null;
  let slotOp: '=' | '*' | null = null;
  const slotAt = rest.indexOf(':');
  if (slotAt >= 0) {
    ({ slot, subslot, slotOp } = parseSlot(rest.slice(slotAt + 1)));
    rest = rest.slice(0, slotAt);
  }

  let wildcard = false;
  if (rest.endsWith('*')) {
    if (op !== '=') throw new Bad('"*" only goes with the "=" operator, as in "=cat/pkg-1.2*"');
    wildcard = true;
    rest = rest.slice(0, -1);
  }

  const slash = rest.indexOf('/');
  if (slash < 0) throw new Bad('category missing (write "category/package")');
  if (rest.indexOf('/', slash + 1) >= 0) throw new Bad('more than one "/"');
  const category = rest.slice(0, slash);
  checkCategory(category);
  const pv = rest.slice(slash + 1);

  let name = pv;
  let version: string | null = null;
  let revision: number | null = null;
  if (op !== null) {
    const split = splitVersion(pv);
    if (!split) throw new Bad(versionProblem(pv, op));
    ({ name, version, revision } = split);
  } else if (pv.endsWith('-')) {
    // Stricter than PMS, which allows a trailing "-": in practice it is a version left out.
    throw new Bad('version missing after "-"');
  } else {
    const split = splitVersion(pv);
    if (split) throw new Bad(`version "${pv.slice(split.name.length + 1)}" needs an operator, as in "=${category}/${pv}"`);
  }
  checkPackageName(name);
  if (opts.requireVersion && version === null) {
    throw new Bad(`a version is required here, as in "=${category}/${name}-1.0"`);
  }
  return { blocker, op, wildcard, category, name, version, revision, slot, subslot, slotOp, repo, useDeps };
}

/** Finds `name-version[-rN]`; the first hyphen whose remainder is a version wins. */
function splitVersion(pv: string): { name: string; version: string; revision: number | null } | null {
  for (let i = pv.indexOf('-'); i > 0; i = pv.indexOf('-', i + 1)) {
    const m = VERSION_RE.exec(pv.slice(i + 1));
    if (m) return { name: pv.slice(0, i), version: m[1], revision: m[2] === undefined ? null : Number(m[2]) };
  }
  return null;
}

function versionProblem(pv: string, op: AtomOperator): string {
  if (pv.endsWith('-')) return 'version missing after "-"';
  const m = /-(\d.*)$/.exec(pv);
  if (m) return `"${m[1]}" is not a valid version (PMS: 1.2.3, 1.2.3b, 1.2_rc1, 1.2_p3-r1)`;
  return `operator "${op}" needs a version`;
}

function checkCategory(category: string): void {
  if (category === '') throw new Bad('category is empty');
  if (!CATEGORY_RE.test(category)) {
    const bad = /^[-.+]/.test(category) ? category[0] : [...category].find((c) => !/[A-Za-z0-9+_.-]/.test(c));
    throw new Bad(`category "${category}" ${/^[-.+]/.test(category) ? 'starts with' : 'contains'} "${bad}"`);
  }
}

function checkPackageName(name: string): void {
  if (name === '') throw new Bad('package name is empty');
  if (!PACKAGE_CHARS_RE.test(name)) {
    const bad = [...name].find((c) => !/[A-Za-z0-9+_-]/.test(c));
    throw new Bad(`package name "${name}" contains "${bad}"`);
  }
  if (/^[-+]/.test(name)) throw new Bad(`package name "${name}" starts with "${name[0]}"`);
  // PMS 3.1.2: a name must not end in a hyphen followed by something that is a version.
  for (let i = name.indexOf('-'); i >= 0; i = name.indexOf('-', i + 1)) {
    const tail = name.slice(i + 1);
    if (VERSION_RE.test(tail)) throw new Bad(`package name "${name}" ends in "-${tail}", which looks like a version`);
  }
}

function checkRepoName(repo: string): string | null {
  if (repo === '') return 'repository missing after "::"';
  if (!REPO_RE.test(repo)) return `repository name "${repo}" is not valid (letters, digits, "_" and "-", not starting with "-")`;
  // PMS 3.1.5: a repository name must also be a valid package name.
  for (let i = repo.indexOf('-'); i >= 0; i = repo.indexOf('-', i + 1)) {
    if (VERSION_RE.test(repo.slice(i + 1))) return `repository name "${repo}" ends in something that looks like a version`;
  }
  return null;
}

function parseSlot(text: string): { slot: string | null; subslot: string | null; slotOp: '=' | '*' | null } {
  if (text === '') throw new Bad('slot missing after ":"');
  if (text === '*' || text === '=') return { slot: null, subslot: null, slotOp: text };
  if (text.endsWith('*')) throw new Bad(`slot operator "*" cannot follow a slot name (":${text}")`);
  let body = text;
  let slotOp: '=' | null = null;
  if (body.endsWith('=')) {
    slotOp = '=';
    body = body.slice(0, -1);
  }
  const parts = body.split('/');
  if (parts.length > 2) throw new Bad(`slot ":${text}" has more than one "/"`);
  for (const p of parts) {
    if (!SLOT_RE.test(p)) throw new Bad(p === '' ? `slot ":${text}" has an empty part` : `slot name "${p}" is not valid`);
  }
  return { slot: parts[0], subslot: parts.length === 2 ? parts[1] : null, slotOp };
}

function parseUseDeps(inner: string): string[] {
  if (inner === '') throw new Bad('empty USE dependency "[]"');
  if (/[[\]]/.test(inner)) throw new Bad('more than one "[...]"');
  return inner.split(',').map((dep) => {
    const m = USE_DEP_RE.exec(dep);
    if (!m) throw new Bad(`USE dependency "${dep}" is not valid`);
    const [, prefix, , , suffix] = m;
    // PMS 8.3.4 lists exactly: opt, opt=, !opt=, opt?, !opt?, -opt.
    if (prefix === '-' && suffix) throw new Bad(`USE dependency "${dep}" cannot have both "-" and "${suffix}"`);
    if (prefix === '!' && !suffix) throw new Bad(`USE dependency "${dep}" needs "?" or "=" after "!"`);
    return dep;
  });
}

/**
 * Checks a USE flag name (PMS 3.1.4): letters, digits, `+`, `_`, `@`, `-`, starting
 * with a letter or digit. With `allowSign`, a leading `+` or `-` is accepted.
 *
 * @example
 * checkUseFlag('ipv6');                          // null
 * checkUseFlag('-nls', { allowSign: true });     // null
 * checkUseFlag('+ip v6', { allowSign: true });   // 'USE flag "+ip v6" is not a flag'
 */
export function checkUseFlag(flag: string, opts: { readonly allowSign?: boolean } = {}): string | null {
  let name = flag;
  if (/^[+-]/.test(flag)) {
    if (!opts.allowSign) return `USE flag "${flag}" cannot start with "${flag[0]}" here`;
    name = flag.slice(1);
  }
  return USE_FLAG_RE.test(name) ? null : `USE flag "${flag}" is not a flag`;
}

/**
 * Checks a keyword as package.accept_keywords takes it: an arch name (PMS 3.1.7)
 * optionally prefixed by `~`, `-` or `-~`, or one of `*`, `~*`, `**`, `-*`.
 *
 * @example
 * checkKeyword('~arm64-macos'); // null
 * checkKeyword('~ amd64');      // 'keyword "~ amd64" is not a keyword'
 */
export function checkKeyword(kw: string): string | null {
  if (kw === '*' || kw === '~*' || kw === '**' || kw === '-*') return null;
  return KEYWORD_RE.test(kw) ? null : `keyword "${kw}" is not a keyword`;
}

/**
 * Checks a make.conf (or env file) variable name: a shell variable name.
 *
 * @example
 * checkMakeConfName('MAKEOPTS'); // null
 * checkMakeConfName('CFLAGS-x'); // 'make.conf name "CFLAGS-x" is not a variable name'
 */
export function checkMakeConfName(name: string): string | null {
  return SHELL_NAME_RE.test(name) ? null : `make.conf name "${name}" is not a variable name`;
}
