import { createInterface } from 'node:readline/promises';
import { executeClean, planClean } from '../runtime/clean';
import { connectEngine } from '../runtime/engine/docker';
import { UsageError } from '../errors';
import { parse } from './args';

export const CLEAN_USAGE = `imgsdk clean [options]
  Removes the state directory (records, layers, blobs, rootfs caches) and every
  imgsdk-labelled container and image in the engine (builders included).
  -y, --yes          do not ask (required when stdin is not a terminal)
  -n, --dry-run      only list what would be removed
  --state DIR        state directory (default $IMGSDK_STATE_DIR or ./.imgsdk)
  --keep-builders    keep builder images
  --state-only       leave the engine alone
`;

export async function cleanCommand(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, {
    yes: { type: 'boolean', short: 'y' }, 'dry-run': { type: 'boolean', short: 'n' }, state: { type: 'string' },
    'keep-builders': { type: 'boolean' }, 'state-only': { type: 'boolean' },
  });
  if (!values.yes && !values['dry-run'] && !process.stdin.isTTY) throw new UsageError('clean removes images and the state directory: pass --yes (stdin is not a terminal to ask)');
  const stateOnly = !!values['state-only'];
  const engine = stateOnly ? null : await connectEngine();
  const plan = await planClean(engine, { stateDir: values.state, keepBuilders: !!values['keep-builders'], stateOnly });
  const lines = [
    ...plan.containers.map((c) => `container ${c.names[0] ?? c.id.slice(0, 12)} (${c.state})`),
    ...plan.images.map((i) => `image     ${i.repoTags.join(', ') || i.id.slice(7, 19)}`),
    ...(plan.stateDir ? [`directory ${plan.stateDir}`] : []),
  ];
  if (!lines.length) {
    process.stdout.write('nothing to clean\n');
    return 0;
  }
  process.stdout.write(lines.join('\n') + '\n');
  if (values['dry-run']) return 0;
  if (!values.yes) {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await rl.question(`remove these ${lines.length}? [y/N] `);
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) {
      process.stdout.write('nothing removed\n');
      return 1;
    }
  }
  const r = await executeClean(engine, plan);
  process.stdout.write(`removed ${r.removed.containers} containers, ${r.removed.images} images${r.removed.stateDir ? ` and ${plan.stateDir}` : ''}\n`);
  for (const f of r.failed) process.stderr.write(`could not remove ${f}\n`);
  return r.failed.length ? 1 : 0;
}
