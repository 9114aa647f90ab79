/**
 * Making a directory imgsdk writes into (the state directory), with one clear line
 * for each way that fails. Not `mkdir -p`: Node's recursive mkdir loops forever
 * under /proc, where mkdir answers ENOENT for a parent that exists.
 */
import { constants } from 'node:fs';
import { access, mkdir, stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ImgsdkError } from '../../contract/errors';

// statfs f_type of the kernel's pseudo filesystems (linux/magic.h).
const PSEUDO_FS: Readonly<Record<number, string>> = {
  0x9fa0: '/proc',
  0x62656572: 'sysfs',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0x64626720: 'debugfs',
  0x73636673: 'securityfs',
  0x6e736673: 'nsfs',
};

/**
 * Makes `path` (and its missing parents) and checks it is a writable directory on a
 * real filesystem. Throws an ImgsdkError (code STATE) whose message is one line
 * naming `what` and the path.
 * @example await ensureWritableDir('.imgsdk', 'state directory');
 */
export async function ensureWritableDir(path: string, what: string): Promise<void> {
  const fail = (why: string, cause?: unknown) => new ImgsdkError('STATE', `${what} ${path}: ${why}`, { cause });
  // The nearest part of the path that exists, and what is missing below it.
  const missing: string[] = [];
  let at = path;
  for (;;) {
    const st = await stat(at).catch((e: NodeJS.ErrnoException) => e);
    if (!(st instanceof Error)) {
      if (!st.isDirectory()) throw fail(at === path ? 'is a file, not a directory' : `${at} is a file, not a directory`);
      break;
    }
    if (st.code === 'ENOTDIR') throw fail(`a part of it is a file, not a directory`, st);
    if (st.code !== 'ENOENT') throw fail(reason(st), st);
    missing.unshift(at);
    if (dirname(at) === at) break;
    at = dirname(at);
  }
  const fs = await statfs(at).catch(() => null);
  const pseudo = fs ? PSEUDO_FS[Number(fs.type)] : undefined;
  if (pseudo) throw fail(`is on ${pseudo}, a kernel filesystem that holds no files of ours: choose another directory (--state)`);
  for (const dir of missing) {
    try {
      await mkdir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw fail(`cannot create ${dir}: ${reason(e)}`, e);
    }
  }
  try {
    await access(path, constants.W_OK);
  } catch (e) {
    throw fail(`is not writable: ${reason(e)}`, e);
  }
}

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EROFS':
      return 'the filesystem is read-only (EROFS)';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code})`;
    case 'ENOSPC':
      return 'no space left on the device (ENOSPC)';
    case 'ENAMETOOLONG':
      return 'the path is too long (ENAMETOOLONG)';
    case 'ELOOP':
      return 'too many symbolic links (ELOOP)';
  }
  return code ?? (e as Error).message;
}
