/**
 * The state directory's mutex: one deploy at a time. The mutex file says who holds
 * it — pid, the process's start time (from /proc/<pid>/stat), the boot id and the
 * host — so a pid reused by another process after a crash is not taken for the
 * holder. A holder that cannot be checked that way (another host on a shared
 * directory, a mutex written by hand or by an older imgsdk) keeps the mutex only while
 * its file is refreshed: the holder touches it every few seconds.
 */
import { readFileSync, rmSync } from 'node:fs';
import { link, lstat, open, readFile, rename, rm, utimes } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { CancelledError, ImgsdkError } from '../../contract/errors';

/** What the mutex file holds. */
export interface MutexHolder {
  readonly pid: number;
  /** Start time of the process in clock ticks since boot (field 22 of /proc/<pid>/stat). */
  readonly start: string | null;
  readonly boot: string | null;
  readonly host: string;
  /** ISO time the mutex was taken. */
  readonly since: string;
  readonly command: string;
}

export interface MutexOptions {
  /** Told who holds the mutex when this call starts to wait, and again when the holder changes. */
  readonly onWait?: (holder: string) => void;
  readonly signal?: AbortSignal;
  /** A holder that cannot be checked is gone when the mutex was not refreshed for this long. @default 30000 */
  readonly staleMs?: number;
  /** How often the holder refreshes the mutex file. @default 5000 */
  readonly refreshMs?: number;
  /** What the holder is doing, for the message of whoever waits. @default the command line */
  readonly command?: string;
  /** How long to wait for a live holder before giving up with an error naming it. @default IMGSDK_LOCK_WAIT seconds, else 6 hours */
  readonly maxWaitMs?: number;
}

const POLL_MS = 200;
/** A deploy can take hours (a Gentoo world); a wait longer than a working day is a stuck holder. */
const DEFAULT_MAX_WAIT_MS = Number(process.env.IMGSDK_LOCK_WAIT) > 0 ? Number(process.env.IMGSDK_LOCK_WAIT) * 1000 : 6 * 3600_000;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function kindOf(st: Stats): string {
  return st.isDirectory()
    ? 'a directory'
    : st.isSymbolicLink()
      ? 'a symlink'
      : st.isFIFO()
        ? 'a FIFO'
        : st.isSocket()
          ? 'a socket'
          : 'not a regular file';
}

/** An error creating the mutex file as one line naming it (a full disk, a read-only directory). */
function mutexFileError(path: string, e: NodeJS.ErrnoException): Error {
  if (!e.code) return e;
  return new ImgsdkError(
    'STATE',
    `cannot create the state directory's mutex ${path}: ${e.code}${e.code === 'ENOSPC' ? ' (the disk is full)' : ''}`,
  );
}

/**
 * Runs `fn` holding the mutex at `path`; waits while a live process holds it and
 * takes over a mutex whose holder is gone.
 * @example await withMutex('.imgsdk/mutex', () => build(), { onWait: (who) => console.log(`waiting for ${who}`) });
 */
export async function withMutex<T>(path: string, fn: () => Promise<T>, opts: MutexOptions = {}): Promise<T> {
  const staleMs = opts.staleMs ?? 30_000;
  const maxWaitMs = opts.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  const me = JSON.stringify(self(opts.command));
  const began = Date.now();
  let told = '';
  // What the mutex file said and when we first saw it so: a holder refreshes its
  // file, so one unchanged for staleMs of our own clock is stale, whatever mtime it
  // claims (a garbage file stamped in the future is never older than staleMs).
  let seen = '';
  let seenSince = began;
  for (;;) {
    // Every pass checks the signal: a mutex that keeps vanishing must not keep SIGTERM out.
    if (opts.signal?.aborted) throw new CancelledError(`cancelled while waiting for the state directory's mutex ${path}`);
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(me);
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw mutexFileError(path, e as NodeJS.ErrnoException);
    }
    const st = await lstat(path).catch(() => null);
    if (st && !st.isFile())
      throw new ImgsdkError('STATE', `${path} is ${kindOf(st)}, not imgsdk's mutex file: remove it (no imgsdk holds a mutex there)`);
    const text = st ? await readFile(path, 'utf8').catch(() => null) : null;
    if (text === null) {
      await pause(POLL_MS / 4); // released meanwhile; a short pause keeps a vanishing mutex from spinning
      continue;
    }
    const now = Date.now();
    const mtime = st?.mtimeMs ?? now;
    const mark = `${mtime}\0${text}`;
    if (mark !== seen) [seen, seenSince] = [mark, now];
    const holder = parseHolder(text);
    const state = holderState(holder);
    const unrefreshed = Math.max(now - mtime, now - seenSince);
    if (state === 'dead' || (state === 'unknown' && unrefreshed > staleMs)) {
      await takeOver(path, text);
      continue;
    }
    const who = describe(holder, text, state, staleMs);
    if (who !== told) opts.onWait?.(who);
    told = who;
    if (now - began > maxWaitMs) {
      throw new ImgsdkError(
        'STATE',
        `gave up after waiting ${Math.round((now - began) / 1000)} s for the state directory's mutex ${path}, held by ${who}`,
      );
    }
    await pause(POLL_MS);
  }
  // process.exit() (Ctrl-C after the build containers are removed) skips finally blocks.
  const onExit = () => {
    if (ownsMutex(path, me)) rmSync(path, { force: true });
  };
  process.once('exit', onExit);
  const refresh = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, opts.refreshMs ?? 5000);
  refresh.unref();
  try {
    return await fn();
  } finally {
    clearInterval(refresh);
    process.off('exit', onExit);
    if (ownsMutex(path, me)) await rm(path, { force: true });
  }
}

