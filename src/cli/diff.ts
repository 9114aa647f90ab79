import { diffApp } from '../app/diff';
import { parse } from './args';

export const DIFF_USAGE = `imgsdk diff [ids or globs…] [options]
  For each image: would a deploy rebuild it, and which input of its key changed
  (packages, flags, files, hooks, config, parent, builder). Compares with the last
  deploy in the state directory; an image never deployed would rebuild (with what
  changed since the assembly on disk, if any). No engine needed.
  --app FILE|DIR   the app (default the nearest images.ts here or above)
  -o, --out DIR    assembly that names what changed for an image never deployed (default $IMGSDK_OUTDIR or imgsdk.out beside the app)
  --state DIR      state directory (default $IMGSDK_STATE_DIR or .imgsdk beside the app)
  --json           one JSON object per image on stdout
  Exit 0 when nothing would rebuild, 3 when something would, 1 on error.
`;

export async function diffCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      app: { type: 'string' },
      out: { type: 'string', short: 'o' },
      state: { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  const entries = await diffApp(values, positionals);
  if (values.json) for (const e of entries) process.stdout.write(JSON.stringify(e) + '\n');
  else {
    const w = Math.max(0, ...entries.map((e) => e.id.length));
    for (const e of entries) {
      process.stdout.write(`${e.id.padEnd(w)}  ${e.rebuild ? `rebuild     ${e.reasons.join('; ')}` : 'up to date'}\n`);
    }
    const n = entries.filter((e) => e.rebuild).length;
    process.stdout.write(`${n} of ${entries.length} image${entries.length === 1 ? '' : 's'} would rebuild\n`);
  }
  return entries.some((e) => e.rebuild) ? 3 : 0;
}
