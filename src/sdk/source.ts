/**
 * Reading the host files an image names (`.file({ src })`, `.patch()`, `.dir()`),
 * without ever reading something that is not a file: a FIFO would block synth
 * forever and `/dev/zero` would fill the memory. The file is opened without
 * blocking and judged by fstat on the open descriptor, so what is read is what was
 * judged, even if the path is swapped in between.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { IgnoreRules, parseIgnoreFile } from './ignore';

/** What a host file is, in words, for an error that refuses it. */
export function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/**
 * The bytes and mode of a regular file (symlinks followed), or the problem in one
 * sentence naming the path.
 * @example readRegularFile('/dev/zero') // { problem: '/dev/zero is a character device, not a regular file' }
 */
export function readRegularFile(path: string, opts: { noFollow?: boolean } = {}): { data: Buffer; mode: number } | { problem: string } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (opts.noFollow ? constants.O_NOFOLLOW : 0));
  } catch (e) {
    return { problem: `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { problem: `${path} is ${kindOf(st)}, not a regular file` };
    return { data: readFileSync(fd), mode: st.mode & 0o7777 };
  } catch (e) {
    return { problem: `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  } finally {
    closeSync(fd);
  }
}

/** One entry of a host tree, relative to its root (`''` is the root itself). */
export interface TreeEntry {
  readonly rel: string;
  readonly type: 'file' | 'dir' | 'symlink';
  /** Host permission bits (mask 0o7777). */
  readonly mode: number;
  readonly data: Buffer | null;
  readonly target: string | null;
}

/** Options of {@link readTree}. */
export interface TreeOptions {
  /** Patterns with `.dockerignore` semantics, after those of the tree's own `.dockerignore`. @default [] */
  readonly ignore?: readonly string[];
  /** Read `<root>/.dockerignore` when there is one. @default true */
  readonly dockerignore?: boolean;
}

/**
 * A host directory as sorted entries: directories, regular files with their bytes,
 * symlinks as links. Links that leave the tree (absolute, or `..` past the root) and
 * anything that is not a file, directory or link are problems, each naming its path.
 * @example readTree('app', { ignore: ['*.log'] }).entries.map((e) => e.rel) // ['', 'server.js', 'lib', 'lib/a.js']
 */
export function readTree(root: string, opts: TreeOptions = {}): { entries: TreeEntry[]; problems: string[] } {
  const problems: string[] = [];
  let st: Stats;
  try {
    st = lstatSync(root);
    // The root itself may be a link to a directory (as `docker build` follows its context).
    if (st.isSymbolicLink()) st = lstatSync(join(root, '.'));
  } catch (e) {
    return { entries: [], problems: [`cannot read ${root}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`] };
  }
  if (!st.isDirectory()) return { entries: [], problems: [`${root} is ${st.isFile() ? 'a file' : kindOf(st)}, not a directory`] };

  const patterns: string[] = [];
  if (opts.dockerignore !== false) {
    const f = readRegularFile(join(root, '.dockerignore'));
    if ('data' in f) patterns.push(...parseIgnoreFile(f.data.toString('utf8')));
    else if (!f.problem.endsWith(': ENOENT')) problems.push(f.problem);
  }
  patterns.push(...(opts.ignore ?? []));
  const rules = new IgnoreRules(patterns);

  const kept: TreeEntry[] = [];
  // Ignored directories, kept only when something below them is re-included.
  const skippedDirs = new Map<string, TreeEntry>();
  const walk = (rel: string, mode: number): void => {
    const ignored = rel !== '' && rules.ignores(rel);
    const self: TreeEntry = { rel, type: 'dir', mode, data: null, target: null };
    if (ignored) {
      if (!rules.hasExceptions) return;
      skippedDirs.set(rel, self);
    } else kept.push(self);
    let names: string[];
    try {
      names = readdirSync(join(root, rel)).sort();
    } catch (e) {
      problems.push(`cannot read ${join(root, rel)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      return;
    }
    for (const name of names) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const abs = join(root, r);
      let s: Stats;
      try {
        s = lstatSync(abs);
      } catch (e) {
        problems.push(`cannot read ${abs}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        continue;
      }
      if (s.isDirectory()) {
        walk(r, s.mode & 0o7777);
        continue;
      }
      if (rules.ignores(r)) continue;
      if (s.isSymbolicLink()) {
        const target = readlinkSync(abs);
        const to = posix.normalize(posix.join(posix.dirname(r), target));
        if (target.startsWith('/') || to === '..' || to.startsWith('../'))
          problems.push(`${abs} is a link to ${target}, outside the directory`);
        else kept.push({ rel: r, type: 'symlink', mode: 0o777, data: null, target });
      } else if (s.isFile()) {
        const f = readRegularFile(abs, { noFollow: true });
        if ('problem' in f) problems.push(f.problem);
        else kept.push({ rel: r, type: 'file', mode: f.mode, data: f.data, target: null });
      } else problems.push(`${abs} is ${kindOf(s)}: only files, directories and links can be added`);
    }
  };
  walk('', st.mode & 0o7777);

  // A re-included path brings the directories above it.
  if (skippedDirs.size) {
    const have = new Set(kept.map((e) => e.rel));
    for (const e of [...kept]) {
      for (let d = posix.dirname(e.rel); d !== '.' && !have.has(d); d = posix.dirname(d)) {
        const dir = skippedDirs.get(d);
        if (dir) (kept.push(dir), have.add(d));
      }
    }
  }
  return { entries: kept.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0)), problems };
}
