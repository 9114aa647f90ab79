/**
 * Private temp directories for the host programs a build runs (mmdebstrap), under
 * `$TMPDIR/imgsdk-<kind>/<pid>-<start>-<random>`. The program's own temp files
 * (mmdebstrap's gpghome, its chroot) land there; the directory goes when the run
 * ends, and one whose process is gone (SIGKILL during a bootstrap) is swept by the
 * next run of any imgsdk on the host.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { holderState, processStart } from '../../store/mutex';

/** A temp directory of this process, and its removal. */
export interface PrivateTmpdir {
  readonly dir: string;
  remove(): Promise<void>;
}

/**
 * Sweeps the dead runs' directories of `kind`, then makes one for this run.
 * @example const t = await privateTmpdir('mmdebstrap'); try { … TMPDIR=t.dir … } finally { await t.remove(); }
 */
export async function privateTmpdir(kind: string, base = join(tmpdir(), `imgsdk-${kind}`)): Promise<PrivateTmpdir> {
  await mkdir(base, { recursive: true, mode: 0o700 });
  await sweepDead(base);
  const dir = await mkdtemp(join(base, `${process.pid}-${processStart(process.pid) ?? ''}-`));
  return {
    dir,
    remove: async () => {
      await removeUnlessMounted(dir);
    },
  };
}

/** What a bootstrap's chroot needs free in memory to be put there: its ~300 MB, with room to spare. */
export const MEMORY_TMP_MIN_FREE = 2 * 1024 ** 3;

/**
 * Where a program's temp files of `kind` go: an explicit `TMPDIR` when one is set
 * (the user's choice), else /dev/shm when it is a tmpfs mounted without `noexec`
 * (a chroot runs programs from there) with at least {@link MEMORY_TMP_MIN_FREE}
 * free, else the system's temp directory. A bootstrap's chroot is written, unpacked
 * into, read for the tar and removed within a minute: on a busy disk that waiting is
 * most of it (measured at load 16: 75 s on the disk, 43 s in memory).
 * @example memoryTmpBase('mmdebstrap', {}, 'tmpfs /dev/shm tmpfs rw,relatime 0 0\n', 8e9) // '/dev/shm/imgsdk-mmdebstrap'
 */
export function memoryTmpBase(kind: string, env: NodeJS.ProcessEnv, mounts: string, shmFree: number | null): string {
  const fallback = join(tmpdir(), `imgsdk-${kind}`);
  if (env.TMPDIR) return fallback;
  const shm = mounts
    .split('\n')
    .map((l) => l.split(' '))
    .find((f) => f[1] === '/dev/shm');
  if (!shm || shm[2] !== 'tmpfs' || (shm[3] ?? '').split(',').includes('noexec')) return fallback;
  return shmFree !== null && shmFree >= MEMORY_TMP_MIN_FREE ? `/dev/shm/imgsdk-${kind}` : fallback;
}

/** {@link privateTmpdir} under {@link memoryTmpBase} of this host. */
export async function privateMemoryTmpdir(kind: string): Promise<PrivateTmpdir> {
  const mounts = await readFile('/proc/self/mounts', 'utf8').catch(() => '');
  const free = await statfs('/dev/shm').then(
    (s) => s.bavail * s.bsize,
    () => null,
  );
  const base = memoryTmpBase(kind, process.env, mounts, free);
  // A dead run of when the memory had no room (or TMPDIR was set) left its files there.
  const other = join(tmpdir(), `imgsdk-${kind}`);
  if (base !== other) await sweepDead(other);
  return privateTmpdir(kind, base);
}

/** Removes the directories under `base` whose process is gone; their names. */
export async function sweepDead(base: string): Promise<string[]> {
  const gone: string[] = [];
  for (const name of await readdir(base).catch(() => [] as string[])) {
    const [pid, start] = name.split('-');
    const state = holderState({ pid: Number(pid), start: start || null, boot: null, host: '', since: '', command: '' });
    if (state === 'alive' || (state === 'unknown' && Number(pid) === process.pid)) continue;
    if (await removeUnlessMounted(join(base, name))) gone.push(name);
  }
  return gone;
}

/**
 * Removes `dir` unless something is mounted below it (a chroot's /proc or /dev of
 * a bootstrap killed mid-way): removing through a mount would delete the host's files.
 */
async function removeUnlessMounted(dir: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mounts', 'utf8').catch(() => '');
  // /proc/self/mounts escapes spaces and tabs as octal.
  const points = mounts
    .split('\n')
    .map((l) => (l.split(' ')[1] ?? '').replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
  if (points.some((p) => p === dir || p.startsWith(`${dir}/`))) return false;
  await rm(dir, { recursive: true, force: true });
  return true;
}
