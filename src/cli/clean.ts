import { createInterface } from 'node:readline/promises';
import { appGc, executeClean, planAppClean } from '../app/clean';
import { formatSize } from '../util/format';
import { UsageError } from '../contract/errors';
import { parse } from './args';
import { shortKey } from '../contract/names';

export const CLEAN_USAGE = `imgsdk clean [options]
  Removes what this app and state directory left: the state directory (records,
  layers, blobs, rootfs caches), its containers and the app's images. Shared caches
  (builder images, the Gentoo builders' imgsdk-portage-*, imgsdk-binpkgs-* and
  imgsdk-distfiles volumes) go only when this state directory used them and no other
  app known on this host does; what others use is kept and listed as such. A dry
  run lists exactly what the real run removes.
  -y, --yes          do not ask (required when stdin is not a terminal)
  -n, --dry-run      only list what would be removed
  --app FILE|DIR     the app (default the nearest images.ts here or above, else the assembly in $IMGSDK_OUTDIR or ./imgsdk.out)
  --state DIR        state directory (default $IMGSDK_STATE_DIR or .imgsdk beside the app)
  --keep-builders    keep builder images and the builders' volumes
  --prune-volumes    remove only the Portage snapshot and binary-package volumes this
                     state directory used that no container, no builder of the app and
                     no other app uses now; nothing else
  --state-only       leave the engine alone
  --stale            only remove the app's key tags that are not the current keys
  --gc               only garbage-collect the state directory: remove the rootfs tars,
                     layers, blobs and records that no current key of the app's images
                     and none of the last --keep builds of each image use (a deploy does
                     this by itself; see docs/ship.md). The engine is not touched.
  --keep N           with --gc: builds kept per image besides the current ones (default 3)
  --all              every imgsdk-labelled container, image and builder volume in the
                     engine, of any app (other apps' caches too)
`;

export async function cleanCommand(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, {
    yes: { type: 'boolean', short: 'y' },
    'dry-run': { type: 'boolean', short: 'n' },
    state: { type: 'string' },
    app: { type: 'string' },
    'keep-builders': { type: 'boolean' },
    'state-only': { type: 'boolean' },
    stale: { type: 'boolean' },
    all: { type: 'boolean' },
    'prune-volumes': { type: 'boolean' },
    gc: { type: 'boolean' },
    keep: { type: 'string' },
  });
  if (values.keep !== undefined && !values.gc) throw new UsageError('--keep goes with --gc');
  if (values.gc) {
    if (values['prune-volumes'] || values['state-only'] || values['keep-builders'] || values.all || values.stale) {
      throw new UsageError(
        "--gc only collects the state directory's garbage: it takes no --prune-volumes, --state-only, --keep-builders, --all or --stale",
      );
    }
    if (values.keep !== undefined && !/^\d+$/.test(values.keep))
      throw new UsageError(`--keep takes a number of builds, not "${values.keep}"`);
    const { plan, freed } = await appGc(
      { app: values.app, state: values.state },
      { keep: values.keep === undefined ? undefined : Number(values.keep), dryRun: !!values['dry-run'] },
      (line) => process.stderr.write(`${line}\n`),
    );
    if (!plan.remove.length) {
      process.stdout.write(`nothing to collect in ${plan.root} (${formatSize(plan.before)})\n`);
      return 0;
    }
    if (values['dry-run']) {
      process.stdout.write(plan.remove.map((f) => `file      ${plan.root}/${f.path} (${formatSize(f.bytes)})`).join('\n') + '\n');
      process.stdout.write(`would free ${formatSize(plan.before - plan.after)}: ${formatSize(plan.before)} → ${formatSize(plan.after)}\n`);
      return 0;
    }
    process.stdout.write(
      `removed ${plan.remove.length} files (${formatSize(freed)}) from ${plan.root}: ${formatSize(plan.before)} → ${formatSize(plan.after)}\n`,
    );
    return 0;
  }
  const prune = !!values['prune-volumes'];
  if (prune && (values['state-only'] || values['keep-builders'] || values.state || values.all || values.stale)) {
    throw new UsageError('--prune-volumes removes volumes only: it takes no --state, --state-only, --keep-builders, --all or --stale');
  }
  if (values.all && values.stale) throw new UsageError('--all and --stale do not go together: --stale is for this app only');
  if (!values.yes && !values['dry-run'] && !process.stdin.isTTY)
    throw new UsageError('clean removes images, volumes and the state directory: pass --yes (stdin is not a terminal to ask)');
  const { plan, engine } = await planAppClean(
    { app: values.app, state: values.state },
    {
      keepBuilders: !!values['keep-builders'],
      stateOnly: !!values['state-only'],
      all: !!values.all,
      stale: !!values.stale,
      pruneVolumes: prune,
    },
    (line) => process.stderr.write(`${line}\n`),
  );
  const lines = [
    ...plan.containers.map((c) => `container ${c.names[0] ?? shortKey(c.id)} (${c.state})`),
    ...plan.images.map((i) => `image     ${i.repoTags.join(', ') || i.id.slice(7, 19)}`),
    ...plan.tags.map((t) => `tag       ${t}`),
    ...plan.volumes.map((v) => `volume    ${v.name}`),
    ...(plan.stateDir ? [`directory ${plan.stateDir}`] : []),
  ];
  for (const k of plan.kept ?? []) process.stderr.write(`keeping ${k}\n`);
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
  process.stdout.write(
    `removed ${r.removed.containers} containers, ${r.removed.images} images${tags}, ${r.removed.volumes} volumes${r.removed.stateDir ? ` and ${plan.stateDir}` : ''}\n`,
  );
  for (const f of r.failed) process.stderr.write(`could not remove ${f}\n`);
  return r.failed.length ? 1 : 0;
}
