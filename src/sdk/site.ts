import { dirname, join, relative, sep } from 'node:path';

// Frames in the SDK and in the contract modules it uses are imgsdk's own, not the caller's.
const OWN_DIRS = [__dirname + sep, join(__dirname, '..', 'contract') + sep];

// Construct libraries' directories, shared by every copy of imgsdk in the process (a
// library may depend on its own copy): their frames are not the caller's either.
const LIBRARY_DIRS: string[] = ((globalThis as Record<symbol, string[]>)[Symbol.for('imgsdk.libraryDirs')] ??= []);

/**
 * Marks `dir` as a construct library's own code: the `file:line` of a problem and the
 * relative `{ src }` of `.file()` and `.dir()` then refer to the library's caller (the
 * user's images.ts), not to the library that called imgsdk on its behalf.
 * @example markLibrary(__dirname); // once, in the library's entry module
 */
export function markLibrary(dir: string): void {
  const d = dir.endsWith(sep) ? dir : dir + sep;
  if (!LIBRARY_DIRS.includes(d)) LIBRARY_DIRS.push(d);
}

/**
 * Where a definition was written (`images.ts:12`). The stack is captured when the
 * call happens but formatted only when a problem is reported: V8 formats stacks
 * lazily, so the thousands of calls that have no problem stay cheap.
 */
export class Site {
  private formatted: { file: string; line: number } | null | undefined;
  private constructor(private readonly holder: { stack?: string }) {}

  /** The first caller outside the SDK. `skip` is the public function being called. */
  static here(skip: Function): Site {
    const holder: { stack?: string } = {};
    Error.captureStackTrace(holder, skip);
    return new Site(holder);
  }

  /** Absolute file and line of the call, when the stack names one. */
  location(): { file: string; line: number } | null {
    if (this.formatted === undefined) this.formatted = parse(this.holder.stack ?? '');
    return this.formatted;
  }

  /** Directory of the calling file (to resolve `{ src }` paths), or the working directory. */
  dir(): string {
    const loc = this.location();
    return loc ? dirname(loc.file) : process.cwd();
  }

  /** `file:line` relative to the working directory, or '' when unknown. */
  toString(): string {
    const loc = this.location();
    if (!loc) return '';
    const rel = relative(process.cwd(), loc.file);
    return `${rel.startsWith('..') ? loc.file : rel}:${loc.line}`;
  }
}

const FRAME = /\(?((?:file:\/\/)?[^\s()]+?):(\d+):\d+\)?$/;

function parse(stack: string): { file: string; line: number } | null {
  for (const raw of stack.split('\n').slice(1)) {
    const m = FRAME.exec(raw.trim());
    if (!m) continue;
    const file = m[1].replace(/^file:\/\//, '');
    if (
      file.startsWith('node:') ||
      OWN_DIRS.some((d) => file.startsWith(d)) ||
      LIBRARY_DIRS.some((d) => file.startsWith(d)) ||
      !file.includes('/')
    )
      continue;
    return { file, line: Number(m[2]) };
  }
  return null;
}
