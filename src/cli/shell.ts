import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors';
import { readAssembly, type LoadedAssembly } from '../runtime/assembly';
import { ensureDebianBuilder } from '../runtime/builders/debian';
import { ensureGentooBuilder, parentPackageLine } from '../runtime/builders/gentoo';
import { connectEngine } from '../runtime/engine/docker';
import type { VolumeMount } from '../runtime/engine/engine';
import { runInteractive } from '../runtime/engine/interactive';
import { dirTar, SCRIPTS_DIR } from '../runtime/phase1';
import { StateDir } from '../runtime/state';
import { loadApp, lockFileOf } from '../sdk/load';
import { synth } from '../sdk/synth';
import { parse } from './args';

export const SHELL_USAGE = `imgsdk shell <id> [options]
  An interactive shell in the image's builder with its configuration applied, as
  Kubler's build -i: /etc/portage, downloads, overlays, configureBuilder and
  package.provided (Gentoo), the image dir at /imgsdk/in. Needs a terminal.
  --app FILE|DIR     the app (default ./images.ts), or an assembly dir (manifest.json)
  -o, --out DIR      assembly directory (default $IMGSDK_OUTDIR or ./imgsdk.out)
  --state DIR        state directory (default $IMGSDK_STATE_DIR or ./.imgsdk)
`;

export async function shellCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parse(argv, { app: { type: 'string' }, out: { type: 'string', short: 'o' }, state: { type: 'string' } }, true);
  if (positionals.length !== 1) throw new UsageError('shell takes exactly one image id');
  // Before any work: without a terminal there is nothing to attach to.
  if (!process.stdin.isTTY || !process.stdout.isTTY) throw new UsageError('shell needs a terminal: stdin and stdout must be a TTY');
  const id = positionals[0];
  const asm = await loadAssembly(values.app, values.out);
  const m = asm.manifest.images[id];
  const def = asm.images.get(id);
  if (!m || !def) throw new UsageError(`no image "${id}" (images: ${Object.keys(asm.manifest.images).join(', ')})`);
  const builder = asm.manifest.builders[def.builder];
  const state = new StateDir(values.state);
  const engine = await connectEngine();
  const log = (l: string) => process.stderr.write(`${l}\n`);

  let ref: string;
  let mounts: VolumeMount[] = [];
  if (builder.kind === 'gentoo') ({ ref, mounts } = await ensureGentooBuilder(engine, builder.def, builder.key, { log, cacheDir: join(state.root, 'downloads') }));
  else ref = await ensureDebianBuilder(engine, builder.def, { log });

  const parents: string[] = [];
  for (let p = def.parent; p; p = asm.images.get(p)!.parent) {
    const rec = await state.readBuild(p, asm.manifest.images[p].key);
    if (rec) parents.push(...rec.packages.map(parentPackageLine));
    else log(`imgsdk: ${p} is not built at its current key; its packages are not in package.provided (deploy it first)`);
  }
  const list = [...new Set(parents)].sort();
  const inTar = await dirTar(join(asm.dir, m.dir), { 'parent-packages.list': list.map((l) => `${l}\n`).join('') });
  const configure = builder.kind === 'gentoo'
    ? '/bin/sh /imgsdk/scripts/portage.sh --configure-only /imgsdk/in || echo "imgsdk: configuring failed (exit $?); the shell opens anyway"; '
    : 'echo "imgsdk: the image dir is /imgsdk/in; sh /imgsdk/in/build.sh runs the build"; ';
  log(`imgsdk: shell in ${ref} for ${id}; the container is removed when the shell exits`);
  return runInteractive(engine, {
    image: ref, forImage: id, mounts, network: builder.def.debian?.network ?? undefined,
    cmd: ['/bin/sh', '-c', `${configure}if command -v bash >/dev/null; then exec bash -l; else exec sh -l; fi`],
    env: { TERM: process.env.TERM ?? 'xterm' },
    put: [{ path: '/imgsdk/in', tar: inTar }, { path: '/imgsdk/scripts', tar: await dirTar(SCRIPTS_DIR, {}) }],
  });
}

async function loadAssembly(app: string | undefined, out: string | undefined): Promise<LoadedAssembly> {
  if (app && (await stat(resolve(app, 'manifest.json')).then(() => true, () => false))) return readAssembly(app);
  const outdir = resolve(out ?? process.env.IMGSDK_OUTDIR ?? 'imgsdk.out');
  await synth(loadApp(app), { outdir, lock: lockFileOf(app) });
  return readAssembly(outdir);
}
