/**
 * The check of imgsdk.lock: every field of every entry, builders and images,
 * Debian and Gentoo. The lock decides what phase 1 installs and which .deb
 * checksums it verifies, so a field that is missing, empty or of the wrong shape is
 * an error naming its line, never a weaker check (an empty `sha256` once switched
 * the .deb check off).
 */
import type { JsonPath } from '../contract/json-lines';
import { checkDebianVersion } from './debian/package';

/** One thing wrong with a lock, at the value `path` names. */
export interface LockProblem {
  readonly path: JsonPath;
  readonly why: string;
}

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => !!v && typeof v === 'object' && !Array.isArray(v);

// Debian Policy 5.6.1 (names; versions: checkDebianVersion); dpkg architecture names.
const DEB_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const ARCH = /^[a-z0-9][a-z0-9-]*$/;
const SHA256 = /^[0-9a-f]{64}$/;
const SHA512 = /^[0-9a-f]{128}$/;
// A suite, codename or Portage repository name: no spaces, no separators of the scripts' lists.
const WORD = /^[A-Za-z0-9][A-Za-z0-9._+@-]*$/;
// PMS 3.1: category/package; versions 3.2 (checked loosely: what emerge printed).
const GENTOO_NAME = /^[A-Za-z0-9_][A-Za-z0-9+_.-]*\/[A-Za-z0-9_][A-Za-z0-9+_-]*$/;
const GENTOO_VERSION = /^\d+(?:\.\d+)*[a-z]?(?:_(?:alpha|beta|pre|rc|p)\d*)*(?:-r\d+)?$/;
const USE_FLAG = /^-?[A-Za-z0-9][A-Za-z0-9+_@.-]*$/;
const SLOT = /^[A-Za-z0-9_][A-Za-z0-9+_.-]*(?:\/[A-Za-z0-9_][A-Za-z0-9+_.-]*)?$/;
// A package request as `.packages()` takes it (name, =version, /suite, :arch, atoms): one token.
const REQUEST = /^[^\s#]+$/;

/** Where a lock check reports, and the field checks every entry uses. */
class LockChecker {
  readonly out: LockProblem[] = [];

  at(path: JsonPath, why: string): void {
    this.out.push({ path, why });
  }

  /** `required` fields are there, and no field but those and `optional`. */
  fields(v: Rec, path: JsonPath, required: readonly string[], optional: readonly string[] = []): void {
    for (const k of required) if (!(k in v)) this.at(path, `has no "${k}"`);
    for (const k of Object.keys(v))
      if (!required.includes(k) && !optional.includes(k)) this.at([...path, k], `"${k}" is not a field of this entry`);
  }

  /** Field `k`, when there, is a string `re` accepts (the empty string only with `allowEmpty`). */
  str(v: Rec, path: JsonPath, k: string, re: RegExp | ((s: string) => boolean), what: string, allowEmpty = false): void {
    if (!(k in v)) return;
    const x = v[k];
    if (typeof x !== 'string') this.at([...path, k], `${k} must be a string (${what}), not ${JSON.stringify(x)}`);
    else if (x === '' ? !allowEmpty : !(typeof re === 'function' ? re(x) : re.test(x)))
      this.at([...path, k], `${k} ${JSON.stringify(x)} is not ${what}`);
  }

  /** Field `k`, when there, is a list of strings `re` accepts. */
  list(v: Rec, path: JsonPath, k: string, re: RegExp, what: string): void {
    if (!(k in v)) return;
    const x = v[k];
    if (!Array.isArray(x)) return this.at([...path, k], `${k} must be a list of ${what}`);
    x.forEach((s, i) => {
      if (typeof s !== 'string' || !re.test(s)) this.at([...path, k, i], `${k}[${i}] ${JSON.stringify(s)} is not ${what}`);
    });
  }
}

/**
 * Every problem of a parsed lock (`lockfileVersion` is checked by the caller).
 * @example checkLockValue(JSON.parse(text)) // [{ path: ['images', 'a/b', 'packages', 0, 'sha256'], why: '…' }]
 */
export function checkLockValue(o: Rec): LockProblem[] {
  const c = new LockChecker();
  c.fields(o, [], ['lockfileVersion', 'builders', 'images']);
  const kinds = new Map<string, string>();
  if (!isRec(o.builders)) c.at(['builders'], 'builders must be an object of builder entries');
  else {
    for (const [id, b] of Object.entries(o.builders)) {
      const kind = checkBuilderEntry(c, ['builders', id], b);
      if (kind) kinds.set(id, kind);
    }
  }
  if (!isRec(o.images)) {
    c.at(['images'], 'images must be an object of image entries');
    return c.out;
  }
  for (const [id, e] of Object.entries(o.images)) checkImageEntry(c, ['images', id], e, kinds);
  return c.out;
}

/** A builder entry of the lock; its kind when it has a known one. */
function checkBuilderEntry(c: LockChecker, p: JsonPath, b: unknown): string | null {
  if (!isRec(b)) {
    c.at(p, 'is not a builder entry (an object)');
    return null;
  }
  if (b.kind === 'debian') {
    c.fields(b, p, ['kind', 'arch', 'suites', 'sources', 'snapshot', 'releases']);
    c.str(b, p, 'arch', ARCH, 'a Debian architecture');
    c.list(b, p, 'suites', WORD, 'a suite');
    c.list(b, p, 'sources', /^[^\n\t]+$/, 'an apt source line');
    if ('snapshot' in b && b.snapshot !== null) c.str(b, p, 'snapshot', /^\d{8}T\d{6}Z$/, 'null or a snapshot time (YYYYMMDDTHHMMSSZ)');
    if ('releases' in b) {
      if (!isRec(b.releases)) c.at([...p, 'releases'], 'releases must be an object of Release dates');
      else
        for (const [k, d] of Object.entries(b.releases)) {
          if (!/^[^\s]+$/.test(k) || typeof d !== 'string' || !/^[^\n\t]*$/.test(d))
            c.at([...p, 'releases', k], `releases[${JSON.stringify(k)}] is not a suite and its Release date`);
        }
    }
  } else if (b.kind === 'gentoo') {
    c.fields(b, p, ['kind', 'arch', 'stage3', 'date', 'sha512', 'portage'], ['snapshot']);
    c.str(b, p, 'arch', ARCH, 'a Gentoo arch');
    c.str(b, p, 'stage3', /^[^\s]+$/, 'a stage3 flavour');
    c.str(b, p, 'date', /^(?:latest|\d{8}(?:T\d{6}Z)?)$/, '`latest` or a stage3 date');
    if ('sha512' in b && b.sha512 !== null) c.str(b, p, 'sha512', SHA512, 'null or a sha512 (128 hex digits)');
    c.str(b, p, 'portage', /^[^\s]+$/, 'a Portage snapshot (`latest`, a date or an image)');
    c.str(b, p, 'snapshot', /^[^\s]+$/, 'a snapshot date or image');
  } else {
    c.at([...p, 'kind'], `kind ${JSON.stringify(b.kind)} is not "debian" or "gentoo"`);
    return null;
  }
  return b.kind;
}

/** An image entry of the lock and its packages (checked as its builder's kind names them). */
function checkImageEntry(c: LockChecker, p: JsonPath, e: unknown, kinds: ReadonlyMap<string, string>): void {
  if (!isRec(e)) return c.at(p, 'is not an image entry (an object)');
  c.fields(e, p, ['builder', 'parent', 'request', 'packages']);
  c.str(e, p, 'builder', /^[^\s]+$/, 'a builder id');
  if ('parent' in e && e.parent !== null) c.str(e, p, 'parent', /^[^\s]+$/, 'null or an image id');
  c.list(e, p, 'request', REQUEST, 'a package request');
  if (!('packages' in e)) return;
  if (!Array.isArray(e.packages)) return c.at([...p, 'packages'], 'packages must be a list of packages');
  const kind = typeof e.builder === 'string' ? kinds.get(e.builder) : undefined;
  const seen = new Set<string>();
  e.packages.forEach((x: unknown, i: number) => {
    const q = [...p, 'packages', i];
    if (!isRec(x)) return c.at(q, 'is not a package (an object)');
    // The builder's kind decides; an entry whose builder left the lock goes by the name's shape.
    const gentoo = kind ? kind === 'gentoo' : typeof x.name === 'string' && x.name.includes('/');
    if (gentoo) checkGentooPackage(c, q, x);
    else checkDebianPackageEntry(c, q, x);
    const k = `${String(x.name)}\0${String(x.arch)}\0${String(x.slot ?? '').split('/')[0]}`;
    if (seen.has(k)) c.at([...q, 'name'], `${String(x.name)} (${String(x.arch)}) is listed twice`);
    seen.add(k);
  });
}

function checkGentooPackage(c: LockChecker, q: JsonPath, x: Rec): void {
  c.fields(x, q, ['name', 'version', 'arch', 'sha256', 'suite'], ['use', 'slot']);
  c.str(x, q, 'name', GENTOO_NAME, 'a Gentoo category/package');
  c.str(x, q, 'version', GENTOO_VERSION, 'a Gentoo version');
  c.str(x, q, 'arch', ARCH, 'a Gentoo arch');
  if ('sha256' in x && x.sha256 !== '')
    c.at([...q, 'sha256'], 'sha256 must be "" for a Gentoo package (built from source, checked by its Manifest)');
  c.str(x, q, 'suite', WORD, 'a Portage repository name');
  c.list(x, q, 'use', USE_FLAG, 'a USE flag');
  c.str(x, q, 'slot', SLOT, 'a slot');
}

function checkDebianPackageEntry(c: LockChecker, q: JsonPath, x: Rec): void {
  c.fields(x, q, ['name', 'version', 'arch', 'sha256', 'suite']);
  c.str(x, q, 'name', DEB_NAME, 'a Debian package name');
  c.str(x, q, 'version', (s) => checkDebianVersion(s) === null, 'a Debian version');
  c.str(x, q, 'arch', ARCH, 'a Debian architecture');
  c.str(x, q, 'sha256', SHA256, 'a sha256 (64 lowercase hex digits): the .deb checksum check needs it');
  // The suite, or for a flat repository (`deb URI ./`) its URI: informational, one token.
  c.str(x, q, 'suite', /^[^\s]+$/, "a suite (or a flat repository's URI)", true);
}
