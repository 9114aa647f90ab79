import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { BuilderDef } from '../assembly';
import { readAssembly } from '../runtime/assembly';
import { executeClean, planClean } from '../runtime/clean';
import { connectEngine } from '../runtime/engine/docker';
import { UsageError } from '../errors';
import { loadApp } from '../sdk/load';
import { assemble } from '../sdk/synth';
import { parse } from './args';

export const CLEAN_USAGE = `imgsdk clean [options]
  Removes the state directory (records, layers, blobs, rootfs caches), every
  imgsdk-labelled container and image in the engine (builders included), and the
  Gentoo builders' volumes (imgsdk-portage-*, imgsdk-binpkgs-*, imgsdk-distfiles)
  that no container uses.
  -y, --yes          do not ask (required when stdin is not a terminal)
  -n, --dry-run      only list what would be removed
  --state DIR        state directory (default $IMGSDK_STATE_DIR or ./.imgsdk)
  --keep-builders    keep builder images and the builders' volumes
  --state-only       leave the engine alone
  --prune-volumes    remove only the Portage snapshot and binary-package volumes that
                     no container uses and no builder of the app uses now (snapshots
                     of other days, builders no longer in the app); nothing else
  --app FILE|DIR     the app whose builders' volumes --prune-volumes keeps (default
                     ./images.ts; an assembly dir works too; without an app none is kept)
`;

export async function cleanCommand(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, {
    yes: { type: 'boolean', short: 'y' }, 'dry-run': { type: 'boolean', short: 'n' }, state: { type: 'string' },
    'keep-builders': { type: 'boolean' }, 'state-only': { type: 'boolean' }, 'prune-volumes': { type: 'boolean' }, app: { type: 'string' },
  });
  const prune = !!values['prune-volumes'];
  if (prune && (values['state-only'] || values['keep-builders'] || values.state)) throw new UsageError('--prune-volumes removes volumes only: it takes no --state, --state-only or --keep-builders');
  if (values.app && !prune) throw new UsageError('--app is for --prune-volumes');
  if (!values.yes && !values['dry-run'] && !process.stdin.isTTY) throw new UsageError('clean removes images, volumes and the state directory: pass --yes (stdin is not a terminal to ask)');
  const stateOnly = !!values['state-only'];
  const builders = prune ? await appBuilders(values.app) : [];
  const engine = stateOnly ? null : await connectEngine();
  const plan = await planClean(engine, { stateDir: values.state, keepBuilders: !!values['keep-builders'], stateOnly, pruneVolumes: prune, builders });
  const lines = [
    ...plan.containers.map((c) => `container ${c.names[0] ?? c.id.slice(0, 12)} (${c.state})`),
    ...plan.images.map((i) => `image     ${i.repoTags.join(', ') || i.id.slice(7, 19)}`),
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
  process.stdout.write(`removed ${r.removed.containers} containers, ${r.removed.images} images, ${r.removed.volumes} volumes${r.removed.stateDir ? ` and ${plan.stateDir}` : ''}\n`);
  for (const f of r.failed) process.stderr.write(`could not remove ${f}\n`);
  return r.failed.length ? 1 : 0;
}

/** The builders of the app (or assembly) `--app` names, or of ./images.ts; none without an app. */
async function appBuilders(app: string | undefined): Promise<BuilderDef[]> {
  if (app && existsSync(resolve(app, 'manifest.json'))) return Object.values((await readAssembly(app)).manifest.builders).map((b) => b.def);
  if (!app && !existsSync(resolve('images.ts'))) {
    process.stderr.write('no ./images.ts and no --app: no builder\'s volumes are kept\n');
    return [];
  }
  return [...assemble(loadApp(app)).builders.values()];
}
