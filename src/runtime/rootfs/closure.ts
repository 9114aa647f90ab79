import { RootfsError } from '../../contract/errors';
import type { Entry } from '../store/entry';
import { Loader, type LoadEvent, type LoaderOptions } from './linkcheck';
import { comparePaths, globToRegExp, Layers, normalizePath, parents } from './resolve';

/**
 * The closure prune: an image that declares roots (its entrypoint, say) keeps only
 * those, what they load, and what it explicitly keeps — the distroless way of
 * building from packages that install far more than one program needs.
 */

/** Options of closure. */
export interface ClosureOptions extends LoaderOptions {
  /**
   * Paths or globs (see globToRegExp) that must stay; a directory keeps its content.
   * A root that matches nothing in any layer is an error.
   */
  readonly roots: readonly string[];
  /** Globs kept as well, without the error when they match nothing. */
  readonly keep: readonly string[];
  /**
   * Roots and keeps are exact paths, never globs: file names may contain `[`, `{` or `*`
   * (coreutils' `/usr/bin/[`), which as globs would match something else or nothing.
   * @default false
   */
  readonly literal?: boolean;
  /** `#!` interpreters not to follow (a shell the image's policies forbid). @default none */
  readonly skipInterpreter?: (path: string) => boolean;
}

const GLOB = /[*?[{]/;
/** Where `/usr/bin/env` finds a script's interpreter: Debian's default PATH. */
const PATH_DIRS = ['usr/local/sbin', 'usr/local/bin', 'usr/sbin', 'usr/bin', 'sbin', 'bin'];

/**
 * Prunes the last layer (this image) to the roots, the keep globs, everything they load
 * (interpreter and DT_NEEDED, transitively, found as the link check finds them; a
 * script's `#!` interpreter), the
 * symlinks crossed on the way and their targets, hardlink targets, and the parent
 * directories of all of these. Entries of parent layers are never returned: they are
 * in the image already. Returns entries sorted by path.
 *
 * @example
 * closure([glibc, nmap], { libc: 'glibc', roots: ['/usr/bin/nmap'], keep: ['usr/share/nmap/**'] });
 */
export function closure(layers: readonly (readonly Entry[])[], opts: ClosureOptions): Entry[] {
  const fs = new Layers(layers);
  const loader = new Loader(fs, opts);
  const last = layers[layers.length - 1] ?? [];
  const included = new Set<string>();
  const queue: string[] = [];
  const add = (path: string) => {
    if (included.has(path)) return;
    included.add(path);
    queue.push(path);
  };
  /** Adds `path` and, through any symlinks it crosses, what it leads to. */
  const addResolved = (raw: string) => {
    const path = normalizePath(raw);
    if (path === null) return null;
    const r = fs.resolve(path);
    if (fs.get(path)) add(path);
    if (!r) return null;
    r.via.forEach(add);
    add(r.path);
    return r;
  };
  const addTree = (dir: string) => {
    for (const e of last) if (e.path.startsWith(dir + '/')) add(e.path);
  };

  const unmatched: string[] = [];
  for (const root of opts.roots) if (!select(root, true)) unmatched.push(root);
  for (const glob of opts.keep) select(glob, false);
  if (unmatched.length > 0) {
    throw new RootfsError(`closure roots match nothing in the image: ${unmatched.join(', ')}`, unmatched);
  }

  function select(pattern: string, exact: boolean): boolean {
    if (opts.literal || (exact && !GLOB.test(pattern))) {
      const path = normalizePath(pattern);
      if (path === null || path === '') return false;
      const r = addResolved(path);
      if (r?.entry.type === 'dir') addTree(r.path);
      return r !== null || fs.get(path) !== undefined;
    }
    const re = globToRegExp(pattern);
    let hit = false;
    for (const e of last) {
      if (!re.test(e.path)) continue;
      hit = true;
      add(e.path);
      if (e.type === 'dir') addTree(e.path);
    }
    return hit;
  }

  const seen = new Set<string>();
  const onEvent = (ev: LoadEvent) => {
    if (ev.kind === 'interp') {
      if (ev.target) addResolved(ev.name);
    } else if (ev.result.ok) {
      addResolved(ev.result.path);
    } else if (ev.result.confOnly) {
      // Kept so the link check can say why it will not load, rather than that it is gone.
      addResolved(ev.result.confOnly);
    }
  };
  while (queue.length > 0) {
    const path = queue.shift()!;
    const e = fs.get(path);
    if (!e) continue;
    if (e.type === 'symlink') addResolved(path);
    else if (e.type === 'hardlink' && e.linkname) add(e.linkname);
    else if (e.type === 'file' && e.shebang) {
      // A script runs its interpreter: `#!/usr/bin/perl`, or a name `env` finds in PATH.
      const interp = e.shebang.includes('/') ? e.shebang : PATH_DIRS.map((d) => `${d}/${e.shebang}`).find((p) => fs.lookup(p));
      if (interp && !opts.skipInterpreter?.(normalizePath(interp, true))) addResolved(interp);
      // A bare name came through `#!/usr/bin/env NAME`: env runs first (node-typescript's tsc).
      if (!e.shebang.includes('/') && fs.lookup('usr/bin/env') && !opts.skipInterpreter?.('usr/bin/env')) addResolved('usr/bin/env');
    } else if (e.type === 'file' && e.elf && (e.elf.interp || e.elf.needed.length > 0)) {
      loader.walk({ path, elf: e.elf }, onEvent, seen);
    }
  }

  for (const p of [...included]) for (const dir of parents(p)) included.add(dir);
  return last.filter((e) => included.has(e.path)).sort((a, b) => comparePaths(a.path, b.path));
}
