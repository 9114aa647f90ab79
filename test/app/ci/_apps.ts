/** Apps the ci tests render: two platforms with a parent and a .copy() source, and the repository's fixture app. */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { app, assemble, debian, image } from 'imgsdk';
import type { Manifest } from '../../../src/contract/assembly';
import { assembleApp } from '../../../src/app/open';

export const ROOT = join(__dirname, '..', '..', '..');

/** acme/base ← acme/jq, and acme/tools from acme/base with a file copied from acme/jq, each for linux/amd64 and linux/arm64. */
export function twoPlatforms(): Manifest {
  const deb = debian.builder('acme/bookworm', { suite: 'bookworm', platforms: ['linux/amd64', 'linux/arm64'] });
  const base = image('acme/base').builder(deb).packages('libc6');
  const jq = image('acme/jq').from(base).packages('jq').entrypoint('/usr/bin/jq').user('nobody');
  const tools = image('acme/tools')
    .from(base)
    .copy({ from: jq, paths: ['/usr/bin/jq'] })
    .user('nobody');
  return assemble(app(base, jq, tools)).manifest;
}

/** test/fixtures/app.ts: Gentoo and Debian builders, three levels, a copy across branches, no platforms. */
export function fixture(): Manifest {
  return assembleApp({ app: join(ROOT, 'test', 'fixtures', 'app.ts') }).assembly.manifest;
}

/** The repository's images.ts and every example's, by path from the repository's root. */
export function repositoryApps(): [string, Manifest][] {
  const paths = [
    'images.ts',
    ...readdirSync(join(ROOT, 'examples'))
      .map((d) => `examples/${d}/images.ts`)
      .filter((p) => existsSync(join(ROOT, p))),
  ];
  return paths.map((p) => [p, assembleApp({ app: join(ROOT, p) }).assembly.manifest]);
}
