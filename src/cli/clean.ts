import { createInterface } from 'node:readline/promises';
import { executeClean, planAppClean } from '../app/clean';
import { UsageError } from '../contract/errors';
import { parse } from './args';

export const CLEAN_USAGE = `imgsdk clean [options]
  Removes what this app and state directory left: the state directory (records,
  layers, blobs, rootfs caches), its containers, the app's images and builders, and
  the Gentoo builders' volumes (imgsdk-portage-*, imgsdk-binpkgs-*, imgsdk-distfiles)
  that no container uses.
  -y, --yes          do not ask (required when stdin is not a terminal)
  -n, --dry-run      only list what would be removed
  --app FILE|DIR     the app (default the nearest images.ts here or above, else the assembly in $IMGSDK_OUTDIR or ./imgsdk.out)
  --state DIR        state directory (default $IMGSDK_STATE_DIR or .imgsdk beside the app)
  --keep-builders    keep builder images and the builders' volumes
  --prune-volumes    remove only the Portage snapshot and binary-package volumes that no
                     container and no builder of the app uses now; nothing else
  --state-only       leave the engine alone
  --stale            only remove the app's key tags that are not the current keys
  --all              every imgsdk-labelled container and image in the engine, of any app
`;

export async function cleanCommand(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, {
    yes: { type: 'boolean', short: 'y' }, 'dry-run': { type: 'boolean', short: 'n' }, state: { type: 'string' }, app: { type: 'string' },
    'keep-builders': { type: 'boolean' }, 'state-only': { type: 'boolean' }, stale: { type: 'boolean' }, all: { type: 'boolean' },
    'prune-volumes': { type: 'boolean' },
  });
  const prune = !!values['prune-volumes'];
  if (prune && (values['state-only'] || values['keep-builders'] || values.state || values.all || values.stale)) {
    throw new UsageError('--prune-volumes removes volumes only: it takes no --state, --state-only, --keep-builders, --all or --stale');
  }
  if (values.all && values.stale) throw new UsageError('--all and --stale do not go together: --stale is for this app only');
  if (!values.yes && !values['dry-run'] && !process.stdin.isTTY) throw new UsageError('clean removes images, volumes and the state directory: pass --yes (stdin is not a terminal to ask)');
  const { plan, engine } = await planAppClean(
    { app: values.app, state: values.state },
    { keepBuilders: !!values['keep-builders'], stateOnly: !!values['state-only'], all: !!values.all, stale: !!values.stale, pruneVolumes: prune },
    (line) => process.stderr.write(`${line}\n`),
  );
  const lines = [
    ...plan.containers.map((c) => `container ${c.names[0] ?? c.id.slice(0, 12)} (${c.state})`),
    ...plan.images.map((i) => `image     ${i.repoTags.join(', ') || i.id.slice(7, 19)}`),
    ...plan.tags.map((t) => `tag       ${t}`),
    ...plan.volumes.map((v) => `volume    ${v.name}`),
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
  const tags = r.removed.tags ? `, ${r.removed.tags} tags` : '';
  process.stdout.write(`removed ${r.removed.containers} containers, ${r.removed.images} images${tags}, ${r.removed.volumes} volumes${r.removed.stateDir ? ` and ${plan.stateDir}` : ''}\n`);
  for (const f of r.failed) process.stderr.write(`could not remove ${f}\n`);
  return r.failed.length ? 1 : 0;
}
