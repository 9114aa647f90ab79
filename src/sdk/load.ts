import { existsSync, statSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { ImgsdkError, UsageError, ValidationError } from '../contract/errors';
import { App } from './app';
import { LOCK_FILE } from './lock';
import { loadedSources, registerTypeScript } from './transpile';

const appSources = new WeakMap<App, Readonly<Record<string, string>>>();

/** The source files (path → sha256) an app loaded by loadApp came from; undefined for other apps. */
export function sourcesOf(app: App): Readonly<Record<string, string>> | undefined {
  return appSources.get(app);
}

let registered = false;

/**
 * Turns on the TypeScript loader, once, and lets the app import 'imgsdk' when its
 * project has none installed (the CLI run through npx or a global install, an app in
 * a bare folder): only a request Node cannot resolve falls back to this copy. An
 * installed copy always wins, also a construct library's own one; its images are
 * images here all the same (Image.isImage: a brand, not a class).
 */
function register(appFile: string): void {
  if (registered) return;
  registered = true;
  const fallback: Record<string, string> = { imgsdk: join(__dirname, '..', 'index'), 'imgsdk/testing': join(__dirname, 'testing') };
  const m = Module as unknown as { _resolveFilename: (req: string, ...rest: unknown[]) => string };
  const original = m._resolveFilename;
  m._resolveFilename = function (request: string, ...rest: unknown[]) {
    try {
      return original.call(this, request, ...rest);
    } catch (e) {
      if (!(request in fallback) || (e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
      return original.call(this, fallback[request], ...rest);
    }
  };
  // What the app will import, loaded before source maps are turned on for its .ts files:
  // with them on, Node reads the .map file of every module compiled afterwards.
  createRequire(appFile)('imgsdk');
  registerTypeScript();
}

/**
 * Loads an app from `images.ts` (or a directory holding one): the module's
 * exports, named or default, images, arrays and objects of images or an App.
 * @example const theApp = loadApp('images.ts');
 */
export function loadApp(path = 'images.ts'): App {
  let file = resolve(path);
  if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'images.ts');
  if (!existsSync(file)) throw new UsageError(`no app at ${file}: pass --app FILE|DIR or create images.ts`);
  register(file);
  let mod: unknown;
  // An app file that ends the process while it loads (process.exit(0) left from a
  // script) would make every command exit 0 having done nothing: it is a load error.
  const exit = process.exit;
  let exitCalled: string | null = null;
  process.exit = function (code?: string | number | null) {
    exitCalled = String(code ?? 0);
    throw new ImgsdkError(
      'LOAD',
      `${file} called process.exit(${exitCalled}) while it was loaded: an app file defines images and must not end the process`,
    );
  } as typeof process.exit;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(file);
  } catch (e) {
    if (exitCalled !== null && e instanceof ImgsdkError && e.code === 'LOAD') throw e;
    // Syntax errors, already at the user's file:line.
    if (e instanceof ValidationError) throw e;
    const err = e as Error;
    throw new ImgsdkError('LOAD', `${file} failed to load: ${err.stack ?? err.message}`, { cause: e });
  } finally {
    process.exit = exit;
  }
  // A try/catch in the app that swallowed the error does not make the call harmless.
  if (exitCalled !== null)
    throw new ImgsdkError(
      'LOAD',
      `${file} called process.exit(${exitCalled}) while it was loaded: an app file defines images and must not end the process`,
    );
  const theApp = App.of([mod]);
  appSources.set(theApp, loadedSources(dirname(file)));
  if (theApp.roots.length === 0)
    throw new UsageError(`${file} exports no image: export your images (named, default, arrays or objects of them)`);
  return theApp;
}

/**
 * Where an app's imgsdk.lock lives: beside its images.ts.
 * @example lockFileOf('examples/fossil') // '/…/examples/fossil/imgsdk.lock'
 */
export function lockFileOf(path = 'images.ts'): string {
  const file = resolve(path);
  const dir = existsSync(file) && statSync(file).isDirectory() ? file : dirname(file);
  return join(dir, LOCK_FILE);
}
