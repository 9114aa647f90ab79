import type { Entry } from '../store/entry';

/**
 * Directories a package expects to exist when its daemon starts. On a booted system
 * systemd makes them: systemd-tmpfiles from `tmpfiles.d` at boot (tinyproxy: `d
 * /run/tinyproxy 0755 tinyproxy tinyproxy`), and the service manager from a unit's
 * `RuntimeDirectory=` (sshd's `/run/sshd`), `StateDirectory=`, `CacheDirectory=`,
 * `LogsDirectory=`, or the `mkdir`/`chown` of its `ExecStartPre=` lines (mosquitto's
 * `/run/mosquitto` and `/var/log/mosquitto`). A container never boots and has no
 * service manager, so the image carries them as directories. Those a maintainer
 * script made at install time come with phase 1's tree.
 */

const TMPFILES = /^(?:usr\/lib|etc)\/tmpfiles\.d\/[^/]+\.conf$/;
/** A service unit of a package (the purge drops them; they are read before). */
export const UNIT = /^(?:usr\/)?lib\/systemd\/system\/[^/]+\.service$/;
/** Where a unit's directory settings put their directories (systemd.exec(5)). */
const UNIT_DIRS: Readonly<Record<string, string>> = {
  RuntimeDirectory: 'run',
  StateDirectory: 'var/lib',
  CacheDirectory: 'var/cache',
  LogsDirectory: 'var/log',
};
/** Trees a unit's `ExecStartPre=mkdir` may make directories in: what the service itself writes. */
const UNIT_TREES = /^(?:run|var\/(?:lib|cache|log|spool))\/[^%$]+$/;

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
    out.push({
      path: path.replace(/^\/+|\/+$/g, ''),
      mode: /^[0-7]{3,4}$/.test(f[2] ?? '') ? parseInt(f[2], 8) : 0o755,
      user: f[3] && f[3] !== '-' ? f[3] : 'root',
      group: f[4] && f[4] !== '-' ? f[4] : f[3] && f[3] !== '-' ? f[3] : 'root',
    });
  }
  return out;
}

/**
 * The directories a systemd service unit has made before its daemon starts: those of
 * `RuntimeDirectory=` (under /run), `StateDirectory=`, `CacheDirectory=` and
 * `LogsDirectory=` (owned by its `User=`/`Group=`, mode `…DirectoryMode=`, 0755 by
 * default), and those its `ExecStartPre=` lines make with `mkdir [-m MODE] [-p] DIR`
 * (owned as a following `chown USER[:GROUP] DIR` says), in /run, /var/lib, /var/cache,
 * /var/log and /var/spool.
 * @example
 * parseUnitDirs('[Service]\nUser=redis\nRuntimeDirectory=redis\nRuntimeDirectoryMode=2755\n');
 * // [{ path: 'run/redis', mode: 0o2755, user: 'redis', group: 'redis' }]
 */
export function parseUnitDirs(text: string): RunDir[] {
  const settings = new Map<string, string>();
  const pre: string[] = [];
  for (const raw of text.split('\n')) {
    const m = /^\s*([A-Za-z]+)\s*=\s*(.*?)\s*$/.exec(raw);
    if (!m) continue;
    if (m[1] === 'ExecStartPre') pre.push(m[2].replace(/^[-+!@:]+/, ''));
    else settings.set(m[1], m[2]);
  }
  const user = settings.get('User') || 'root';
  const group = settings.get('Group') || (user === 'root' ? 'root' : user);
  const out: RunDir[] = [];
  const seen = new Map<string, RunDir>();
  const add = (d: RunDir) => {
    if (!UNIT_TREES.test(d.path) || d.path.split('/').includes('..')) return;
    if (!seen.has(d.path)) out.push(d);
    seen.set(d.path, d);
  };
  for (const [key, tree] of Object.entries(UNIT_DIRS)) {
    const mode = settings.get(`${key}Mode`);
    for (const name of (settings.get(key) ?? '').split(/\s+/).filter(Boolean)) {
      add({
        path: `${tree}/${name.replace(/^\/+|\/+$/g, '')}`,
        mode: mode && /^[0-7]{3,4}$/.test(mode) ? parseInt(mode, 8) : 0o755,
        user,
        group,
      });
    }
  }
  for (const cmd of pre) {
    const words = cmd.split(/\s+/);
    const prog = words[0].slice(words[0].lastIndexOf('/') + 1);
    if (prog === 'mkdir') {
      let mode = 0o755;
      for (let i = 1; i < words.length; i++) {
        const w = words[i];
        if (w === '-m' && /^[0-7]{3,4}$/.test(words[i + 1] ?? '')) mode = parseInt(words[++i], 8);
        else if (/^--mode=[0-7]{3,4}$/.test(w)) mode = parseInt(w.slice(7), 8);
        else if (w.startsWith('/')) add({ path: canonical(w), mode, user: 'root', group: 'root' });
      }
    } else if (prog === 'chown' && words.length >= 3 && !words[1].startsWith('-')) {
      const [u, g] = words[1].split(/[:.]/);
      for (const w of words.slice(2)) {
        const d = seen.get(canonical(w));
        if (d) seen.set(d.path, Object.assign(d, { user: u || d.user, group: g || d.group }));
      }
    }
  }
  return out.map((d) => seen.get(d.path)!);
}

const canonical = (p: string) =>
  p
    .replace(/^\/var\/run(?=\/|$)/, '/run')
    .replace(/^\/+|\/+$/g, '')
    .replace(/\/{2,}/g, '/');

/**
 * Directory entries for the tmpfiles.d lines of `entries` under /run, and for the
 * directories of the service units in `units` (parseUnitDirs), that the image lacks
 * (their parents too), owned by the named accounts where the image has them.
 * @example runDirs(entries, read, (u) => uids.get(u), (g) => gids.get(g), unitFiles)
 */
export function runDirs(
  entries: readonly Entry[],
  read: (e: Entry) => Buffer | null,
  uid: (user: string) => number | undefined,
  gid: (group: string) => number | undefined,
  units: readonly Entry[] = [],
): Entry[] {
  const have = new Set(entries.map((e) => e.path));
  const out: Entry[] = [];
  const add = (path: string, mode: number, u: number, g: number) => {
    if (have.has(path)) return;
    have.add(path);
    out.push({ path, type: 'dir', mode, uid: u, gid: g, size: 0, linkname: null, sha256: null, elf: null });
  };
  const dirs: RunDir[] = [];
  for (const e of entries) {
    if (e.type !== 'file' || !TMPFILES.test(e.path)) continue;
    const body = read(e);
    if (body) dirs.push(...parseTmpfiles(body.toString('utf8')));
  }
  for (const e of units) {
    const body = e.type === 'file' && UNIT.test(e.path) ? read(e) : null;
    if (body) dirs.push(...parseUnitDirs(body.toString('utf8')));
  }
  for (const d of dirs) {
    const parts = d.path.split('/');
    for (let i = 1; i < parts.length; i++) add(parts.slice(0, i).join('/'), 0o755, 0, 0);
    add(d.path, d.mode & 0o7777, uid(d.user) ?? 0, gid(d.group) ?? 0);
  }
  return out;
}
