/**
 * Call-site checks shared by the Image methods. Each returns the problem as a
 * message, or null, so a method can record it and go on.
 */
export { checkImageId, MAX_REPOSITORY_LENGTH, shorten } from '../contract/names';

export function checkUri(uri: string): string | null {
  return /^[a-z][a-z0-9+.-]*:\/\/\S+$|^git@\S+:\S+$/.test(uri) ? null : `"${uri}" is not a URI`;
}

export function checkAbsolutePath(path: string, what: string): string | null {
  if (!path.startsWith('/')) return `${what} path "${path}" is not absolute`;
  if (path.split('/').includes('..')) return `${what} path "${path}" contains ".."`;
  if (/[\0\n]/.test(path)) return `${what} path contains a NUL or newline`;
  return null;
}

export function checkGlob(glob: string): string | null {
  if (!glob) return 'empty path or glob';
  if (glob.split('/').includes('..')) return `"${glob}" contains ".."`;
  return null;
}

/** Account names as shadow-utils accepts them (useradd's default NAME_REGEX, relaxed). */
export function checkAccountName(name: string): string | null {
  return /^[a-z_][a-z0-9_-]{0,31}\$?$/.test(name) ? null : `"${name}" is not a user or group name`;
}

export function checkId(what: 'uid' | 'gid', n: number): string | null {
  return Number.isInteger(n) && n >= 0 && n <= 2147483647 && n !== 4294967295 ? null : `${what} ${n} is out of range (0 to 2147483647)`;
}

export function parseMode(mode: number | string | undefined, dflt: number, problem: (m: string) => void): number {
  if (mode === undefined) return dflt;
  const n = typeof mode === 'number' ? mode : /^0?[0-7]{3,4}$/.test(mode) ? parseInt(mode, 8) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0o7777) {
    problem(`mode ${typeof mode === 'number' ? '0o' + mode.toString(8) : JSON.stringify(mode)} is not a file mode (0 to 0o7777)`);
    return dflt;
  }
  return n;
}

/** `8080` → `8080/tcp`; `'53/udp'` stays. */
export function normalizePort(p: number | string, problem: (m: string) => void): string {
  const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(String(p));
  const n = m ? Number(m[1]) : NaN;
  if (!m || n < 1 || n > 65535) {
    problem(`port "${p}" is not a port (1 to 65535, optionally /tcp, /udp or /sctp)`);
    return String(p);
  }
  return `${n}/${m[2] ?? 'tcp'}`;
}
