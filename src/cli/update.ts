import { updateApp } from '../app/update';
import { stage3Head } from './lock';
import { parse } from './args';
import { describeLock, lockSummary, verboseLog } from './lock';

export const UPDATE_USAGE = `imgsdk update [ids or globs…] [options]
  Updates imgsdk.lock to the versions the archives have now (the named images and
  those below them, all by default) and says what changed and what will rebuild;
  \`imgsdk deploy\` then rebuilds exactly those images. Also looks up the newest
  stage3 of every Gentoo builder and prints newer dates (Kubler's update; pinned
  dates are changed in images.ts).
  --app FILE|DIR   the app (default the nearest images.ts here or above)
  --lock FILE      the lock file (default imgsdk.lock beside the app)
  --json           what changed, as JSON
  -v, --verbose    show the builder's output
`;

export async function updateCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { app: { type: 'string' }, lock: { type: 'string' }, json: { type: 'boolean' }, verbose: { type: 'boolean', short: 'v' } },
    true,
  );
  const r = await updateApp(values, { select: positionals, log: verboseLog(!!values.verbose) });
  const updates = r.stage3;
  if (values.json) {
    process.stdout.write(JSON.stringify({ ...lockSummary(r), stage3: updates }, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(describeLock(r));
  for (const u of updates) {
    const head = stage3Head(u, '  ');
    if (u.note) {
      process.stdout.write(`${head}: ${u.note}\n`);
      continue;
    }
    if (!u.newer) {
      process.stdout.write(`${head}: up to date${u.current === null ? ` (latest is ${u.latest})` : ''}\n`);
      continue;
    }
    process.stdout.write(`${head} -> ${u.latest}\n  would rebuild: ${u.rebuild.join(', ') || '(no images)'}\n`);
    process.stdout.write(
      u.pinned
        ? `  set date: '${u.latest}' in gentoo.builder('${u.builder}', …) and deploy\n`
        : `  date 'latest' does not change keys: pin date: '${u.latest}' to rebuild these images\n`,
    );
  }
  return 0;
}
