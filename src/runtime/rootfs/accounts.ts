import type { AccountDef, DirDef, FileDef, ImageDef } from '../../contract/assembly';
import { BuildError } from '../../contract/errors';
import type { CreatedAccount } from '../store/state';
import type { Entry } from '../store/entry';

/**
 * Accounts that maintainer scripts create (`adduser --system redis` in
 * redis-server's postinst) own files of the image (`/etc/redis 2770 redis:redis`).
 * An image that declares an account of the same name gets those files (the script's
 * uid/gid are mapped to the declared ones); otherwise the created account itself is
 * written to the image's /etc/passwd and /etc/group, so no file is owned by a number
 * nobody in the image has.
 */

/** A group line of /etc/group without a user of the same name. */
export interface GroupDef {
  readonly name: string;
  readonly gid: number;
  /** Its member list, as the install left it (PostgreSQL's `postgres` in `ssl-cert`). @default none */
  readonly members?: readonly string[];
}

/** What adoptAccounts did. */
export interface AdoptedAccounts {
  /** Entries with the created ids mapped to declared accounts. */
  readonly entries: Entry[];
  /** Created users the image did not declare, to add to /etc/passwd. */
  readonly users: readonly AccountDef[];
  /** Created groups without a user, to add to /etc/group. */
  readonly groups: readonly GroupDef[];
  /** One line per mapping or addition, for the build log and PACKAGES.md. */
  readonly notes: readonly string[];
}

/**
 * Maps or adds the accounts an install created (see the module comment).
 *
 * @example
 * adoptAccounts(entries, [{ user: 'redis', uid: 100, gid: 101, group: 'redis' }], [{ user: 'redis', uid: 10001, gid: 10001, ... }]);
 * // files of uid 100 now belong to 10001; no account is added
 */
export function adoptAccounts(
  entries: readonly Entry[],
  created: readonly CreatedAccount[],
  declared: readonly AccountDef[],
): AdoptedAccounts {
  const users: AccountDef[] = [];
  const groups: GroupDef[] = [];
  const notes: string[] = [];
  const uidMap = new Map<number, number>();
  const gidMap = new Map<number, number>();
  const declaredUser = new Map(declared.map((a) => [a.user, a]));
  const declaredGroup = new Map(declared.map((a) => [a.group || a.user, a.gid]));
  for (const c of created) {
    const mine = c.user ? declaredUser.get(c.user) : undefined;
    if (c.user && c.uid !== undefined) {
      if (mine) {
        if (mine.uid !== c.uid) uidMap.set(c.uid, mine.uid);
        if (mine.gid !== c.gid) gidMap.set(c.gid, mine.gid);
        notes.push(`account ${c.user}: the install made it ${c.uid}:${c.gid}; its files go to the declared ${mine.uid}:${mine.gid}`);
      } else {
        const group = c.group ?? c.user;
        const gid = declaredGroup.get(group) ?? c.gid;
        if (gid !== c.gid) gidMap.set(c.gid, gid);
        users.push({ user: c.user, uid: c.uid, group, gid, home: c.home ?? '/nonexistent', shell: c.shell ?? '/usr/sbin/nologin' });
        notes.push(`account ${c.user} (${c.uid}:${gid}) added: the install created it and owns files with it`);
      }
      // Members of a user's own group (rare) are carried as a group line of the same name and id.
      if (c.members?.length)
        groups.push({ name: c.group ?? c.user, gid: mine?.gid ?? declaredGroup.get(c.group ?? c.user) ?? c.gid, members: c.members });
    } else if (c.group) {
      const gid = declaredGroup.get(c.group);
      const members = c.members?.length ? { members: c.members } : {};
      if (gid !== undefined) {
        if (gid !== c.gid) gidMap.set(c.gid, gid);
        if (c.members?.length) groups.push({ name: c.group, gid, ...members });
      } else {
        groups.push({ name: c.group, gid: c.gid, ...members });
        notes.push(
          `group ${c.group} (${c.gid}) added: the install created it${c.members?.length ? `, with members ${c.members.join(', ')}` : ''}`,
        );
      }
    }
  }
  const mapped =
    uidMap.size || gidMap.size
      ? entries.map((e) =>
          uidMap.has(e.uid) || gidMap.has(e.gid) ? { ...e, uid: uidMap.get(e.uid) ?? e.uid, gid: gidMap.get(e.gid) ?? e.gid } : e,
        )
      : [...entries];
  return { entries: mapped, users, groups, notes };
}

