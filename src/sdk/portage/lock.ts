/**
 * Gentoo entries of imgsdk.lock: what `emerge --pretend --verbose` says it would
 * merge into an image's ROOT, parsed into `cat/pkg`, version, repository and USE
 * flags, and the `=cat/pkg-version::repo` atoms phase 1 installs them by.
 */
import type { LockedPackage } from '../lock';
import { LockError } from '../../contract/errors';

/** One package emerge would merge, as its output line says. */
export interface PretendPackage {
  /** `app-misc/jq` */
  readonly name: string;
  /** `1.7.1`, `6.4_p20240414-r2` */
  readonly version: string;
  /** The slot when emerge showed one (`--verbose`), else ''. */
  readonly slot: string;
  /** `gentoo` or an overlay's name; '' when emerge did not show it. */
  readonly repository: string;
  /** USE flags and USE_EXPAND flags (`python_targets_python3_12`), `-` for disabled ones, sorted. */
  readonly use: readonly string[];
  /** `ebuild` (built from source) or `binary` (a binary package). */
  readonly type: 'ebuild' | 'binary';
}

// PMS 3.2 version with revision, at the end of `cat/pkg-version`.
const CPV_RE =
  /^([A-Za-z0-9_][A-Za-z0-9+_.-]*\/[A-Za-z0-9_][A-Za-z0-9+_-]*?)-(\d+(?:\.\d+)*[a-z]?(?:_(?:alpha|beta|pre|rc|p)\d*)*(?:-r\d+)?)$/;
const CPN_RE = /^[A-Za-z0-9_][A-Za-z0-9+_.-]*\/[A-Za-z0-9_][A-Za-z0-9+_-]*$/;
const VER_RE = /^\d+(?:\.\d+)*[a-z]?(?:_(?:alpha|beta|pre|rc|p)\d*)*(?:-r\d+)?$/;
const LINE_RE = /^\[(ebuild|binary)\s[^\]]*\]\s+(\S+)(.*)$/;

/**
 * The packages of `emerge --pretend --verbose --color=n` output, with or without
 * `--columns`, in the order emerge gives them. Lines other than `[ebuild …]` and
 * `[binary …]` (headers, blockers, `[nomerge]`, the total) are not packages.
 * @example parsePretend('[ebuild  N     ] app-misc/jq-1.7.1::gentoo  USE="oniguruma -test" 0 KiB')
 * // [{ name: 'app-misc/jq', version: '1.7.1', slot: '', repository: 'gentoo', use: ['-test', 'oniguruma'], type: 'ebuild' }]
 */
export function parsePretend(text: string): PretendPackage[] {
  const out: PretendPackage[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '').replace(/\x1b\[[0-9;]*m/g, '');
    const m = LINE_RE.exec(line);
    if (!m) continue;
    let rest = m[3];
    let word = m[2];
    if (CPN_RE.test(word) && !CPV_RE.test(word)) {
      // --columns: `cat/pkg   version:slot::repo`
      const v = /^\s+(\S+)/.exec(rest);
      if (!v) throw new LockError(`emerge output: no version after ${word} in: ${line}`);
      word = `${word}-${v[1]}`;
      rest = rest.slice(v[0].length);
    }
    const parts = stripSlotRepo(word);
    // A binary package of binpkg-multi-instance (the builders' FEATURES) shows its build id: zlib-1.3.1-r1-2.
    const build = m[1] === 'binary' ? /^(.*)-\d+$/.exec(parts.cpv) : null;
    const cpv = (build && CPV_RE.exec(build[1])) || CPV_RE.exec(parts.cpv);
    if (!cpv || !VER_RE.test(cpv[2])) throw new LockError(`emerge output: cannot read the package of: ${line}`);
    out.push({
      name: cpv[1],
      version: cpv[2],
      slot: parts.slot,
      repository: parts.repo,
      use: useFlags(rest),
      type: m[1] as 'ebuild' | 'binary',
    });
  }
  return out;
}

/** `cpv:slot/sub::repo` into its parts. */
function stripSlotRepo(s: string): { cpv: string; slot: string; repo: string } {
  let repo = '';
  let rest = s;
  const r = rest.indexOf('::');
  if (r >= 0) [rest, repo] = [rest.slice(0, r), rest.slice(r + 2)];
  let slot = '';
  const c = rest.indexOf(':');
  if (c >= 0) [rest, slot] = [rest.slice(0, c), rest.slice(c + 1)];
  return { cpv: rest, slot, repo };
}

/**
 * The flags of `USE="…"` and of the USE_EXPAND variables (`PYTHON_TARGETS="…"`
 * as `python_targets_…`) after the package; emerge's markers dropped: `*`
 * (changed), `%` (new), `(…)` (forced or masked, still the state it builds with),
 * `{…}` (test dependencies). The old version in brackets is not read.
 */
function useFlags(rest: string): string[] {
  const flags = new Set<string>();
  const re = /(?:^|\s)([A-Z][A-Z0-9_]*)="([^"]*)"/g;
  for (let m = re.exec(rest); m; m = re.exec(rest)) {
    const prefix = m[1] === 'USE' ? '' : `${m[1].toLowerCase()}_`;
    for (let f of m[2].split(/\s+/).filter(Boolean)) {
      f = f.replace(/\{[^}]*\}/g, '').replace(/[()*%]/g, '');
      if (!f || f === '-') continue;
      flags.add(f.startsWith('-') ? `-${prefix}${f.slice(1)}` : `${prefix}${f}`);
    }
  }
  const bare = (f: string) => f.replace(/^-/, '');
  return [...flags].sort((a, b) => (bare(a) < bare(b) ? -1 : bare(a) > bare(b) ? 1 : a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Lock entries of an image from emerge's packages: sorted by name, USE as emerge
 * resolved it, the slot, the repository in `suite`, `arch` the builder's keyword arch;
 * `sha256` is empty (Portage verifies distfiles against the tree's Manifests).
 */
export function pretendToLocked(pkgs: readonly PretendPackage[], arch: string): LockedPackage[] {
  const byName = new Map<string, LockedPackage>();
  for (const p of pkgs)
    byName.set(`${p.name}:${p.slot}`, {
      name: p.name,
      version: p.version,
      arch,
      sha256: '',
      suite: p.repository || 'gentoo',
      use: p.use,
      ...(p.slot ? { slot: p.slot } : {}),
    });
  return [...byName.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.version < b.version ? -1 : a.version > b.version ? 1 : 0,
  );
}

/**
 * The atom phase 1 installs a locked package by: exactly that version from that repository.
 * @example lockedAtom({ name: 'app-misc/jq', version: '1.7.1', suite: 'gentoo', … }) // '=app-misc/jq-1.7.1::gentoo'
 */
export function lockedAtom(p: Pick<LockedPackage, 'name' | 'version' | 'suite'>): string {
  return `=${p.name}-${p.version}${p.suite ? `::${p.suite}` : ''}`;
}
