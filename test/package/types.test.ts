/**
 * A user's own project type-checks against imgsdk as npm installs it (package.json
 * and dist/): `imgsdk` and `imgsdk/testing` resolve under TypeScript's default
 * `moduleResolution` for CommonJS (node10, which ignores `exports`: package.json's
 * `typesVersions` maps the subpath), and under node16 and bundler, without
 * skipLibCheck: every declaration the public API reaches type-checks in the user's
 * project. Needs dist/
 * (`npx tsc -p tsconfig.json`; npm test builds it first).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = resolve(__dirname, '..', '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

const CONSUMER = `import { debian, image } from 'imgsdk';
import { Testing } from 'imgsdk/testing';
const deb = debian.builder('c/bookworm', { suite: 'bookworm' });
export const web = image('c/web').builder(deb).packages('hello').user('nobody');
export const problems: string[] = Testing.problems(web);
// @ts-expect-error Testing.synth takes images, not numbers (so the types are really there, not any)
Testing.synth(42);
`;

/** A project with imgsdk installed as npm would: its package.json and dist/, and its dependencies. */
function consumer(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-consumer-'));
  const pkg = join(dir, 'node_modules', 'imgsdk');
  mkdirSync(pkg, { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  symlinkSync(join(ROOT, 'dist'), join(pkg, 'dist'));
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
  mkdirSync(join(dir, 'node_modules', '@types'));
  symlinkSync(join(ROOT, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'));
  writeFileSync(join(dir, 'images.test.ts'), CONSUMER);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function tsc(dir: string, compilerOptions: Record<string, unknown>): { code: number | null; out: string } {
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { strict: true, noEmit: true, types: ['node'], ...compilerOptions }, files: ['images.test.ts'] }),
  );
  const r = spawnSync(process.execPath, [TSC, '-p', dir], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

test.before(() => {
  if (!existsSync(join(ROOT, 'dist', 'sdk', 'testing.d.ts'))) throw new Error('dist/ is not built: run `npx tsc -p .` (npm test does)');
});

test("'imgsdk/testing' resolves under the default moduleResolution of a CommonJS project (node10), through typesVersions", () => {
  const c = consumer();
  try {
    const r = tsc(c.dir, { module: 'commonjs', moduleResolution: 'node10' });
    assert.is(r.code, 0, r.out);
    assert.is(r.out, '');
  } finally {
    c.remove();
  }
});

test("'imgsdk/testing' resolves under bundler and node16 (through exports), and the declarations check without skipLibCheck", () => {
  const c = consumer();
  try {
    for (const options of [
      { module: 'esnext', moduleResolution: 'bundler' },
      { module: 'node16', moduleResolution: 'node16' },
      { module: 'nodenext', moduleResolution: 'nodenext' },
    ]) {
      const r = tsc(c.dir, options);
      assert.is(r.code, 0, `${options.moduleResolution}: ${r.out}`);
    }
  } finally {
    c.remove();
  }
});

test('the public declarations name no graphlib type, no internal state and no assembly writer', () => {
  const index = readFileSync(join(ROOT, 'dist', 'index.d.ts'), 'utf8');
  assert.not.match(index, /export \*/, 'index.d.ts names what it exports');
  assert.not.match(index, /graph|writeAssembly|ImageState/);
  const image = readFileSync(join(ROOT, 'dist', 'sdk', 'image.d.ts'), 'utf8');
  assert.match(image, /declare class Image/);
  assert.not.match(image, /\bstate\b|ImageState|static create/, 'Image.state and Image.create are @internal, stripped');
});

test('a consumer cannot reach Image.state: the public type of Image does not have it', () => {
  const c = consumer();
  try {
    writeFileSync(
      join(c.dir, 'images.test.ts'),
      `import { image } from 'imgsdk';\n// @ts-expect-error state is internal\nexport const s = image('c/web').state;\nexport const id: string = image('c/web').id;\n`,
    );
    const r = tsc(c.dir, { module: 'node16', moduleResolution: 'node16' });
    assert.is(r.code, 0, r.out);
  } finally {
    c.remove();
  }
});

test('without typesVersions, node10 cannot find imgsdk/testing (what the field is for)', () => {
  const c = consumer();
  try {
    const pkg = join(c.dir, 'node_modules', 'imgsdk', 'package.json');
    const json = JSON.parse(readFileSync(pkg, 'utf8')) as Record<string, unknown>;
    delete json.typesVersions;
    writeFileSync(pkg, JSON.stringify(json));
    const r = tsc(c.dir, { module: 'commonjs', moduleResolution: 'node10' });
    assert.is.not(r.code, 0);
    assert.match(r.out, /Cannot find module 'imgsdk\/testing'/);
  } finally {
    c.remove();
  }
});

test.run();