/**
 * Files owned by a uid or gid that no account of the image has: the image runs, but
 * `ls -l` shows numbers and a service started as a named user cannot reach them.
 * Returns one line per owner, naming up to five files.
 */
export function unownedFiles(entries: readonly Entry[], users: ReadonlySet<number>, groups: ReadonlySet<number>): string[] {
  const byOwner = new Map<string, string[]>();
  for (const e of entries) {
    const what = [!users.has(e.uid) ? `uid ${e.uid}` : '', !groups.has(e.gid) ? `gid ${e.gid}` : ''].filter(Boolean).join(', ');
    if (what) byOwner.set(what, [...(byOwner.get(what) ?? []), e.path]);
  }
  return [...byOwner].map(
    ([what, paths]) =>
      `no account in the image has ${what}, which owns ${paths
        .slice(0, 5)
        .map((p) => '/' + p)
        .join(', ')}${paths.length > 5 ? ` and ${paths.length - 5} more` : ''}`,
  );
}

/**
 * Names synth left to the build — a `.user()`, `.file()` or `.dir()` owner that no
 * `.account()` declares, accepted because a package's install may create it — looked
 * up in the image's accounts, the ones installs created included. Returns the files
 * and directory sources with their owners' ids; throws, naming the image and the account, when no account
 * has the name, so nothing is built with a user the image lacks.
 *
 * @example
 * resolveNamedOwners(def, [...declared, ...created.users], created.groups); // def.files, `postgres` → 104:109
 */
/** An image's `.file()`s and `.dir()` sources with every owner resolved to ids. */
export interface NamedOwners {
  readonly files: readonly FileDef[];
  readonly dirs: readonly DirDef[];
}

export function resolveNamedOwners(
  def: Pick<ImageDef, 'id' | 'config' | 'files' | 'dirs'>,
  accounts: readonly AccountDef[],
  groups: readonly GroupDef[],
): NamedOwners {
  const uidOf = (name: string) =>
    /^\d+$/.test(name) ? Number(name) : (WELL_KNOWN[name]?.[0] ?? findLast(accounts, (a) => a.user === name)?.uid);
  const gidOfUser = (name: string) =>
    /^\d+$/.test(name) ? Number(name) : (WELL_KNOWN[name]?.[1] ?? findLast(accounts, (a) => a.user === name)?.gid);
  const gidOf = (name: string) =>
    /^\d+$/.test(name)
      ? Number(name)
      : (WELL_KNOWN[name]?.[1] ?? findLast(accounts, (a) => a.group === name)?.gid ?? groups.find((g) => g.name === name)?.gid);
  const missing: string[] = [];
  const created = accounts.length
    ? `the image's accounts are ${[...new Set(accounts.map((a) => a.user))].sort().join(', ')}`
    : 'the image has no accounts but root and nobody';
  const user = def.config.user;
  if (user && !user.includes(':') && uidOf(user) === undefined) {
    missing.push(
      `user "${user}" is not an account of the image: no .account() declares it and no package's install created it (${created}); declare it with .account({ user: '${user}', uid })`,
    );
  }
  const said = new Set<string>();
  const resolve =
    (what: string) =>
    (f: FileDef): FileDef => {
      if (!f.owner) return f;
      const [u, g] = f.owner.split(':');
      const uid = uidOf(u);
      const gid = g === undefined ? gidOfUser(u) : gidOf(g);
      if (uid === undefined || gid === undefined) {
        const line = `${what}: owner "${f.owner}" is not an account of the image: no .account() declares it and no package's install created it (${created})`;
        if (!said.has(line)) missing.push(line);
        said.add(line);
        return f;
      }
      return { ...f, uid, gid };
    };
  const files = def.files.map((f) => resolve(`file ${f.path}`)(f));
  const dirs = (def.dirs ?? []).map((d) => ({ ...d, entries: d.entries.map(resolve(`dir ${d.dest}`)) }));
  if (missing.length) throw new BuildError(def.id, missing.join('\n  '), { phase: 'check' });
  return { files, dirs };
}

const WELL_KNOWN: Readonly<Record<string, readonly [number, number]>> = { root: [0, 0], nobody: [65534, 65534] };

function findLast<T>(xs: readonly T[], f: (x: T) => boolean): T | undefined {
  for (let i = xs.length - 1; i >= 0; i--) if (f(xs[i])) return xs[i];
  return undefined;
}
