import { synthApp } from '../app/open';
import { parse } from './args';
import { printWarnings } from './warnings';

export const SYNTH_USAGE = `imgsdk synth [--app FILE|DIR] [-o DIR] [--lock FILE] [--json] [-q]
  Validates images.ts and writes the assembly (build graph, Portage/apt config, build plans),
  with the versions of imgsdk.lock for images it has current entries for.
  --app FILE|DIR   the app (default the nearest images.ts here or above)
  --lock FILE      the lock file (default imgsdk.lock beside the app; none when absent)
  -o, --out DIR    output directory (default $IMGSDK_OUTDIR or imgsdk.out beside the app)
  --json           print the manifest as JSON
  -q, --quiet      print nothing on success but warnings
  Warnings (legal but likely not meant, e.g. keywords that do not pin a version) go
  to stderr as "warning: file:line id: message"; they do not change the exit code.
`;

export async function synthCommand(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, {
    app: { type: 'string' },
    out: { type: 'string', short: 'o' },
    lock: { type: 'string' },
    json: { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' },
  });
  const { assembly: asm, outDir: outdir } = await synthApp(values);
  printWarnings('synth', asm.warnings);
  if (values.json) process.stdout.write(JSON.stringify(asm.manifest, null, 2) + '\n');
  else if (!values.quiet) {
    const n = Object.keys(asm.manifest.images).length;
    process.stdout.write(
      `synthesized ${n} image${n === 1 ? '' : 's'} in ${asm.manifest.order.length} level${asm.manifest.order.length === 1 ? '' : 's'} to ${outdir}\n`,
    );
  }
  return 0;
}
