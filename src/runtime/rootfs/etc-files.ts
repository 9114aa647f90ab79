/**
 * The account files an image's rootfs gets: /etc/passwd, /etc/group and
 * /etc/nsswitch.conf, rendered from the image's and its parents' accounts.
 */
import type { AccountDef } from '../../contract/assembly';
import { ImgsdkError } from '../../contract/errors';

const BUILTIN: readonly AccountDef[] = [
  { user: 'root', uid: 0, group: 'root', gid: 0, home: '/root', shell: '/sbin/nologin' },
  { user: 'nobody', uid: 65534, group: 'nobody', gid: 65534, home: '/nonexistent', shell: '/sbin/nologin' },
];

/**
 * /etc/passwd: root, nobody and `accounts` (the last of a name wins, so an account
 * may redefine root or nobody), sorted by uid, then name.
 *
 * @example
 * renderPasswd([{ user: 'app', uid: 1000, group: 'app', gid: 1000, home: '/home/app', shell: '/sbin/nologin' }]);
 * // root:x:0:0:root:/root:/sbin/nologin\napp:x:1000:1000:app:/home/app:/sbin/nologin\nnobody:x:65534:…
 */
export function renderPasswd(accounts: readonly AccountDef[]): string {
  const byName = new Map<string, AccountDef>();
  for (const a of [...BUILTIN, ...accounts]) {
    checkFields(a.user, [a.user, a.group, a.home, a.shell]);
    byName.set(a.user, a);
  }
  return lines(
    [...byName.values()].map((a) => ({
      id: a.uid,
      name: a.user,
      line: `${a.user}:x:${a.uid}:${a.gid}:${a.user}:${a.home || '/nonexistent'}:${a.shell || '/sbin/nologin'}`,
    })),
  );
}

/**
 * /etc/group: root, nobody, `groups` (groups without a user, such as a maintainer
 * script's `postdrop`) and the primary group of each account (the last of a
 * group name wins), sorted by gid, then name. A primary group needs no member list;
 * the members a package's install gave a group (`adduser postgres ssl-cert`, so
 * PostgreSQL reads the snakeoil key) are listed, as the install left them.
 *
 * @example
 * renderGroup([]); // 'root:x:0:\nnobody:x:65534:\n'
 * renderGroup([], [{ name: 'ssl-cert', gid: 108, members: ['postgres'] }]); // 'root:x:0:\nssl-cert:x:108:postgres\nnobody:x:65534:\n'
 */
export function renderGroup(
  accounts: readonly AccountDef[],
  groups: readonly { readonly name: string; readonly gid: number; readonly members?: readonly string[] }[] = [],
): string {
  const byName = new Map<string, number>();
  const members = new Map<string, readonly string[]>();
  for (const g of groups) {
    checkFields(g.name, [g.name, ...(g.members ?? [])]);
    if (g.members?.some((m) => m.includes(','))) throw new ImgsdkError('ACCOUNT', `group "${g.name}": a member name contains ','`);
    byName.set(g.name, g.gid);
    if (g.members?.length) members.set(g.name, g.members);
  }
  for (const a of [...BUILTIN, ...accounts]) {
    const name = a.group || a.user;
    checkFields(a.user, [name]);
    byName.set(name, a.gid);
  }
  return lines([...byName].map(([name, gid]) => ({ id: gid, name, line: `${name}:x:${gid}:${(members.get(name) ?? []).join(',')}` })));
}

/**
 * /etc/nsswitch.conf for an image without NSS plugins: accounts from files, hosts
 * from /etc/hosts, then DNS.
 *
 * @example
 * renderNsswitch(); // 'passwd: files\ngroup: files\nhosts: files dns\n'
 */
export function renderNsswitch(): string {
  return 'passwd: files\ngroup: files\nhosts: files dns\n';
}

function lines(rows: { id: number; name: string; line: string }[]): string {
  rows.sort((a, b) => a.id - b.id || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return rows.map((r) => r.line + '\n').join('');
}

// A ':' or newline would shift every later field or line of the file.
function checkFields(user: string, fields: readonly string[]): void {
  for (const f of fields) {
    if (/[:\n]/.test(f)) throw new ImgsdkError('ACCOUNT', `account "${user}": "${f}" contains ':' or a newline`);
  }
}
