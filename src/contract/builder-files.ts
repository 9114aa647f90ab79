/**
 * Every plain-text file that crosses into or out of a builder container, with its
 * columns, declared once. Synth and the runtime write the inputs with
 * {@link formatRows}/{@link formatList} and read the outputs with {@link parseRows};
 * the scripts in src/runtime/phase1/scripts/ read and write the same columns in the
 * same order, and their comments point here. A column added or moved is changed
 * here and in the script that reads or writes it, nowhere else.
 *
 * Files in formats of their own are not declared here: `image.json` and
 * `packages.json` (JSON), `build.sh` and `hooks/*.sh`, apt's and Portage's own
 * configuration (`apt/sources.list`, `apt/apt.conf.d/*`, `portage/make.conf`, …),
 * `rootfs.tar`, and `pretend.txt` (emerge's report, parsed by sdk/portage/lock.ts).
 *
 * Values hold no newline; only a column declared `tabs` (a file path) may hold a TAB,
 * and the other columns are split off around it. The values synth writes were checked
 * at the call site (atoms, names, URLs), so a value that breaks a line here is a bug
 * (INTERNAL), not a user's mistake.
 */

import { ImgsdkError } from './errors';

/** Where a file lives: `in` is /imgsdk/in, `out` /imgsdk/out, `scripts` /imgsdk/scripts. */
export type BuilderFileSide = 'in' | 'out' | 'scripts';

/** A file of TAB-separated (or, for the account databases, colon-separated) columns. */
export interface ColumnsFile<C extends string> {
  readonly kind: 'columns';
  /** The path under its side's directory; `<n>` stands for a job number. */
  readonly path: string;
  readonly side: BuilderFileSide;
  /** Who writes it: synth, the runtime (deploy, lock, shell) or a script. */
  readonly writer: 'synth' | 'runtime' | 'script';
  readonly columns: readonly C[];
  /** The one column whose values may hold the separator (a file path). */
  readonly tabs?: C;
  readonly separator: '\t' | ':';
}

/** A file of one value a line. */
export interface ListFile {
  readonly kind: 'list';
  readonly path: string;
  readonly side: BuilderFileSide;
  readonly writer: 'synth' | 'runtime' | 'script';
}

/** One row of a columns file: every column, '' where a line had none. */
export type Row<C extends string> = { readonly [K in C]: string };
/** One row to write: a missing or null value is written as an empty field. */
export type RowInput<C extends string> = { readonly [K in C]?: string | number | null };

function columns<const C extends string>(
  side: BuilderFileSide,
  path: string,
  writer: ColumnsFile<C>['writer'],
  cols: readonly C[],
  opts: { tabs?: C; separator?: '\t' | ':' } = {},
): ColumnsFile<C> {
  return {
    kind: 'columns',
    path,
    side,
    writer,
    columns: cols,
    separator: opts.separator ?? '\t',
    ...(opts.tabs ? { tabs: opts.tabs } : {}),
  };
}

function list(side: BuilderFileSide, path: string, writer: ListFile['writer']): ListFile {
  return { kind: 'list', path, side, writer };
}

// --- into the container: Debian (debian.sh, debian-lock.sh) ---------------------------

/** The requested packages (`name`, `name=version`, `name/suite`), one a line. */
export const APT_PACKAGES = list('in', 'apt/packages.list', 'synth');
/** imgsdk.lock's pins of the closure, the ancestors' too; debian.sh installs exactly these. */
export const APT_LOCK = columns('in', 'apt/lock.tsv', 'synth', ['name', 'version', 'sha256', 'arch']);
/** `.locale()` names; debian.sh compiles each into the root. */
export const APT_LOCALES = list('in', 'apt/locales.list', 'synth');
/** What the ancestors installed: Debian package names, or Portage `cat/pkg-version`. */
export const PARENT_PACKAGES = list('in', 'parent-packages.list', 'runtime');
/** One lock job of debian-lock.sh: the packages an image and its ancestors ask for. */
export const LOCK_JOB = list('in', 'jobs/<n>.list', 'runtime');

