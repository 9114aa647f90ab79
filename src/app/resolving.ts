/** What resolving a lock in builder containers needs, loaded only when it runs (lockfile.ts). */
export { extract } from 'tar-stream';
export { ensureDebianBuilder } from '../runtime/phase1/builders/debian';
export { scriptsTar } from '../runtime/phase1/run';
export { dirTar } from '../util/tar';
export { gentooBuilderEntry, resolveGentoo } from './gentoo-lock';
export { stage3Updates } from './stage3-updates';
