/**
 * Debian package names and versions (Debian Policy §5.6.1, §5.6.12) and dpkg's
 * version ordering, for checking `.packages()` of Debian images at the call site.
 */
import { ImgsdkError } from '../../contract/errors';

const NAME_RE = /^[a-z0-9][a-z0-9+.-]+$/;
// dpkg architecture names (amd64, arm64, armhf, i386, any, all, native, …).
const ARCH_RE = /^[a-z0-9][a-z0-9-]*$/;
// Suite or codename as apt takes it after "/": bookworm, bookworm-backports, stable.
const SUITE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const UPSTREAM_CHARS_RE = /^[A-Za-z0-9.+~-]*$/;
const REVISION_RE = /^[A-Za-z0-9.+~]+$/;

/**
 * A parsed Debian version `[epoch:]upstream_version[-debian_revision]`.
 *
 * @example
 * const v = DebianVersion.parse('1:2.36-9+deb12u4');
 * v.epoch;    // 1
 * v.upstream; // '2.36'
 * v.revision; // '9+deb12u4'
 * DebianVersion.compare('1.0~rc1', '1.0'); // -1
 */
export class DebianVersion {
  private constructor(
    /** 0 when the version names no epoch. */
    readonly epoch: number,
    readonly upstream: string,
    /** The Debian revision, or null for a native package version. */
    readonly revision: string | null,
  ) {}

  /**
   * Parses a version, throwing an `ImgsdkError` with code `DEBIAN` when it breaks Policy §5.6.12.
   *
   * @example
   * DebianVersion.parse('2.0').upstream; // '2.0'
   * DebianVersion.parse('a1');           // throws: ... upstream version must start with a digit
   */
  static parse(text: string): DebianVersion {
    const problem = checkDebianVersion(text);
    if (problem) throw new ImgsdkError('DEBIAN', problem);
    const colon = text.indexOf(':');
    const epoch = colon >= 0 ? Number(text.slice(0, colon)) : 0;
    const rest = text.slice(colon + 1);
    const dash = rest.lastIndexOf('-');
    return dash >= 0 ? new DebianVersion(epoch, rest.slice(0, dash), rest.slice(dash + 1)) : new DebianVersion(epoch, rest, null);
  }

  /**
   * Orders two versions as dpkg does: epoch, then upstream version, then revision;
   * `~` sorts before everything, even the end of the string. Returns -1, 0 or 1.
   *
   * @example
   * DebianVersion.compare('1:0.9', '2.0');     // 1
   * DebianVersion.compare('1.0-1', '1.0-1+b1'); // -1
   */
  static compare(a: DebianVersion | string, b: DebianVersion | string): -1 | 0 | 1 {
    const x = typeof a === 'string' ? DebianVersion.parse(a) : a;
    const y = typeof b === 'string' ? DebianVersion.parse(b) : b;
    if (x.epoch !== y.epoch) return x.epoch < y.epoch ? -1 : 1;
    return sign(verrevcmp(x.upstream, y.upstream)) || sign(verrevcmp(x.revision ?? '', y.revision ?? ''));
  }

  /**
   * The version as written in canonical form (an explicit `0:` epoch is dropped).
   *
   * @example
   * String(DebianVersion.parse('0:1.2-3')); // '1.2-3'
   */
  toString(): string {
    return `${this.epoch !== 0 ? `${this.epoch}:` : ''}${this.upstream}${this.revision !== null ? `-${this.revision}` : ''}`;
  }
}

/**
 * The problem with a Debian version as a message, or null when Policy §5.6.12 allows it.
 *
 * @example
 * checkDebianVersion('1:2.36-9+deb12u4'); // null
 * checkDebianVersion('1.0-');             // 'version "1.0-" has an empty Debian revision after "-"'
 */
