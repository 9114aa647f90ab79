import { outdatedApp } from '../app/lock';
import { parse } from './args';
import { changeTable, stage3Lines, verboseLog } from './lock';

export const OUTDATED_USAGE = `imgsdk outdated [ids or globs…] [options]
  Compares imgsdk.lock with the archives now (in a builder container; nothing is
  written): per image, each package whose version would change, the locked and the
  available version, and whether it comes from the security suite; images the lock
  has no current entry for; Gentoo builders whose mirror has a newer stage3; the
  images \`imgsdk update\` (or the newer stage3 date) would make rebuild. Gentoo
  images are resolved with emerge --pretend against the current Portage snapshot.
  --app FILE|DIR   the app (default the nearest images.ts here or above)
  --lock FILE      the lock file (default imgsdk.lock beside the app)
  --json           one JSON object: outdated, changes, unlocked, stage3, rebuild
  -v, --verbose    show the builder's output
  Exit 0 when the lock is up to date, 3 when something is outdated, 1 on error.
  Nightly: imgsdk outdated || (imgsdk update && imgsdk deploy --push REGISTRY)
`;

export async function outdatedCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { app: { type: 'string' }, lock: { type: 'string' }, json: { type: 'boolean' }, verbose: { type: 'boolean', short: 'v' } },
    true,
  );
  const r = await outdatedApp(values, { select: positionals, log: verboseLog(!!values.verbose) });
  if (values.json)
    process.stdout.write(
      JSON.stringify({ outdated: r.outdated, changes: r.changes, unlocked: r.unlocked, stage3: r.stage3, rebuild: r.rebuild }, null, 2) +
        '\n',
    );
  else {
    const lines: string[] = [];
    if (r.changes.length) lines.push(...changeTable(r.changes));
    for (const u of r.unlocked) lines.push(`${u.image}: not locked (${u.why})`);
    lines.push(...stage3Lines(r.stage3));
    lines.push(r.outdated ? `would rebuild: ${r.rebuild.join(', ')}` : 'the lock is up to date');
    process.stdout.write(lines.join('\n') + '\n');
  }
  return r.outdated ? 3 : 0;
}
