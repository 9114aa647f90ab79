import { openAssembly } from '../app/open';
import { shell } from '../app/shell';
import { UsageError } from '../contract/errors';
import { parse } from './args';

export const SHELL_USAGE = `imgsdk shell <id> [options]
  An interactive shell in the image's builder with its configuration applied, as
  Kubler's build -i: /etc/portage, downloads, overlays, configureBuilder and
  package.provided (Gentoo), the image dir at /imgsdk/in. Needs a terminal.
  --app FILE|DIR     the app (default the nearest images.ts here or above), or an assembly dir (manifest.json)
  -o, --out DIR      assembly directory (default $IMGSDK_OUTDIR or imgsdk.out beside the app)
  --state DIR        state directory (default $IMGSDK_STATE_DIR or .imgsdk beside the app)
`;

export async function shellCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { app: { type: 'string' }, out: { type: 'string', short: 'o' }, state: { type: 'string' } },
    true,
  );
  if (positionals.length !== 1) throw new UsageError('shell takes exactly one image id');
  // Before any work: without a terminal there is nothing to attach to.
  if (!process.stdin.isTTY || !process.stdout.isTTY) throw new UsageError('shell needs a terminal: stdin and stdout must be a TTY');
  const { assembly, stateDir } = await openAssembly(values);
  return shell({ assembly, stateDir, log: (l) => process.stderr.write(`${l}\n`) }, positionals[0]);
}
