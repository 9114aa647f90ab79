/**
 * Raw file system errors of the state directory as one line each. A deploy that
 * meets a full disk or a state directory someone rearranged (`blobs/` replaced by a
 * file, `layers/` a dangling symlink) says what is wrong and where, instead of
 * Node's `Error: ENOSPC` with a stack; what it was writing is removed by the
 * writers themselves (util/files.ts).
 */
import { lstatSync, statSync } from 'node:fs';
import { relative, sep } from 'node:path';
import { ImgsdkError } from '../../contract/errors';

/** The directories a state directory holds; each is made when first needed. */
export const STATE_SUBDIRS = ['blobs', 'layers', 'rootfs', 'images', 'downloads'] as const;

/**
 * The problem with the state directory `root` an error of Node's fs shows, as an
 * ImgsdkError (code STATE) of one line, or null when `e` is not such an error.
 * @example throw stateFsError(e, '.imgsdk') ?? e;
 */
export function stateFsError(e: unknown, root: string): ImgsdkError | null {
  const err = e as NodeJS.ErrnoException;
  if (!err || typeof err !== 'object' || typeof err.code !== 'string' || !/^E[A-Z]+$/.test(err.code)) return null;
  const path = typeof err.path === 'string' ? err.path : null;
  const inside = path !== null && isInside(root, path);
  const at = path ? ` (${err.syscall ?? 'writing'} ${path})` : '';
  switch (err.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new ImgsdkError(
        'STATE',
        `the disk of the state directory ${root} is full${at}: free some space (\`imgsdk clean\`) and deploy again; what this run was writing was removed`,
        { cause: e },
      );
    case 'EROFS':
    case 'EACCES':
    case 'EPERM':
      if (!inside) return null;
      return new ImgsdkError('STATE', `the state directory ${root} is not writable${at}: ${err.code}`, { cause: e });
    case 'EEXIST':
    case 'ENOTDIR':
    case 'ENOENT':
    case 'EISDIR':
    case 'ELOOP': {
      if (!inside) return null;
      const wrong = firstNonDirectory(root, path!, err.syscall === 'mkdir' || err.syscall === 'scandir' || err.syscall === 'opendir');
      if (wrong)
        return new ImgsdkError(
          'STATE',
          `state directory ${root}: ${wrong.path} is ${wrong.what}, where imgsdk keeps a directory: remove it (what it held is rebuilt)`,
          { cause: e },
        );
      return new ImgsdkError('STATE', `state directory ${root}: ${err.code}${at}: was it changed while imgsdk ran?`, { cause: e });
    }
  }
  return null;
}

/**
 * Checks, before anything is built, that what the state directory holds at its
 * known places is a directory (or absent): one clear line otherwise.
 * @example checkStateLayout('.imgsdk');
 */
export function checkStateLayout(root: string): void {
  for (const name of STATE_SUBDIRS) {
    const wrong = notADirectory(`${root}${sep}${name}`);
    if (wrong)
      throw new ImgsdkError(
        'STATE',
        `state directory ${root}: ${root}${sep}${name} is ${wrong}, where imgsdk keeps a directory: remove it (what it held is rebuilt)`,
      );
  }
}

/** The first part of `path` below `root` that exists and is not a directory (`path` itself only when it is meant to be one). */
function firstNonDirectory(root: string, path: string, lastIsDir: boolean): { path: string; what: string } | null {
  const parts = relative(root, path).split(sep).filter(Boolean);
  let at = root;
  for (const [i, p] of parts.entries()) {
    at = `${at}${sep}${p}`;
    const what = notADirectory(at);
    // The last part may be a file on purpose (a blob, a record): only its parents must be directories.
    if (what && (i < parts.length - 1 || lastIsDir || what !== 'a file')) return { path: at, what };
  }
  return null;
}

/** What `path` is when it exists and is not a directory (nor a symlink to one); null otherwise. */
function notADirectory(path: string): string | null {
  const l = lstatOrNull(path);
  if (!l) return null;
  if (l.isDirectory()) return null;
  if (l.isSymbolicLink()) {
    const t = statOrNull(path);
    if (!t) return 'a dangling symlink';
    return t.isDirectory() ? null : 'a symlink to something that is not a directory';
  }
  return l.isFile() ? 'a file' : 'not a directory';
}

function isInside(root: string, path: string): boolean {
  const r = relative(root, path);
  return r === '' || (!r.startsWith('..') && !r.startsWith(sep));
}

function lstatOrNull(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

function statOrNull(p: string) {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}
