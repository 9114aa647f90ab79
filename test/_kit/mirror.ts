/**
 * A loopback HTTP server standing in for a mirror (an apt archive, a Gentoo
 * distfiles mirror): GET and HEAD of files from a directory or from a map, 404
 * for anything else, on 127.0.0.1 at a port of the kernel's choosing. Builder
 * containers on the host network reach it at `url`.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve, sep } from 'node:path';

export interface Mirror {
  /** `http://127.0.0.1:<port>/`, ending in a slash. */
  readonly url: string;
  /** The request paths in the order they came (query strings included). */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

/** What a mirror answers for a request path (query string cut off): the body, or undefined for 404. */
export type MirrorFiles = Readonly<Record<string, string | Buffer>> | ((path: string) => string | Buffer | undefined);

/**
 * Serves `files`: a map from request path (`/releases/x.txt`) to body, or a function.
 * @example
 * const mirror = await serveFiles({ '/latest.txt': '20240101T000000Z/stage3.tar.xz 1\n' });
 * try { await fetch(`${mirror.url}latest.txt`); } finally { await mirror.close(); }
 */
export async function serveFiles(files: MirrorFiles): Promise<Mirror> {
  const requests: string[] = [];
  const lookup =
    typeof files === 'function' ? files : (p: string) => (Object.prototype.hasOwnProperty.call(files, p) ? files[p] : undefined);
  const server = createServer((req, res) => {
    requests.push(req.url ?? '/');
    const body = lookup(decodeURIComponent((req.url ?? '/').split('?')[0]));
    if (body === undefined) return void res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    requests,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

/**
 * Serves the files under `dir` read-only (a flat apt repository made with
 * apt-ftparchive, say); a path out of `dir` is not found.
 * @example const mirror = await serveDir(repo); // sources: [`deb [trusted=yes] ${mirror.url} ./`]
 */
export function serveDir(dir: string): Promise<Mirror> {
  const root = resolve(dir);
  return serveFiles((path) => {
    const file = resolve(root, '.' + path);
    if (file !== root && !file.startsWith(root + sep)) return undefined;
    try {
      return readFileSync(file);
    } catch {
      return undefined;
    }
  });
}
