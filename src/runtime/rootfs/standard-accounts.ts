import type { AccountDef } from '../../contract/assembly';
import type { GroupDef } from './accounts';

/**
 * Debian's standard accounts (base-passwd's `passwd.master` and `group.master`:
 * www-data 33, proxy 13, uucp 10, …) exist on every Debian system, so a package's
 * configuration names them without creating them: nginx's `user www-data;`, exim's
 * `trusted_users = uucp`, squid's `cache_effective_user proxy`. An image writes its
 * own /etc/passwd, so the accounts its kept configuration names are added to it as
 * base-passwd defines them.
 */

/** base-passwd's master files, parsed. */
export interface StandardAccounts {
  readonly users: ReadonlyMap<string, AccountDef>;
  readonly groups: ReadonlyMap<string, number>;
}

/** Where base-passwd keeps them. */
export const PASSWD_MASTER = 'usr/share/base-passwd/passwd.master';
export const GROUP_MASTER = 'usr/share/base-passwd/group.master';

/**
 * Parses the two master files (`name:*:uid:gid:gecos:home:shell`, `name:*:gid:`).
 * @example parseStandardAccounts('www-data:*:33:33:www-data:/var/www:/usr/sbin/nologin\n', 'www-data:*:33:\n').users.get('www-data')?.uid // 33
 */
export function parseStandardAccounts(passwd: string, group: string): StandardAccounts {
  const groups = new Map<string, number>();
  for (const line of group.split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && /^\d+$/.test(f[2])) groups.set(f[0], Number(f[2]));
  }
  const byGid = new Map([...groups].map(([n, g]) => [g, n]));
  const users = new Map<string, AccountDef>();
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || !/^\d+$/.test(f[2]) || !/^\d+$/.test(f[3])) continue;
    const gid = Number(f[3]);
    users.set(f[0], {
      user: f[0],
      uid: Number(f[2]),
      group: byGid.get(gid) ?? f[0],
      gid,
      home: f[5] || '/nonexistent',
      shell: f[6] || '/usr/sbin/nologin',
    });
  }
  return { users, groups };
}

/** What the image has already: names and ids of its users and groups. */
export interface AccountsInImage {
  readonly users: ReadonlySet<string>;
  readonly uids: ReadonlySet<number>;
  readonly groups: ReadonlySet<string>;
  readonly gids: ReadonlySet<number>;
}

/**
 * The standard accounts among `words` (names a kept configuration file puts on a
 * line about users or groups) that the image lacks, and whose ids no account of the
 * image takes. root and nobody are always there.
 * @example namedStandardAccounts(['user', 'www-data'], std, have) // { users: [www-data 33:33], groups: [], notes: [...] }
 */
export function namedStandardAccounts(
  words: Iterable<string>,
  std: StandardAccounts,
  have: AccountsInImage,
): { users: AccountDef[]; groups: GroupDef[]; notes: string[] } {
  const users: AccountDef[] = [];
  const groups: GroupDef[] = [];
  const notes: string[] = [];
  const uids = new Set(have.uids);
  const gids = new Set(have.gids);
  const groupNames = new Set(have.groups);
  for (const w of [...new Set(words)].sort()) {
    const u = std.users.get(w);
    if (u && u.uid !== 0 && u.uid !== 65534 && !have.users.has(w) && !uids.has(u.uid)) {
      uids.add(u.uid);
      users.push(u);
      if (!groupNames.has(u.group)) {
        groupNames.add(u.group);
        gids.add(u.gid);
      }
      notes.push(`account ${w} (${u.uid}:${u.gid}) added as base-passwd defines it: a kept configuration file names it`);
      continue;
    }
    const gid = std.groups.get(w);
    // Debian's nogroup (65534) is the image's nobody group by another name (proftpd's `Group nogroup`).
    if (gid !== undefined && gid !== 0 && !groupNames.has(w) && (!gids.has(gid) || gid === 65534)) {
      groupNames.add(w);
      gids.add(gid);
      groups.push({ name: w, gid });
      notes.push(`group ${w} (${gid}) added as base-passwd defines it: a kept configuration file names it`);
    }
  }
  return { users, groups, notes };
}
