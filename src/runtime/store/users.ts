/**
 * Who uses the engine's shared caches: builder images and the builders' volumes
 * (Portage snapshots, binary packages, distfiles) outlive one app and are shared
 * by every app on the engine whose builders match. `clean` of one app must not
 * remove what another still uses, and the engine cannot say who that is (a volume's
 * labels are fixed at creation; a stopped builder container is gone). So each state
 * directory records what its builders used, in a registry beside the user's other
 * state (`$IMGSDK_USERS_DIR`, else `$XDG_STATE_HOME/imgsdk/users`, else
 * `~/.local/state/imgsdk/users`):
 *
 *   users/<state identity>/owner.json          { root, host }
 *   users/<state identity>/volume=<name>       one empty file per volume
 *   users/<state identity>/builder=<id, URI-encoded>
 *
 * One file per use, created and never rewritten, so parallel builds of one deploy
 * and deploys of other apps never lose each other's records. A user whose state
 * directory is gone from this host is no user any more (its entry is dropped when
 * read). Users on other hosts of a shared engine are known only through their own
 * registry: the engine-wide sweep stays behind `--all`.
 */
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { writeAtomic } from '../../util/files';
import { sha256 } from '../../util/hash';

/**
 * The identity of a state directory, as its containers are labelled and its uses
 * recorded: the same directory on another host of a shared engine is another one.
 * @example stateIdentity('/srv/app/.imgsdk') // '3f2a…' (16 hex)
 */
export function stateIdentity(root: string): string {
  let real = root;
  try {
    real = realpathSync(root);
  } catch {
    // not made yet: the path as given
  }
  return sha256(`${hostname()}\0${real}`).slice(0, 16);
}

/** Overrides where the registry of cache users lives. */
export const ENV_USERS_DIR = 'IMGSDK_USERS_DIR';

/**
 * The registry directory: `$IMGSDK_USERS_DIR`, else `$XDG_STATE_HOME/imgsdk/users`,
 * else `~/.local/state/imgsdk/users`.
 * @example usersDirOf({ IMGSDK_USERS_DIR: '/tmp/u' }) // '/tmp/u'
 */
export function usersDirOf(env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env[ENV_USERS_DIR]) return resolve(env[ENV_USERS_DIR]!);
  return join(env.XDG_STATE_HOME ? resolve(env.XDG_STATE_HOME) : join(homedir(), '.local', 'state'), 'imgsdk', 'users');
}

/** What one state directory's builders have used. */
export interface CacheUser {
  /** The state directory's identity (leftovers.ts `stateIdentity`). */
  readonly identity: string;
  readonly root: string;
  readonly host: string;
  readonly builders: readonly string[];
  readonly volumes: readonly string[];
}

/** What a use names: a builder (by id) and the volumes it mounts. */
export interface Uses {
  readonly builders?: readonly string[];
  readonly volumes?: readonly string[];
}

/**
 * Records that the state directory `root` (identity `identity`) uses `uses`.
 * Never fails a build: a registry that cannot be written only makes `clean` keep more.
 * @example await recordUses(usersDirOf(), '.imgsdk', { builders: ['acme/bob'], volumes: ['imgsdk-distfiles'] });
 */
export async function recordUses(dir: string, root: string, uses: Uses): Promise<void> {
  const at = join(dir, stateIdentity(root));
  try {
    await mkdir(at, { recursive: true });
    if (!existsSync(join(at, 'owner.json')))
      await writeAtomic(join(at, 'owner.json'), JSON.stringify({ root: resolve(root), host: hostname() }));
    const names = [
      ...(uses.builders ?? []).map((b) => `builder=${encodeURIComponent(b)}`),
      ...(uses.volumes ?? []).map((v) => `volume=${encodeURIComponent(v)}`),
    ];
    for (const n of names) if (!existsSync(join(at, n))) await writeFile(join(at, n), '');
  } catch {
    // Best effort: see above.
  }
}

/** Forgets some uses of the state directory `root` (a pruned volume), or all of them with no `uses`. */
export async function forgetUses(dir: string, root: string, uses?: Uses): Promise<void> {
  const at = join(dir, stateIdentity(root));
  if (!uses) {
    await rm(at, { recursive: true, force: true });
    return;
  }
  const names = [
    ...(uses.builders ?? []).map((b) => `builder=${encodeURIComponent(b)}`),
    ...(uses.volumes ?? []).map((v) => `volume=${encodeURIComponent(v)}`),
  ];
  for (const n of names) await rm(join(at, n), { force: true });
}

/**
 * Every user the registry knows, sorted by identity. Entries that are not readable,
 * or whose state directory no longer exists on this host, are dropped.
 */
export async function readUsers(dir: string): Promise<CacheUser[]> {
  const out: CacheUser[] = [];
  for (const d of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (!d.isDirectory()) continue;
    const at = join(dir, d.name);
    const owner = await readFile(join(at, 'owner.json'), 'utf8').then(
      (t) => JSON.parse(t) as { root?: unknown; host?: unknown },
      () => null,
    );
    if (!owner || typeof owner.root !== 'string' || typeof owner.host !== 'string') continue;
    if (owner.host === hostname() && !existsSync(owner.root)) {
      await rm(at, { recursive: true, force: true }).catch(() => undefined);
      continue;
    }
    const names = await readdir(at).catch(() => [] as string[]);
    const pick = (prefix: string) =>
      names
        .filter((n) => n.startsWith(prefix))
        .map((n) => decodeURIComponent(n.slice(prefix.length)))
        .sort();
    out.push({ identity: d.name, root: owner.root, host: owner.host, builders: pick('builder='), volumes: pick('volume=') });
  }
  return out.sort((a, b) => a.identity.localeCompare(b.identity));
}
