import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import major from 'semver/functions/major';
import valid from 'semver/functions/valid';
import { ASSEMBLY_VERSION, type ImageDef, type Manifest } from './assembly';
import { AssemblyError } from './errors';

/** An assembly read from disk: the runtime never imports the user's TypeScript. */
export interface LoadedAssembly {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly images: ReadonlyMap<string, ImageDef>;
}

/**
 * Reads `manifest.json` and every `image.json` of an assembly directory. Refuses a
 * manifest of a newer major version than this runtime reads.
 * @example const asm = await readAssembly('imgsdk.out');
 */
export async function readAssembly(dir: string): Promise<LoadedAssembly> {
  const root = resolve(dir);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(root, 'manifest.json'), 'utf8')) as Manifest;
  } catch (e) {
    throw new AssemblyError(
      `no assembly at ${root}: cannot read manifest.json (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); run \`imgsdk synth\` first`,
      { cause: e },
    );
  }
  checkVersion(manifest.version, root);
  const images = new Map<string, ImageDef>();
  for (const [id, m] of Object.entries(manifest.images)) {
    try {
      images.set(id, JSON.parse(await readFile(join(root, m.dir, 'image.json'), 'utf8')) as ImageDef);
    } catch (e) {
      throw new AssemblyError(
        `${id}: cannot read ${join(root, m.dir, 'image.json')}; the assembly is incomplete, run \`imgsdk synth\` again`,
        { cause: e },
      );
    }
  }
  return { dir: root, manifest, images };
}

/** Throws unless `version` is a semver whose major this runtime reads. */
export function checkVersion(version: unknown, where: string): void {
  const v = typeof version === 'string' ? valid(version) : null;
  if (!v) throw new AssemblyError(`${where}: manifest.json has no valid version (${JSON.stringify(version)})`);
  if (major(v) > major(ASSEMBLY_VERSION)) {
    throw new AssemblyError(
      `${where}: the assembly has format ${v}, newer than this imgsdk reads (${ASSEMBLY_VERSION}); upgrade imgsdk or synthesize with this version`,
    );
  }
}
