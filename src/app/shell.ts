/**
 * `imgsdk shell`: an interactive shell in an image's builder with its
 * configuration applied, as Kubler's `build -i`. This module decides what the
 * container gets (builder image, volumes, the image dir, the parents' packages
 * as package.provided); the CLI checks the terminal and attaches it.
 */
import { join } from 'node:path';
import { formatList, PARENT_PACKAGES } from '../contract/builder-files';
import { UsageError } from '../contract/errors';
import type { LoadedAssembly } from '../contract/read';
import { ensureBuilder } from '../runtime/phase1/builders/ensure';
import { parentPackageLine } from '../runtime/phase1/builders/gentoo';
import { connectEngine } from '../runtime/engine/docker';
import type { Engine } from '../runtime/engine/engine';
import { runInteractive, type InteractiveOptions } from '../runtime/engine/interactive';
import { dirTar } from '../util/tar';
import { scriptsTar } from '../runtime/phase1/run';
import { StateDir } from '../runtime/store/state';

/** What a shell needs: the assembly, the state directory, progress lines. */
export interface ShellInput {
  readonly assembly: LoadedAssembly;
  readonly stateDir: string;
  /** @default ignored */
  readonly log?: (line: string) => void;
}

/**
 * The interactive container of image `id`: its builder (set up when missing), the
 * builder's volumes, the image dir at /imgsdk/in with the packages of the parents
 * built at their current keys, and the command that configures and opens a shell.
 * @example const opts = await shellContainer(engine, { assembly, stateDir }, 'acme/web');
 */
export async function shellContainer(engine: Engine, input: ShellInput, id: string): Promise<InteractiveOptions> {
  const asm = input.assembly;
  const log = input.log ?? (() => undefined);
  const m = asm.manifest.images[id];
  const def = asm.images.get(id);
  if (!m || !def) throw new UsageError(`no image "${id}" (images: ${Object.keys(asm.manifest.images).join(', ')})`);
  const builder = asm.manifest.builders[def.builder];
  const state = new StateDir(input.stateDir);
  const { ref, mounts } = await ensureBuilder(engine, builder.def, builder.key, { log, stateRoot: state.root });

  const parents: string[] = [];
  for (let p = def.parent; p; p = asm.images.get(p)!.parent) {
    const rec = await state.readBuild(p, asm.manifest.images[p].key);
    if (rec) parents.push(...rec.packages.map(parentPackageLine));
    else log(`imgsdk: ${p} is not built at its current key; its packages are not in package.provided (deploy it first)`);
  }
  const list = [...new Set(parents)].sort();
  const inTar = await dirTar(join(asm.dir, m.dir), { [PARENT_PACKAGES.path]: formatList(PARENT_PACKAGES, list) });
  const configure =
    builder.kind === 'gentoo'
      ? '/bin/sh /imgsdk/scripts/portage-configure.sh /imgsdk/in || echo "imgsdk: configuring failed (exit $?); the shell opens anyway"; '
      : 'echo "imgsdk: the image dir is /imgsdk/in; sh /imgsdk/in/build.sh runs the build"; ';
  log(`imgsdk: shell in ${ref} for ${id}; the container is removed when the shell exits`);
  return {
    image: ref,
    forImage: id,
    mounts: [...mounts],
    network: builder.def.debian?.network ?? undefined,
    cmd: ['/bin/sh', '-c', `${configure}if command -v bash >/dev/null; then exec bash -l; else exec sh -l; fi`],
    env: { TERM: process.env.TERM ?? 'xterm' },
    put: [
      { path: '/imgsdk/in', tar: inTar },
      { path: '/imgsdk/scripts', tar: await scriptsTar() },
    ],
  };
}

/**
 * Opens the shell on this terminal; resolves to the shell's exit code.
 * @example process.exitCode = await shell({ assembly, stateDir }, 'acme/web');
 */
export async function shell(input: ShellInput, id: string): Promise<number> {
  if (!input.assembly.manifest.images[id])
    throw new UsageError(`no image "${id}" (images: ${Object.keys(input.assembly.manifest.images).join(', ')})`);
  const engine = await connectEngine();
  return runInteractive(engine, await shellContainer(engine, input, id));
}
