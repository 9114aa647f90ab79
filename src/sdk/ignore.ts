/**
 * `.dockerignore` semantics, so a directory source leaves out what `docker build`
 * leaves out of its context (moby/patternmatcher): patterns are relative to the
 * tree's root, `*` and `?` stay within one component, `**` spans any number of
 * components, `!` re-includes, the last pattern that matches decides, and a pattern
 * that matches a directory matches everything below it.
 */

interface Pattern {
  readonly re: RegExp;
  readonly exception: boolean;
}

/**
 * The patterns of a `.dockerignore` file: one a line, `#` comments and blank lines
 * skipped, surrounding spaces trimmed.
 * @example parseIgnoreFile('# deps\nnode_modules\n!node_modules/keep\n') // ['node_modules', '!node_modules/keep']
 */
export function parseIgnoreFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/**
 * A compiled list of ignore patterns.
 * @example new IgnoreRules(['*.log', '!keep.log']).ignores('a.log') // true
 */
export class IgnoreRules {
  private readonly patterns: readonly Pattern[];
  /** Whether any pattern re-includes (`!`): an ignored directory must then still be walked. */
  readonly hasExceptions: boolean;

  constructor(patterns: readonly string[]) {
    const out: Pattern[] = [];
    for (const raw of patterns) {
      let p = raw.trim();
      const exception = p.startsWith('!');
      if (exception) p = p.slice(1).trim();
      p = clean(p);
      if (p === '' || p === '.') continue;
      out.push({ re: compile(p), exception });
    }
    this.patterns = out;
    this.hasExceptions = out.some((p) => p.exception);
  }

  /** Whether `rel` (a `/`-separated path relative to the tree's root) is left out. */
  ignores(rel: string): boolean {
    let ignored = false;
    const parts = rel.split('/');
    for (const p of this.patterns) {
      // An exception can only change an ignored path, a pattern only a kept one.
      if (p.exception !== ignored) continue;
      let hit = p.re.test(rel);
      for (let i = 1; !hit && i < parts.length; i++) hit = p.re.test(parts.slice(0, i).join('/'));
      if (hit) ignored = !p.exception;
    }
    return ignored;
  }
}

/** As Go's filepath.Clean, then without a leading `/` (patterns are relative to the root). */
function clean(p: string): string {
  const out: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') out.pop();
    else out.push(c);
  }
  return out.join('/');
}

function compile(p: string): RegExp {
  let re = '^';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*') {
      if (p[i + 1] === '*') {
        i++;
        if (p[i + 1] === '/') i++;
        // `**` at the end takes everything; elsewhere any number of whole components, none included.
        re += i + 1 >= p.length ? '.*' : '(?:.*/)?';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < p.length) re += escape(p[++i]);
    else if (c === '[') {
      const end = p.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = p.slice(i + 1, end).replace(/^\^/, '!');
        re += `[${body.startsWith('!') ? '^' + body.slice(1) : body}]`;
        i = end;
      }
    } else re += escape(c);
  }
  return new RegExp(re + '$', 's');
}

function escape(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? '\\' + c : c;
}
