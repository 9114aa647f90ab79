/**
 * Lets `imgsdk synth --app examples/shared-bases` check the library on its own.
 * The transforms are exercised in images.test.ts and in ../uses-shared-bases.
 */
export { debianBase } from './index';