/** The holder record of this process. */
export function self(command = process.argv.slice(1).join(' ')): MutexHolder {
  return { pid: process.pid, start: processStart(process.pid), boot: bootId(), host: hostname(), since: new Date().toISOString(), command };
}

/** A mutex file's content as a holder; a bare pid (older imgsdk, or written by hand) has only the pid. */
export function parseHolder(text: string): MutexHolder | null {
  try {
    const h = JSON.parse(text) as Partial<MutexHolder>;
    if (typeof h === 'object' && h && Number.isInteger(h.pid)) {
      return {
        pid: h.pid!,
        start: h.start ?? null,
        boot: h.boot ?? null,
        host: h.host ?? '',
        since: h.since ?? '',
        command: h.command ?? '',
      };
    }
  } catch {
    // not JSON: maybe a bare pid
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? { pid, start: null, boot: null, host: '', since: '', command: '' } : null;
}

/**
 * `alive`: that very process runs (same host, same boot, same pid and start time);
 * `dead`: it does not; `unknown`: it cannot be told (another host, no start time).
 */
export function holderState(h: MutexHolder | null): 'alive' | 'dead' | 'unknown' {
  if (!h) return 'unknown';
  if (h.host && h.host !== hostname()) return 'unknown';
  const boot = bootId();
  if (h.boot && boot && h.boot !== boot) return 'dead';
  if (!pidExists(h.pid)) return 'dead';
  if (!h.start) return 'unknown';
  const start = processStart(h.pid);
  if (start === null) return 'unknown';
  return start === h.start ? 'alive' : 'dead';
}

function describe(h: MutexHolder | null, text: string, state: 'alive' | 'unknown', staleMs: number): string {
  if (!h)
    return `an unreadable mutex (${JSON.stringify(text.slice(0, 40))}); it is taken over once it has not been refreshed for ${staleMs / 1000} s`;
  const what = [h.command && `"${h.command}"`, h.host && h.host !== hostname() && `on ${h.host}`, h.since && `since ${h.since}`]
    .filter(Boolean)
    .join(', ');
  const who = `pid ${h.pid}${what ? ` (${what})` : ''}`;
  if (state === 'alive') return who;
  return `${who}, which cannot be checked from here; it is taken over once it has not been refreshed for ${staleMs / 1000} s`;
}

/**
 * Removes a mutex judged stale, and only that one: it is renamed away first (atomic),
 * and put back if what was renamed is a new holder's mutex after all.
 */
async function takeOver(path: string, staleText: string): Promise<void> {
  const aside = `${path}.${randomBytes(4).toString('hex')}.stale`;
  try {
    await rename(path, aside);
  } catch {
    return; // someone else took it over first
  }
  const moved = await readFile(aside, 'utf8').catch(() => null);
  if (moved !== staleText) await link(aside, path).catch(() => undefined);
  await rm(aside, { force: true });
}

function ownsMutex(path: string, me: string): boolean {
  try {
    return readFileSync(path, 'utf8') === me;
  } catch {
    return false;
  }
}

function pidExists(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Field 22 of /proc/<pid>/stat (after the parenthesized command, which may hold spaces); null off Linux. */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

let boot: string | null | undefined;
function bootId(): string | null {
  if (boot === undefined) {
    try {
      boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      boot = null;
    }
  }
  return boot;
}
