import type { Entry } from '../store/entry';

/**
 * Paths inside a root filesystem and a view over stacked layers that follows
 * symlinks the way the kernel does inside a container, without touching the host.
 * Used by the safety filter (tar.ts), the purge, the closure prune and the link check.
 */

/** Symlinks followed per lookup before giving up, as the kernel's ELOOP (40). */
export const MAX_SYMLINKS = 40;

/**
 * Normalizes a path written in a tar or by a user to the Entry form: no leading `./`
 * or `/`, no trailing `/`, no empty or `.` components, `..` applied. Returns null
 * when a `..` climbs above the root, unless `clamp` keeps it at the root as a path
 * looked up inside the container would be. The root itself is `''`.
 */
export function normalizePath(p: string, clamp?: false): string | null;
export function normalizePath(p: string, clamp: true): string;
export function normalizePath(p: string, clamp = false): string | null {
  const out: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length === 0) {
        if (clamp) continue;
        return null;
      }
      out.pop();
    } else out.push(c);
  }
  return out.join('/');
}

/** Byte-order (UTF-8) comparison, so the sort never depends on locale or UTF-16 quirks. */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** `usr/lib/x` → `usr/lib`; `x` → `''`. */
export function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

/** `usr/lib/x` → `['usr', 'usr/lib']` (the root excluded). */
export function parents(p: string): string[] {
  const out: string[] = [];
  for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) out.push(p.slice(0, i));
  return out;
}

/** Result of walking a path through the symlinks of a tree. */
export type Walk =
  | { readonly ok: true; readonly path: string; readonly via: readonly string[] }
  | { readonly ok: false; readonly reason: 'escape' | 'loop' };

/**
 * Walks `target` component by component starting in directory `from`, replacing each
 * component that `linkOf` says is a symlink by its target (absolute targets restart at
 * the root), the final component included. `via` lists the symlinks crossed.
 *
 * With `strict`, a `..` at the root is an escape (what the safety filter wants: a host
 * tool extracting the tree would leave it); otherwise it stays at the root, as inside
 * the container.
 */
export function walk(from: string, target: string, linkOf: (path: string) => string | null | undefined, strict = false): Walk {
  const stack = target.startsWith('/') || from === '' ? [] : from.split('/');
  const todo = target.split('/').reverse();
  const via: string[] = [];
  let budget = MAX_SYMLINKS;
  while (todo.length > 0) {
    const c = todo.pop()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (stack.length === 0) {
        if (strict) return { ok: false, reason: 'escape' };
      } else stack.pop();
      continue;
    }
    stack.push(c);
    const here = stack.join('/');
    const link = linkOf(here);
    if (link === null || link === undefined) continue;
    if (--budget < 0) return { ok: false, reason: 'loop' };
    via.push(here);
    stack.pop();
    if (link.startsWith('/')) stack.length = 0;
    for (const part of link.split('/').reverse()) todo.push(part);
  }
  return { ok: true, path: stack.join('/'), via };
}

/** What `Layers.resolve` found: the final path and entry, and the symlinks crossed to get there. */
export interface Resolved {
  readonly path: string;
  readonly entry: Entry;
  /** Index of the layer the final entry comes from (0 = the oldest parent). */
  readonly layer: number;
  /** Symlinks (and a hardlink, last) crossed on the way, in order. */
  readonly via: readonly string[];
}

/**
 * The union of an image's layers, parents first and this image last; a later layer's
 * entry shadows an earlier one at the same path.
 *
 * @example
 * const fs = new Layers([glibcLayer, nmapLayer]);
 * fs.lookup('lib64/ld-linux-x86-64.so.2')?.type; // 'file', after following symlinks
 */
export class Layers {
  private readonly byPath = new Map<string, { entry: Entry; layer: number }>();
  private readonly cache = new Map<string, Resolved | null>();
  readonly count: number;

  constructor(layers: readonly (readonly Entry[])[]) {
    this.count = layers.length;
    layers.forEach((entries, layer) => {
      for (const entry of entries) this.byPath.set(entry.path, { entry, layer });
    });
  }

  /** The topmost entry at exactly `path`, symlinks not followed. */
  get(path: string): Entry | undefined {
    return this.byPath.get(path)?.entry;
  }

  /** Index of the layer `get(path)` comes from, or -1. */
  layerOf(path: string): number {
    return this.byPath.get(path)?.layer ?? -1;
  }

  /** Every visible entry (the topmost per path), in no particular order. */
  *entries(): IterableIterator<Entry> {
    for (const { entry } of this.byPath.values()) yield entry;
  }

  /** The entry `path` leads to after following symlinks in every component and a final hardlink. */
  lookup(path: string): Entry | undefined {
    return this.resolve(path)?.entry;
  }

  /**
   * Follows `path` (root-relative or absolute) to its final entry; null when it is
   * missing, loops, or is a hardlink to nothing.
   */
  resolve(path: string): Resolved | null {
    const key = path.startsWith('/') ? path : '/' + path;
    let hit = this.cache.get(key);
    if (hit === undefined) {
      hit = this.resolveUncached(key);
      this.cache.set(key, hit);
    }
    return hit;
  }

  private resolveUncached(path: string): Resolved | null {
    const w = walk('', path, (p) => {
      const e = this.byPath.get(p)?.entry;
      return e?.type === 'symlink' ? e.linkname : null;
    });
    if (!w.ok) return null;
    const found = this.byPath.get(w.path);
    if (!found) return null;
    if (found.entry.type !== 'hardlink' || found.entry.linkname === null) return { path: w.path, ...found, via: w.via };
    // Hardlink targets are root-relative paths of regular files in the same archive.
    const target = this.byPath.get(found.entry.linkname);
    if (!target || target.entry.type !== 'file') return null;
    return { path: found.entry.linkname, ...target, via: [...w.via, w.path] };
  }
}

/**
 * Compiles a glob to a RegExp over normalized paths. Written here rather than using
 * `path.matchesGlob`, which is experimental in Node 20 and prints a warning.
 *
 * `*` and `?` stay within one component, `**` as a whole component spans any number
 * of components (zero included), `{a,b}` alternates, `[a-z]`/`[!a]` are classes. A
 * leading `/` or `./` is ignored. A pattern without `/` matches the last component
 * anywhere (`*.pyc`), as `find -name` and .gitignore do.
 */
export function globToRegExp(glob: string): RegExp {
  let g = glob.replace(/^(\.?\/)+/, '');
  if (!g.includes('/')) g = '**/' + g;
  let re = '';
  let depth = 0;
  for (let i = 0; i < g.length; i++) {
    const c = g[i];
    if (c === '*' && g[i + 1] === '*') {
      const start = i === 0 || g[i - 1] === '/';
      const end = i + 2 === g.length || g[i + 2] === '/';
      if (start && end) {
        if (i + 2 === g.length) re += '.*';
        else {
          re += '(?:.*/)?';
          i++; // the following '/' is part of the optional group
        }
        i++;
        continue;
      }
      re += '[^/]*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{') {
      re += '(?:';
      depth++;
    } else if (c === '}' && depth > 0) {
      re += ')';
      depth--;
    } else if (c === ',' && depth > 0) re += '|';
    else if (c === '[') {
      const close = g.indexOf(']', i + 2);
      if (close < 0) re += '\\[';
      else {
        let body = g.slice(i + 1, close);
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += '[' + body.replace(/\\/g, '\\\\') + ']';
        i = close;
      }
    } else re += c.replace(/[.+^$()|\\\]}]/g, '\\$&');
  }
  while (depth-- > 0) re += ')';
  return new RegExp('^' + re + '$');
}