// --- into the container: Gentoo (portage*.sh), under portage/imgsdk/ ------------------

/** The image's id (one line). */
export const PORTAGE_IMAGE = list('in', 'portage/imgsdk/image', 'synth');
export const PORTAGE_PACKAGES = list('in', 'portage/imgsdk/packages.list', 'synth');
/** `.download()`: fetched into the distfiles volume and checked. */
export const PORTAGE_DOWNLOADS = columns('in', 'portage/imgsdk/downloads.tsv', 'synth', ['url', 'sha256', 'name']);
export const PORTAGE_NO_BINPKG_CACHE = list('in', 'portage/imgsdk/no-binpkg-cache.list', 'synth');
/** Overlays, the ancestors' first; `branch` is empty for the default one. */
export const PORTAGE_OVERLAYS = columns('in', 'portage/imgsdk/overlays.tsv', 'synth', ['name', 'type', 'uri', 'branch']);
/** Declared accounts, created in the builder before any hook or emerge. */
export const PORTAGE_ACCOUNTS = columns('in', 'portage/imgsdk/accounts.tsv', 'synth', ['user', 'uid', 'group', 'gid', 'home', 'shell']);
export const PORTAGE_UNINSTALL = list('in', 'portage/imgsdk/uninstall.list', 'synth');
/** `gcc` or `gfortran`. */
export const PORTAGE_RUNTIME_LIBS = list('in', 'portage/imgsdk/runtime-libs.list', 'synth');
export const PORTAGE_LOCALES = list('in', 'portage/imgsdk/locales.list', 'synth');
/** `.record()`: rows of packages.json for what no package database knows (Kubler's log_as_installed). */
export const PORTAGE_RECORD = columns('in', 'portage/imgsdk/record.tsv', 'synth', ['group', 'name']);
/** imgsdk.lock's `=cat/pkg-version::repo` atoms, after a `# imgsdk.lock: <id>` line. */
export const PORTAGE_LOCK = list('in', 'portage/imgsdk/lock.list', 'synth');
/** The options every emerge gets, beside the scripts (one line). */
export const EMERGE_OPTS = list('scripts', 'emerge-opts', 'runtime');

// --- out of the container ------------------------------------------------------------

/** Every file a package put into the root, with the package; a path may hold TABs. */
export const FILES = columns('out', 'files.tsv', 'script', ['path', 'package'], { tabs: 'path' });
/** The lines the install (maintainer scripts, hooks) added to the builder's /etc/passwd. */
export const PASSWD_ADDED = columns('out', 'passwd.added', 'script', ['name', 'password', 'uid', 'gid', 'gecos', 'home', 'shell'], {
  separator: ':',
});
/** The lines the install added to the builder's /etc/group. */
export const GROUP_ADDED = columns('out', 'group.added', 'script', ['name', 'password', 'gid', 'members'], { separator: ':' });
/**
 * debian.sh: how each Pre-Depends/Depends group of a closure package resolved (the first
 * alternative installed, else the first provided), from lib.sh's `pkg_closure`, the one
 * place that rule is applied; the host reads it and does not resolve alternatives again.
 */
export const DEPENDS = columns('out', 'depends.tsv', 'script', ['package', 'depends']);
/** When each step of phase 1 started (lib.sh `mark`), in milliseconds since the epoch. */
export const STEPS = columns('out', 'steps.tsv', 'script', ['step', 'ms']);
/** debian-lock.sh: the closure of job `<n>`, one package a line. */
export const LOCK_CLOSURE = columns('out', '<n>.tsv', 'script', ['name', 'version', 'arch', 'sha256', 'suite']);
/** debian-lock.sh: the Date of each Release file apt read, by codename (else suite). */
export const RELEASES = columns('out', 'releases.tsv', 'script', ['codename', 'date']);

