import type { Image } from 'imgsdk';
import { addTree, appBase, type AppProps } from './common';

/** A Python app: a directory with its main script, on Debian's python3 and python3-* packages. */
export interface PythonAppProps extends AppProps {
  /** The app's directory, relative to the file that calls `pythonApp`. */
  readonly dir: string;
  /** The script `python3` runs, relative to `dir`. @default 'main.py' */
  readonly main?: string;
  /** Where the app goes in the image. @default '/app' */
  readonly dest?: string;
}

/**
 * A Python app on Debian's `python3` (add libraries as Debian packages: `packages:
 * ['python3-flask']`): its directory as one layer, `python3 <main>` under tini (python as
 * PID 1 ignores SIGTERM), unbuffered output, no bytecode written at run time, a
 * non-root account, no shell.
 * @example export const web = pythonApp('acme/web', { dir: 'web', main: 'app.py', packages: ['python3-flask'] });
 */
export function pythonApp(id: string, props: PythonAppProps): Image {
  const dest = props.dest ?? '/app';
  return addTree(
    appBase(id, props, ['python3']).env('PYTHONUNBUFFERED', '1').env('PYTHONDONTWRITEBYTECODE', '1').workdir(dest),
    dest,
    props.dir,
    ['__pycache__', '**/__pycache__', '*.pyc'],
  )
    .entrypoint('/usr/bin/python3', `${dest}/${props.main ?? 'main.py'}`)
    .init();
}
