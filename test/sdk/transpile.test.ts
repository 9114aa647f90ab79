import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../src/contract/errors';
import { sha256 } from '../../src/util/hash';
import { transpile } from '../../src/sdk/transpile';

const ROOT = resolve(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'imgsdk.js');

test('a missing ) is a problem at its file:line, not a module that loads', () => {
  const src = "import { image } from 'imgsdk';\n\nexport const a = image('a/b'.toString();\n";
  const err = (() => {
    try {
      transpile(src, join(process.cwd(), 'images.ts'));
    } catch (e) {
      return e;
    }
    return null;
  })();
  assert.instance(err, ValidationError);
  const problems = (err as ValidationError).problems;
  assert.equal(
    problems.map((p) => p.site),
    ['images.ts:3'],
  );
  assert.equal(
    problems.map((p) => `${p.id}: ${p.message}`),
    ["TS1005: ')' expected."],
  );
});

test('every syntax error of a file is reported in one run', () => {
  const err = (() => {
    try {
      transpile('const a = ;\nconst b = 1;\nconst c = (;\n', '/x/app.ts');
    } catch (e) {
      return e as ValidationError;
    }
    return null;
  })();
  assert.ok(err);
  assert.equal([...new Set(err!.problems.map((p) => p.site))], ['/x/app.ts:1', '/x/app.ts:3']);
});

test('a clean file transpiles to CommonJS with an inline source map', () => {
  const out = transpile('export const x: number = 1;\n', '/x/app.ts');
  assert.match(out, 'exports.x = 1');
  assert.match(out, 'sourceMappingURL=data:application/json;base64,');
});

test('synth of an images.ts with a syntax error exits 1 naming images.ts:line, and writes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-syntax-'));
  try {
    writeFileSync(
      join(dir, 'images.ts'),
      "import { debian, image } from 'imgsdk';\nconst deb = debian.builder('a/deb', { suite: 'bookworm' });\nexport const web = image('a/web').builder(deb).packages('hello'.trim();\n",
    );
    const r = spawnSync(process.execPath, [BIN, 'synth', '--app', 'images.ts', '-o', 'out'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, IMGSDK_CACHE_DIR: join(dir, 'cache') },
    });
    assert.is(r.status, 1, r.stderr);
    assert.match(r.stderr, /^images\.ts:3 TS1005: '\)' expected\.$/m);
    assert.not.match(r.stderr, /^\s+at /m, 'no stack trace');
    assert.not.match(r.stdout, 'synthesized');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a source outside the app directory is recorded by its relative path, so two checkouts of one app synth the same manifest', () => {
  const root = mkdtempSync(join(tmpdir(), 'imgsdk-sources-out-'));
  try {
    const lib = "import { debian } from 'imgsdk';\nexport const deb = debian.builder('a/deb', { suite: 'bookworm' });\n";
    const app =
      "import { image } from 'imgsdk';\nimport { deb } from '../shared/lib';\nexport const a = image('a/a').builder(deb).user('nobody');\n";
    const manifests = ['one', 'two'].map((copy) => {
      mkdirSync(join(root, copy, 'shared'), { recursive: true });
      mkdirSync(join(root, copy, 'app'));
      writeFileSync(join(root, copy, 'shared', 'lib.ts'), lib);
      writeFileSync(join(root, copy, 'app', 'images.ts'), app);
      const r = spawnSync(process.execPath, [BIN, 'synth', '-o', 'out'], {
        cwd: join(root, copy, 'app'),
        encoding: 'utf8',
        env: { ...process.env, IMGSDK_CACHE_DIR: join(root, 'cache') },
      });
      assert.is(r.status, 0, r.stderr);
      return readFileSync(join(root, copy, 'app', 'out', 'manifest.json'), 'utf8');
    });
    assert.equal((JSON.parse(manifests[0]) as { sources: Record<string, string> }).sources, {
      '../shared/lib.ts': sha256(lib),
      'images.ts': sha256(app),
    });
    assert.is(manifests[1], manifests[0]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('synth records the sha256 of every source file the app loaded in the manifest (for the provenance)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-sources-'));
  try {
    const lib = "import { debian } from 'imgsdk';\nexport const deb = debian.builder('a/deb', { suite: 'bookworm' });\n";
    const app =
      "import { image } from 'imgsdk';\nimport { deb } from './lib';\nexport const a = image('a/a').builder(deb).user('nobody');\n";
    writeFileSync(join(dir, 'lib.ts'), lib);
    writeFileSync(join(dir, 'images.ts'), app);
    const r = spawnSync(process.execPath, [BIN, 'synth', '-o', 'out'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, IMGSDK_CACHE_DIR: join(dir, 'cache') },
    });
    assert.is(r.status, 0, r.stderr);
    const m = JSON.parse(readFileSync(join(dir, 'out', 'manifest.json'), 'utf8')) as { sources: Record<string, string> };
    assert.equal(m.sources, { 'images.ts': sha256(app), 'lib.ts': sha256(lib) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
