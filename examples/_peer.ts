/**
 * For tests that load @imgsdk-examples/bases: that package imports its peer
 * `imgsdk`, which in this repository is not in node_modules (it is the repository).
 * `imgsdk synth` maps the name to itself (src/sdk/load.ts); this does the same for
 * the test process, to the copy the tests' own `import 'imgsdk'` gets (dist/), so
 * that both see one Image class. A project that installs imgsdk needs none of this.
 */
import Module from 'node:module';

const targets: Record<string, string> = {
  imgsdk: require.resolve('imgsdk'),
  'imgsdk/testing': require.resolve('imgsdk/testing'),
};
const m = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
const original = m._resolveFilename;
m._resolveFilename = function (request: string, ...rest: unknown[]) {
  return targets[request] ?? original.call(this, request, ...rest);
};
