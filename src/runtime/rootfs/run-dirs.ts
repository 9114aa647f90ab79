import type { Entry } from '../store/entry';

/**
 * Directories a package expects under /run. On a booted system systemd-tmpfiles
 * makes them from `tmpfiles.d` at boot (tinyproxy: `d /run/tinyproxy 0755 tinyproxy
 * tinyproxy`); a container never boots, so the image carries them as directories.
 * Those a maintainer script made at install time come with phase 1's tree.
 */

const TMPFILES = /^(?:usr\/lib|etc)\/tmpfiles\.d\/[^/]+\.conf$/;

/** One `d`/`D` line of a tmpfiles.d file under /run. */
export interface RunDir {
  readonly path: string;
  readonly mode: number;
  readonly user: string;
  readonly group: string;
}

/**
 * The /run directories of tmpfiles.d lines (`d /run/x 0755 user group -`), in order.
 * @example parseTmpfiles('d /run/tinyproxy 0755 tinyproxy tinyproxy -\n') // [{ path: 'run/tinyproxy', mode: 0o755, user: 'tinyproxy', group: 'tinyproxy' }]
 */
export function parseTmpfiles(text: string): RunDir[] {
  const out: RunDir[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (!/^[dD]!?$/.test(f[0] ?? '') || !f[1]) continue;
    const path = f[1].replace(/^\/var\/run(?=\/|$)/, '/run');
    if (!/^\/run\/[^%]+$/.test(path)) continue; // specifiers (%t) and other trees are the booted system's
    out.push({ path: path.replace(/^\/+|\/+$/g, ''), mode: /^[0-7]{3,4}$/.test(f[2] ?? '') ? parseInt(f[2], 8) : 0o755, user: f[3] && f[3] !== '-' ? f[3] : 'root', group: f[4] && f[4] !== '-' ? f[4] : f[3] && f[3] !== '-' ? f[3] : 'root' });
  }
  return out;
}

/**
 * Directory entries for the tmpfiles.d lines of `entries` under /run that the image
 * lacks (their parents too), owned by the named accounts where the image has them.
 * @example runDirs(entries, read, (u) => uids.get(u), (g) => gids.get(g))
 */
export function runDirs(entries: readonly Entry[], read: (e: Entry) => Buffer | null, uid: (user: string) => number | undefined, gid: (group: string) => number | undefined): Entry[] {
  const have = new Set(entries.map((e) => e.path));
  const out: Entry[] = [];
  const add = (path: string, mode: number, u: number, g: number) => {
    if (have.has(path)) return;
    have.add(path);
    out.push({ path, type: 'dir', mode, uid: u, gid: g, size: 0, linkname: null, sha256: null, elf: null });
  };
  for (const e of entries) {
    if (e.type !== 'file' || !TMPFILES.test(e.path)) continue;
    const body = read(e);
    if (!body) continue;
    for (const d of parseTmpfiles(body.toString('utf8'))) {
      add('run', 0o755, 0, 0);
      const parts = d.path.split('/');
      for (let i = 2; i < parts.length; i++) add(parts.slice(0, i).join('/'), 0o755, 0, 0);
      add(d.path, d.mode & 0o7777, uid(d.user) ?? 0, gid(d.group) ?? 0);
    }
  }
  return out;
}
