import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { ValidationError, type Problem } from '../contract/errors';
import { writeAtomicSync } from '../util/files';
import { sha256 } from '../util/hash';

/** Bumped when the options in transpile() change, so old cache entries are not used. */
const CACHE_VERSION = '2';

let installed = false;

/**
 * Lets `require` load `.ts` files: each is transpiled with TypeScript's
 * `transpileModule` (no type check) and the output cached by a hash of the source,
 * so an unchanged app loads without loading the compiler at all. Stack traces
 * are mapped back to the TypeScript lines through the inline source maps, which
 * the `file:line` of every problem relies on. Works for `.ts` files under
 * node_modules too (construct libraries published as TypeScript).
 * @example registerTypeScript(); require('./images.ts');
 */
export function registerTypeScript(
  cacheDir = process.env.IMGSDK_CACHE_DIR ?? join(tmpdir(), `imgsdk-ts-cache-${process.getuid?.() ?? 'u'}`),
): void {
  if (installed) return;
  installed = true;
  const exts = require.extensions as Record<string, (m: NodeModule, filename: string) => void>;
  // Under ts-node (the tests, a user's ts-node script) its loader stays: two loaders and
  // two source-map mappers in one process shift every file:line of a stack trace.
  if ((process as unknown as Record<symbol, unknown>)[Symbol.for('ts-node.register.instance')] && exts['.ts']) {
    const tsNode = exts['.ts'];
    exts['.ts'] = (m, filename) => {
      loaded.set(filename, sha256(readFileSync(filename)));
      tsNode(m, filename);
    };
    return;
  }
  process.setSourceMapsEnabled(true);
  exts['.ts'] = (m, filename) => {
    const source = readFileSync(filename, 'utf8');
    loaded.set(filename, sha256(source));
    const key = sha256(`${CACHE_VERSION}\0${typescriptVersion()}\0${filename}\0${source}`);
    const cached = join(cacheDir, `${key}.js`);
    let code: string;
    try {
      code = readFileSync(cached, 'utf8');
    } catch {
      code = transpile(source, filename);
      try {
        mkdirSync(cacheDir, { recursive: true });
        writeAtomicSync(cached, code);
      } catch {
        // A read-only or full disk only costs the next load its speed.
      }
    }
    (m as unknown as { _compile(code: string, filename: string): void })._compile(code, filename);
  };
}

const loaded = new Map<string, string>();

/**
 * Every `.ts` file loaded through the hook so far, by its path relative to `base`, the
 * app's directory (also `../lib/x.ts` outside it: an absolute path would make the
 * manifest and the provenance differ between two checkouts of one app), with
 * the sha256 of its source: the app's sources, for the provenance of what is built
 * from them.
 */
export function loadedSources(base: string = process.cwd()): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [file, sha] of [...loaded].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    out[relative(base, file).split(sep).join('/')] = sha;
  }
  return out;
}

let tsVersion: string | undefined;
function typescriptVersion(): string {
  // The compiler's own version, without loading the compiler.
  tsVersion ??= (JSON.parse(readFileSync(require.resolve('typescript/package.json'), 'utf8')) as { version: string }).version;
  return tsVersion;
}

/**
 * Compiler options for user files: never the user's tsconfig, so loading is the same
 * everywhere. Syntax errors are problems at the user's `file:line` (a missing `)`
 * still transpiles to something that runs), and a file with one is never cached.
 */
export function transpile(source: string, fileName: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require('typescript') as typeof import('typescript');
  const out = ts.transpileModule(source, {
    fileName,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      inlineSourceMap: true,
    },
    reportDiagnostics: true,
  });
  const problems: Problem[] = (out.diagnostics ?? []).map((d) => {
    const at = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : null;
    const rel = relative(process.cwd(), fileName);
    const file = rel.startsWith('..') ? fileName : rel;
    return { site: at === null ? file : `${file}:${at}`, id: `TS${d.code}`, message: ts.flattenDiagnosticMessageText(d.messageText, '\n') };
  });
  if (problems.length) throw new ValidationError(problems);
  return out.outputText;
}
