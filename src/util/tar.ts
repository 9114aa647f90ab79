/**
 * Tar writing and reading, in one place, with tar-stream: small tars in memory
 * (a directory's files, a few named files, a chain of directories: what a
 * container gets through putArchive), the one file of a tar (what getArchive
 * gives for a file), and for big archives written as a stream (layers, a
 * docker-archive) one entry at a time with backpressure (`writeEntry`) while
 * the tar drains into its output (`packTo`).
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, pack, type Header, type Pack } from 'tar-stream';

/** A member's header as tar-stream takes it: the name, the rest defaulted. */
export type TarHeader = Partial<Header> & Pick<Header, 'name'>;

const EMPTY = Buffer.alloc(0);
const EPOCH = new Date(0);

/** The text of the one file in a tar stream (what getArchive gives for a file). */
export async function readSingleFile(tar: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  const ex = extract();
  ex.on('entry', (_h, stream, next) => {
    stream.on('data', (d: unknown) => void chunks.push(d as Buffer));
    stream.on('end', () => next());
  });
  await pipeline(tar, ex);
  return Buffer.concat(chunks).toString('utf8');
}

/** A member of a small tar: a file (its bytes) or a directory (a name ending in `/`). */
export interface TarMember {
  readonly name: string;
  /** A file's bytes; none for a directory. */
  readonly data?: Buffer;
  /** @default 0o644 for a file, 0o755 for a directory */
  readonly mode?: number;
}

/**
 * A tar in memory of `members` in the order given, owned by root with time 0.
 * @example await tarOf([{ name: 'setup.sh', data: script, mode: 0o755 }])
 */
export async function tarOf(members: readonly TarMember[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (d: unknown) => void chunks.push(d as Buffer));
  const done = new Promise<void>((res, rej) => {
    p.on('end', res);
    p.on('error', rej);
  });
  for (const m of members) {
    if (m.data === undefined) p.entry({ name: m.name, type: 'directory', mode: m.mode ?? 0o755, uid: 0, gid: 0, mtime: EPOCH });
    else p.entry({ name: m.name, size: m.data.length, mode: m.mode ?? 0o644, uid: 0, gid: 0, mtime: EPOCH, type: 'file' }, m.data);
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** A deterministic tar of a directory's files (none for null; those `skip` names left out) plus some extra ones. */
export async function dirTar(
  dir: string | null,
  extra: Readonly<Record<string, string | Buffer>>,
  skip: (rel: string) => boolean = () => false,
): Promise<Buffer> {
  const files: TarMember[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const p = join(d, name);
      const st = await stat(p);
      if (st.isDirectory()) await walk(p);
      else if (st.isFile() && !skip(relative(dir!, p)))
        files.push({ name: relative(dir!, p), data: await readFile(p), mode: st.mode & 0o111 ? 0o755 : 0o644 });
    }
  };
  if (dir !== null) await walk(dir);
  for (const [name, content] of Object.entries(extra))
    files.push({ name, data: typeof content === 'string' ? Buffer.from(content) : content, mode: 0o644 });
  return tarOf(files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
}

/**
 * A tar of the directories `parts[0..from]/…/parts[0..n]` relative to `parts[0..from]`
 * (the archive API needs a target directory to exist).
 * @example await directoriesTar(['a', 'b', 'c'], 1) // 'b/', 'b/c/'
 */
export function directoriesTar(parts: readonly string[], from = 0): Promise<Buffer> {
  const members: TarMember[] = [];
  for (let i = from + 1; i <= parts.length; i++) members.push({ name: parts.slice(from, i).join('/') + '/' });
  return tarOf(members);
}

/**
 * Adds one member to a streaming tar and resolves once it is written: a buffer
 * body, none (a directory, link or empty file), or a stream piped in with the
 * tar's backpressure. Failures of either side come back through the promise.
 */
export function writeEntry(tar: Pack, header: TarHeader, body: Buffer | Readable | null): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
    if (!(body instanceof Readable)) {
      tar.entry(header, body ?? EMPTY, cb);
      return;
    }
    const sink = tar.entry(header, cb);
    // Failures reach us through the entry callback; without a listener streamx would throw.
    sink.on('error', () => undefined);
    body.on('error', (err) => sink.destroy(err));
    // Node's pipe honours the sink's backpressure (write() false, then 'drain').
    body.pipe(sink as unknown as Writable);
  });
}

/**
 * Writes a tar through `stages` into `out` while `produce` adds its entries (tar-stream
 * applies backpressure per entry, so both run at once). A failure on one side fails
 * the other too; the one it started on is thrown: an entry's error names the entry,
 * so it wins unless the output failed on its own (then the entry only saw its tar
 * destroyed).
 * @example await packTo([gzip], out, async (tar) => { await writeEntry(tar, h, body); })
 */
export async function packTo(
  stages: readonly NodeJS.ReadWriteStream[],
  out: Writable,
  produce: (tar: Pack) => Promise<void>,
): Promise<void> {
  const tar = pack();
  const producing = (async () => {
    await produce(tar);
    tar.finalize();
  })().catch((err: unknown) => {
    tar.destroy(err as Error);
    throw err;
  });
  // tar-stream's Pack is a streamx stream; Readable.from gives pipeline a Node one.
  const draining = pipeline([Readable.from(tar), ...stages, out]);
  const [p, d] = await Promise.allSettled([producing, draining]);
  if (p.status === 'rejected' || d.status === 'rejected') throw cause(p, d);
}

function cause(p: PromiseSettledResult<void>, d: PromiseSettledResult<void>): unknown {
  if (p.status === 'fulfilled') return (d as PromiseRejectedResult).reason;
  if (d.status === 'fulfilled') return p.reason;
  const entryCause = (p.reason as { cause?: unknown }).cause;
  if (entryCause === undefined || d.reason === p.reason || d.reason === entryCause) return p.reason;
  return d.reason;
}

/**
 * A one-file tar stream of a host file, streamed (not read into memory).
 * @example c.putArchive('/imgsdk/snapshot', await fileTar('portage.tar', path))
 */
export async function fileTar(name: string, path: string): Promise<Readable> {
  const size = (await stat(path)).size;
  const p = pack();
  writeEntry(p, { name, size, mode: 0o644, uid: 0, gid: 0, mtime: EPOCH, type: 'file' }, createReadStream(path)).then(
    () => p.finalize(),
    (err: Error) => p.destroy(err),
  );
  return p as unknown as Readable;
}