/** Every file declared here, for the inventory and its tests. */
export const BUILDER_FILES: readonly (ColumnsFile<string> | ListFile)[] = [
  APT_PACKAGES,
  APT_LOCK,
  APT_LOCALES,
  PARENT_PACKAGES,
  LOCK_JOB,
  PORTAGE_IMAGE,
  PORTAGE_PACKAGES,
  PORTAGE_DOWNLOADS,
  PORTAGE_NO_BINPKG_CACHE,
  PORTAGE_OVERLAYS,
  PORTAGE_ACCOUNTS,
  PORTAGE_UNINSTALL,
  PORTAGE_RUNTIME_LIBS,
  PORTAGE_LOCALES,
  PORTAGE_RECORD,
  PORTAGE_LOCK,
  EMERGE_OPTS,
  FILES,
  PASSWD_ADDED,
  GROUP_ADDED,
  DEPENDS,
  STEPS,
  LOCK_CLOSURE,
  RELEASES,
];

/**
 * The path of a numbered file (`jobs/<n>.list`, `<n>.tsv`): job numbers are four
 * digits, so the scripts' glob order is the job order.
 * @example jobPath(LOCK_CLOSURE, 3) // '0003.tsv'
 */
export function jobPath(file: ColumnsFile<string> | ListFile, n: number): string {
  return file.path.replace('<n>', String(n).padStart(4, '0'));
}

/**
 * The text of a columns file: one line per row, the columns in their declared order.
 * A value holding a newline, or the separator outside the `tabs` column, is refused:
 * the script would read another row or column than was written.
 * @example formatRows(PORTAGE_RECORD, [{ group: 'dev-lang', name: 'go-1.22' }]) // 'dev-lang\tgo-1.22\n'
 */
export function formatRows<C extends string>(file: ColumnsFile<C>, rows: readonly RowInput<C>[]): string {
  return rows
    .map((row) => {
      const fields = file.columns.map((c) => {
        const v = String(row[c] ?? '');
        if (v.includes('\n') || (c !== file.tabs && v.includes(file.separator)))
          throw new ImgsdkError('INTERNAL', `${file.path}: the ${c} value ${JSON.stringify(v)} holds a line break or separator`);
        return v;
      });
      return `${fields.join(file.separator)}\n`;
    })
    .join('');
}

/**
 * The rows of a columns file; empty lines are skipped, missing trailing columns are ''.
 * Extra separators belong to the `tabs` column when there is one (file names may hold
 * TABs), else to the last column.
 * @example parseRows(FILES, '/usr/bin/a\tb\tpkg\n') // [{ path: '/usr/bin/a\tb', package: 'pkg' }]
 */
export function parseRows<C extends string>(file: ColumnsFile<C>, text: string): Row<C>[] {
  const n = file.columns.length;
  const at = file.tabs ? file.columns.indexOf(file.tabs) : n - 1;
  const rows: Row<C>[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let fields = line.split(file.separator);
    if (fields.length > n) {
      const after = n - 1 - at;
      fields = [
        ...fields.slice(0, at),
        fields.slice(at, fields.length - after).join(file.separator),
        ...fields.slice(fields.length - after),
      ];
    }
    rows.push(Object.fromEntries(file.columns.map((c, i) => [c, fields[i] ?? ''])) as Row<C>);
  }
  return rows;
}

/**
 * The text of a list file: one value a line, after an optional `# …` header line.
 * @example formatList(APT_PACKAGES, ['curl', 'hello']) // 'curl\nhello\n'
 */
export function formatList(file: ListFile, values: readonly string[], header?: string): string {
  for (const v of values)
    if (v.includes('\n')) throw new ImgsdkError('INTERNAL', `${file.path}: the value ${JSON.stringify(v)} holds a line break`);
  return `${header !== undefined ? `# ${header}\n` : ''}${values.map((v) => `${v}\n`).join('')}`;
}

/**
 * The values of a list file, as the scripts read them: comments and blank lines dropped.
 * @example parseList(PORTAGE_LOCK, '# imgsdk.lock: a/b\n=x/y-1::gentoo\n') // ['=x/y-1::gentoo']
 */
export function parseList(_file: ListFile, text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}