export function checkDebianVersion(v: string): string | null {
  const bad = (why: string): string => `version "${v}" ${why}`;
  if (v === '') return 'version is empty';
  let rest = v;
  const colon = v.indexOf(':');
  if (colon >= 0) {
    if (!/^\d+$/.test(v.slice(0, colon))) return bad('has an epoch that is not an unsigned integer');
    rest = v.slice(colon + 1);
    if (rest.includes(':')) return bad('has more than one ":"');
  }
  const dash = rest.lastIndexOf('-');
  const upstream = dash >= 0 ? rest.slice(0, dash) : rest;
  if (dash >= 0) {
    const revision = rest.slice(dash + 1);
    if (revision === '') return bad('has an empty Debian revision after "-"');
    if (!REVISION_RE.test(revision)) return bad(`has a Debian revision "${revision}" with characters other than A-Z a-z 0-9 + . ~`);
  }
  if (upstream === '') return bad('has an empty upstream version');
  if (!/^\d/.test(upstream)) return bad('must start with a digit (upstream version)');
  if (!UPSTREAM_CHARS_RE.test(upstream)) return bad(`has an upstream version "${upstream}" with characters other than A-Z a-z 0-9 . + ~ -`);
  return null;
}

/**
 * Checks a package spec as apt-get install takes it: a name (Policy §5.6.1),
 * optionally `:arch`, then optionally `=version` or `/suite`.
 *
 * @example
 * checkDebianPackage('libc6:amd64=2.36-9+deb12u4'); // null
 * checkDebianPackage('curl/bookworm-backports');    // null
 * checkDebianPackage('Curl');                       // 'Debian package "Curl" is not valid: name "Curl" has uppercase letters'
 */
export function checkDebianPackage(spec: string): string | null {
  const bad = (why: string): string => `Debian package "${spec}" is not valid: ${why}`;
  if (spec === '') return 'Debian package "" is not valid: empty';
  if (/\s/.test(spec)) return bad('contains whitespace');
  let rest = spec;
  let version: string | null = null;
  let suite: string | null = null;
  const eq = rest.indexOf('=');
  if (eq >= 0) {
    version = rest.slice(eq + 1);
    rest = rest.slice(0, eq);
  } else if (rest.includes('/')) {
    suite = rest.slice(rest.indexOf('/') + 1);
    rest = rest.slice(0, rest.indexOf('/'));
  }
  const colon = rest.indexOf(':');
  const name = colon >= 0 ? rest.slice(0, colon) : rest;
  const nameProblem = checkName(name);
  if (nameProblem) return bad(nameProblem);
  if (colon >= 0) {
    const arch = rest.slice(colon + 1);
    if (!ARCH_RE.test(arch)) return bad(arch === '' ? 'architecture missing after ":"' : `architecture "${arch}" is not valid`);
  }
  if (version !== null) {
    if (version === '') return bad('version missing after "="');
    const problem = checkDebianVersion(version);
    if (problem) return bad(problem);
  }
  if (suite !== null && !SUITE_RE.test(suite)) {
    return bad(suite === '' ? 'suite missing after "/"' : `suite "${suite}" is not valid`);
  }
  return null;
}

function checkName(name: string): string | null {
  if (name === '') return 'name is empty';
  if (name.length < 2) return `name "${name}" is shorter than two characters`;
  if (/[A-Z]/.test(name)) return `name "${name}" has uppercase letters`;
  if (!NAME_RE.test(name)) {
    return /^[a-z0-9]/.test(name)
      ? `name "${name}" has characters other than a-z 0-9 + . -`
      : `name "${name}" must start with a letter or digit`;
  }
  return null;
}

// dpkg's character weight: digits never reach here, letters sort before other
// characters, and "~" sorts before everything including the end of the string.
function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  if (/\d/.test(c)) return 0;
  return c.charCodeAt(0) + 256;
}

// Alternating non-digit and digit runs, as dpkg's verrevcmp compares them.
function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  const digit = (s: string, k: number): boolean => k < s.length && s.charCodeAt(k) >= 48 && s.charCodeAt(k) <= 57;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !digit(a, i)) || (j < b.length && !digit(b, j))) {
      const d = order(a[i]) - order(b[j]);
      if (d !== 0) return d;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    let firstDiff = 0;
    while (digit(a, i) && digit(b, j)) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (digit(a, i)) return 1;
    if (digit(b, j)) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

function sign(n: number): -1 | 0 | 1 {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}
