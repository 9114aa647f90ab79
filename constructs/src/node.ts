import type { Image } from 'imgsdk';
import { addTree, appBase, type AppProps } from './common';

/** A Node.js app: a directory with its main script and its production `node_modules`. */
export interface NodeAppProps extends AppProps {
  /** The app's directory, relative to the file that calls `nodeApp` (as `.file()`'s `src`). */
  readonly dir: string;
  /** The script `node` runs, relative to `dir`. @default 'index.js' */
  readonly main?: string;
  /**
   * The production dependencies (`npm ci --omit=dev` in `dir`), relative to `dir`: a
   * layer of their own below the code, so a code edit leaves them cached. null: the
   * app has no dependencies.
   * @default 'node_modules'
   */
  readonly nodeModules?: string | null;
  /** Where the app goes in the image. @default '/app' */
  readonly dest?: string;
}

/**
 * A Node.js app on Debian's `nodejs`: the app's `node_modules` as one layer, its code
 * as another, `node <main>` under tini (node as PID 1 ignores SIGTERM), run as a
 * non-root account, `NODE_ENV=production`, no shell.
 * @example
 * export const api = nodeApp('acme/api', { dir: 'api', main: 'server.js', port: 3000 });
 * export const debugApi = api.env('DEBUG', '*'); // an Image: override anything
 */
export function nodeApp(id: string, props: NodeAppProps): Image {
  const dest = props.dest ?? '/app';
  const main = props.main ?? 'index.js';
  const modules = props.nodeModules === undefined ? 'node_modules' : props.nodeModules;
  let img = appBase(id, props, ['nodejs']).env('NODE_ENV', 'production').workdir(dest);
  if (modules !== null) img = addTree(img, `${dest}/${modules}`, `${props.dir}/${modules}`);
  return addTree(img, dest, props.dir, modules ? [modules] : [])
    .entrypoint('/usr/bin/node', `${dest}/${main}`)
    .init();
}
