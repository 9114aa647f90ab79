import { relative } from 'node:path';
import { lockApp, type LockResult, type PackageChange, type Stage3Update } from '../app/lock';
import { parse } from './args';

export const LOCK_USAGE = `imgsdk lock [ids or globs…] [options]
  Resolves the packages of the images (and of every image below them) to exact
  versions against the archives as they are now, in a builder container, without
  building, and writes imgsdk.lock beside the app: deterministic JSON to commit.
  Deploys then install exactly those versions; a changed version rebuilds only the
  images holding the package and their descendants. Other entries stay as they are.
  --app FILE|DIR   the app (default the nearest images.ts here or above)
  --lock FILE      the lock file (default imgsdk.lock beside the app)
  --json           print what changed as JSON
  -v, --verbose    show the builder's output
`;

export async function lockCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { app: { type: 'string' }, lock: { type: 'string' }, json: { type: 'boolean' }, verbose: { type: 'boolean', short: 'v' } },
    true,
  );
  const r = await lockApp(values, { select: positionals, log: verboseLog(!!values.verbose) });
  if (values.json) process.stdout.write(JSON.stringify(lockSummary(r), null, 2) + '\n');
  else process.stdout.write(describeLock(r));
  return 0;
}

/** The JSON form of a lock result (the lock itself is in the file). */
export function lockSummary(r: LockResult): object {
  return { file: r.file, written: r.written, resolved: r.resolved, changes: r.changes, rebuild: r.rebuild };
}

/** What a lock or update run did, as lines; `rebuild: false` leaves out what will rebuild (a deploy just built it). */
export function describeLock(r: LockResult, opts: { readonly rebuild?: boolean } = {}): string {
  const name = relative(process.cwd(), r.file) || r.file;
  const lines: string[] = [];
  const n = r.resolved.length;
  lines.push(`${name}: ${n} image${n === 1 ? '' : 's'} resolved, ${r.written ? 'written' : 'unchanged'}`);
  // A new entry is one line; changed entries are listed package by package.
  const fresh = r.resolved.filter((id) => !r.previous?.images[id] && r.lock.images[id]);
  for (const id of fresh) lines.push(`${id}: ${r.lock.images[id].packages.length} packages locked`);
  const changed = r.changes.filter((c) => !fresh.includes(c.image));
  if (changed.length) lines.push(...changeTable(changed));
  if (opts.rebuild !== false) lines.push(r.rebuild.length ? `will rebuild: ${r.rebuild.join(', ')}` : 'nothing will rebuild');
  return lines.join('\n') + '\n';
}

/** One line per package change: image, package, locked, available, and `security` when it comes from the security suite. */
export function changeTable(changes: readonly PackageChange[]): string[] {
  // Same version on both sides: a Gentoo package whose USE flags changed.
  const rows = changes.map((c) => [
    c.image,
    c.package,
    c.locked ?? '(new)',
    c.available === null ? '(gone)' : c.available === c.locked ? `${c.available} (other USE)` : c.available,
    c.security ? 'security' : '',
  ]);
  const head = ['IMAGE', 'PACKAGE', 'LOCKED', 'AVAILABLE', ''];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [head, ...rows].map((r) =>
    r
      .map((c, i) => c.padEnd(w[i]))
      .join('  ')
      .trimEnd(),
  );
}

/** Newer stage3 dates (and lookups that failed), a line each with the images that rebuild. */
export function stage3Lines(updates: readonly Stage3Update[]): string[] {
  const out: string[] = [];
  for (const u of updates) {
    const head = stage3Head(u);
    if (u.note) out.push(`${head}: ${u.note}`);
    else if (u.newer) {
      out.push(`${head} -> ${u.latest} (would rebuild: ${u.rebuild.join(', ') || 'no images'})`);
      out.push(
        u.pinned
          ? `  set date: '${u.latest}' in gentoo.builder('${u.builder}', …) and deploy`
          : `  date 'latest' does not change keys: pin date: '${u.latest}' to rebuild these images`,
      );
    }
  }
  return out;
}

/** Builder output on stderr with -v. */
export function verboseLog(on: boolean): ((line: string) => void) | undefined {
  return on ? (line) => process.stderr.write(`${line}\n`) : undefined;
}

/**
 * The head of a report line: `<builder>: stage3 <flavour> <date>`, or `from <image>`
 * for a builder made from an image (it has no date to report).
 * @example stage3Head(u) // 'kubler/bob: stage3 amd64-openrc latest (not set up yet)'
 */
export function stage3Head(u: Stage3Update, sep = ': '): string {
  const what = u.from ? `from ${u.from}` : (u.current ?? (u.pinned ? '?' : 'latest (not set up yet)'));
  return `${u.builder}${sep}stage3 ${u.flavour} ${what}`;
}
