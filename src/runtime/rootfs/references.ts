import type { Entry } from '../store/entry';

/**
 * What a file names that a program loads or runs by name at run time, where no ELF
 * header says so: the paths a configuration file names (apache2's `LoadModule …
 * /usr/lib/apache2/modules/mod_mpm_event.so`, lighttpd's `include_shell
 * "/usr/share/lighttpd/use-ipv6.pl"`), the locales it names (PostgreSQL's
 * `lc_messages = 'C.UTF-8'`), the accounts it names (nginx's `user www-data;`,
 * exim's `trusted_users = uucp`), and the commands a shell script or a program's
 * `system()` runs (apache2ctl's `mktemp`, varnish's `rm -rf vmod_cache`).
 *
 * Reading is textual and generous: a word that looks like a command or an account
 * may be prose. Slimming keeps what a reference names only when the image has it, so
 * a false reading costs a small file, while a missed one breaks a server at start.
 */

/** The names one file holds. */
export interface References {
  /** Absolute paths, normalized without the leading `/` (`usr/lib/apache2/modules/mod_ssl.so`). */
  readonly paths: readonly string[];
  /** Command names a shell script or a `system()` string runs (`mktemp`, `rm`). */
  readonly commands: readonly string[];
  /** Locale names, normalized as glibc names their directories (`C.utf8`, `en_US.utf8`). */
  readonly locales: readonly string[];
  /** Words on lines about users or groups (`user www-data;`): candidate account names. */
  readonly accounts: readonly string[];
}

const NONE: References = { paths: [], commands: [], locales: [], accounts: [] };

/** Files read as text: configuration up to this size (larger ones are data, not settings). */
const MAX_TEXT = 1024 * 1024;
/** ELF programs are read for their `system()` strings up to this size. */
const MAX_ELF = 64 * 1024 * 1024;

/** Where configuration lives, or what it is called (a hook's `initdb` writes var/lib/postgresql/…/postgresql.conf). */
const CONFIG = /^(?:etc|var\/lib|usr\/share\/[^/]+\/(?:conf|config)[^/]*)\/|\.(?:conf|cnf|cfg|ini|config|rc)$/;
/** A shell script, by its `#!` line. */
const SHELL_INTERP = /(?:^|\/)(?:sh|bash|dash|ksh|mksh|zsh|busybox)$/;

const PATH_RE = /(?:^|[\s"'=:(,[])\/((?:usr|etc|lib|lib64|bin|sbin|var|opt|srv)\/[\w.+@%/-]*[\w+@%-])/g;
const LOCALE_RE = /\b([a-z]{2,3}_[A-Z]{2}|C)\.(UTF-8|utf8|utf-8|UTF8)(@[a-z]+)?\b/g;
const ACCOUNT_LINE = /user|group|owner/i;
const WORD_RE = /[a-z_][a-z0-9_-]*[a-z0-9_]?/g;
/** Words of a shell script in command position: after a line start, `;`, `|`, `&`, `(`, `` ` ``, `$(`, `then`, `do`, …. */
const COMMAND_RE =
  /(?:^|[;|&(`{]|\$\(|\b(?:then|do|else|exec|command|xargs|nohup|env|time|!)\s)\s*(?:[A-Za-z_][\w]*=\S*\s+)*([a-z][\w.+-]*)/gm;

/**
 * The names in one file's body. `kind` says how to read it: a configuration file
 * (paths, locales, accounts), a shell script (paths, locales, commands), a program
 * that calls `system()`/`popen()` (the first word of each string that looks like a
 * command line), or neither.
 * @example
 * referencesOf('config', Buffer.from("user www-data;\nload_module /usr/lib/nginx/modules/x.so;\n"));
 * // { paths: ['usr/lib/nginx/modules/x.so'], commands: [], locales: [], accounts: ['user', 'www-data'] }
 */
export function referencesOf(kind: 'config' | 'script' | 'program', body: Buffer): References {
  if (kind === 'program') return { ...NONE, commands: programCommands(body) };
  const text = body.toString('latin1');
  const paths = new Set<string>();
  for (const m of text.matchAll(PATH_RE)) paths.add(m[1].replace(/\/{2,}/g, '/'));
  const locales = new Set<string>();
  for (const m of text.matchAll(LOCALE_RE)) locales.add(normalizeLocale(m[1], m[2], m[3]));
  const accounts = new Set<string>();
  const commands = new Set<string>();
  if (kind === 'config') {
    for (const line of text.split('\n')) if (ACCOUNT_LINE.test(line)) for (const w of line.matchAll(WORD_RE)) accounts.add(w[0]);
  } else {
    for (const m of text.matchAll(COMMAND_RE)) commands.add(m[1]);
  }
  return { paths: [...paths].sort(), commands: [...commands].sort(), locales: [...locales].sort(), accounts: [...accounts].sort() };
}

/** glibc's directory name of a locale: the charset lower-cased without punctuation (`en_US.UTF-8` → `en_US.utf8`). */
export function normalizeLocale(lang: string, charset: string, modifier = ''): string {
  return `${lang}.${charset.toLowerCase().replace(/[^a-z0-9]/g, '')}${modifier}`;
}

/**
 * Command words of a program's strings: varnish's `system("rm -rf vmod_cache")`.
 * Only strings shaped like a command line count (a lower-case word, then a space and
 * an option, path or word, or the word alone is not enough: too many are prose).
 */
function programCommands(body: Buffer): string[] {
  const out = new Set<string>();
  let start = 0;
  for (let i = 0; i <= body.length; i++) {
    if (i < body.length && body[i] !== 0) continue;
    if (i - start >= 4 && i - start < 512) {
      const s = body.toString('latin1', start, i);
      const m = /^([a-z][\w.+-]*) (?:-{1,2}[a-zA-Z]|\/|"|'|%s|\$)/.exec(s);
      if (m && /^[\x20-\x7e]+$/.test(s)) out.add(m[1]);
    }
    start = i + 1;
  }
  return [...out].sort();
}

/** How a file is read for references, or null when it names nothing of interest. */
export function referenceKind(e: Entry): 'config' | 'script' | 'program' | null {
  if (e.type !== 'file' || e.size === 0) return null;
  if (e.elf) return e.elf.shell && e.size <= MAX_ELF && e.elf.soname !== 'libc.so.6' ? 'program' : null;
  if (e.size > MAX_TEXT) return null;
  if (e.shebang) return SHELL_INTERP.test(e.shebang) ? 'script' : 'config';
  return CONFIG.test(e.path) ? 'config' : null;
}

/**
 * A cached reader of references: `read` gives a file's body (the blob store's), or
 * null when it is unavailable (then the file names nothing).
 * @example const refs = referenceReader((e) => readFileSync(blobs.path(e.sha256!))); refs(entry).paths
 */
export function referenceReader(read: (e: Entry) => Buffer | null): (e: Entry) => References {
  const cache = new Map<string, References>();
  return (e) => {
    const kind = referenceKind(e);
    if (!kind || !e.sha256) return NONE;
    const key = `${kind}:${e.sha256}`;
    let r = cache.get(key);
    if (!r) {
      const body = read(e);
      r = body ? referencesOf(kind, body) : NONE;
      cache.set(key, r);
    }
    return r;
  };
}
