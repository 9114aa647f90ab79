/**
 * Small tars in memory, written and read with tar-stream: a directory's files as a
 * deterministic tar (what a container gets through putArchive), and the one file
 * of a tar (what getArchive gives for a file).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, pack } from 'tar-stream';

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

/** A deterministic tar of a directory's files (none for null; those `skip` names left out) plus some extra ones. */
export async function dirTar(dir: string | null, extra: Readonly<Record<string, string | Buffer>>, skip: (rel: string) => boolean = () => false): Promise<Buffer> {
  const files: [string, Buffer, number][] = [];
  const walk = async (d: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const p = join(d, name);
      const st = await stat(p);
      if (st.isDirectory()) await walk(p);
      else if (st.isFile() && !skip(relative(dir!, p))) files.push([relative(dir!, p), await readFile(p), st.mode & 0o111 ? 0o755 : 0o644]);
    }
  };
  if (dir !== null) await walk(dir);
  for (const [name, content] of Object.entries(extra)) files.push([name, typeof content === 'string' ? Buffer.from(content) : content, 0o644]);
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (d: unknown) => void chunks.push(d as Buffer));
  const done = new Promise<void>((res, rej) => {
    p.on('end', res);
    p.on('error', rej);
  });
  for (const [name, data, mode] of files.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    p.entry({ name, size: data.length, mode, uid: 0, gid: 0, mtime: new Date(0), type: 'file' }, data);
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}
