import type { Entry } from '../store/entry';

/**
 * Privileges a file can carry into an image: setuid and setgid bits and file
 * capabilities. Debian installs them for login tools (passwd, chsh, su, via adduser)
 * and a few helpers (postdrop, ssh-keysign), which a container running as one user
 * never needs; they are the first thing an attacker in a container looks for. So
 * they are removed from every file by default and each removal is reported; an image
 * that needs them keeps them with `.keep('setuid')`, capabilities included. World-writable files (a hook's
 * `chmod 666`) lose their `o+w` the same way, unless the image keeps 'world-writable'.
 */

/** One file whose privileges or permissions were reduced. */
export interface StrippedFile {
  readonly path: string;
  /** Mode before, with the setuid/setgid/sticky bits. */
  readonly from: number;
  /** Mode after. */
  readonly to: number;
  /** What was removed: `setuid`, `setgid`, `capabilities`, `world-writable`. */
  readonly what: readonly string[];
}

/** Options of stripPrivileges. */
export interface PrivilegeOptions {
  /** Keep setuid/setgid bits (`.keep('setuid')`). @default false */
  readonly keepSetuid?: boolean;
  /** Keep world-writable files as they are (`.keep('world-writable')`). @default false */
  readonly keepWorldWritable?: boolean;
}

/**
 * Removes setuid/setgid bits from files (directories keep setgid: it only passes a
 * group on), drops file capabilities, and takes `o+w` from world-writable files and
 * from directories that are world-writable without the sticky bit (`/tmp` keeps 1777).
 *
 * @example
 * const { entries, stripped } = stripPrivileges(layer);
 * stripped[0]; // { path: 'usr/bin/passwd', from: 0o4755, to: 0o755, what: ['setuid'] }
 */
export function stripPrivileges(entries: readonly Entry[], opts: PrivilegeOptions = {}): { entries: Entry[]; stripped: StrippedFile[] } {
  const stripped: StrippedFile[] = [];
  const out = entries.map((e) => {
    if (e.type === 'symlink') return e;
    const what: string[] = [];
    let mode = e.mode;
    if (e.type !== 'dir' && !opts.keepSetuid) {
      if (mode & 0o4000) what.push('setuid');
      if (mode & 0o2000) what.push('setgid');
      mode &= ~0o6000;
    }
    // Capabilities go with setuid; one the tar reader could not read byte for byte
    // (a value with bytes over 0x7f) cannot be written back, so it is removed too.
    const keepCaps = !!opts.keepSetuid && e.caps !== undefined && /^[\x00-\x7f]*$/.test(e.caps);
    if (e.caps !== undefined && !keepCaps) what.push(opts.keepSetuid ? 'capabilities (not carried: unreadable value)' : 'capabilities');
    const worldWritable = mode & 0o002 && (e.type !== 'dir' || !(mode & 0o1000));
    if (worldWritable && !opts.keepWorldWritable) {
      what.push('world-writable');
      mode &= ~0o002;
    }
    if (!what.length) return e;
    stripped.push({ path: e.path, from: e.mode, to: mode, what });
    if (keepCaps) return { ...e, mode };
    const { caps: _caps, ...rest } = e;
    return { ...rest, mode };
  });
  return { entries: out, stripped };
}
