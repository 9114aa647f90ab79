/**
 * The import rule of docs/structure.md, read from the code: every relative import
 * in src/ runs from a layer to one it may use. An arrow against the rule fails
 * here with the file, the line and both layers.
 *
 *   cli → app → sdk | runtime → contract → util
 *   runtime: deploy → phase1 → image → reports → rootfs → store; engine a leaf
 *
 * And the seams inside deploy: the build of one image is one module that deploy.ts
 * alone reaches, by one import(); no module only hands on others' exports (a barrel).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import ts from 'typescript';

const SRC = resolve(__dirname, '..', 'src');

const RUNTIME = ['runtime/deploy', 'runtime/phase1', 'runtime/image', 'runtime/reports', 'runtime/rootfs', 'runtime/store'] as const;

/** Each layer and the layers it may import (itself always). */
const USES: Readonly<Record<string, readonly string[]>> = {
  cli: ['app', 'contract', 'util'],
  app: ['sdk', ...RUNTIME, 'runtime/engine', 'contract', 'util'],
  sdk: ['contract', 'util'],
  // Down the runtime: each layer the ones below it, and the engine (store and rootfs work without one).
  ...Object.fromEntries(RUNTIME.map((l, i) => [l, [...RUNTIME.slice(i + 1), ...(i < 4 ? ['runtime/engine'] : []), 'contract', 'util']])),
  'runtime/engine': ['contract', 'util'],
  contract: ['util'],
  util: [],
};

/** The layer of a path under src/ (`runtime/rootfs/elf.ts` → `runtime/rootfs`); `index.ts` is the public surface. */
function layerOf(path: string): string | null {
  if (path === 'index.ts') return 'index';
  return (
    Object.keys(USES)
      .filter((l) => path.startsWith(l + '/'))
      .sort((a, b) => b.length - a.length)[0] ?? null
  );
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

const posix = (p: string) => p.split(sep).join('/');
const SPEC = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']*)'/gm;

/** Every relative import in src/: the importing file, its line, and the imported path (under src/, no extension). */
function imports(): { file: string; line: number; target: string }[] {
  return sources(SRC).flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    return [...text.matchAll(SPEC)].map((m) => ({
      file: posix(relative(SRC, file)),
      line: text.slice(0, m.index).split('\n').length,
      target: posix(relative(SRC, join(dirname(file), m[1]))),
    }));
  });
}

test('every file of src/ is in a layer of the rule', () => {
  assert.equal(
    sources(SRC)
      .map((f) => posix(relative(SRC, f)))
      .filter((f) => layerOf(f) === null),
    [],
  );
});

test('imports run one way: cli → app → sdk | runtime → contract → util, and down the runtime layers', () => {
  const all = imports();
  assert.ok(
    all.some((i) => i.file === 'cli/deploy.ts' && i.target === 'app/deploy'),
    'the reader sees real imports',
  );
  const against = all
    .map((i) => ({ ...i, from: layerOf(i.file)!, to: layerOf(i.target + '.ts') ?? layerOf(i.target + '/index.ts') }))
    .filter((i) => i.to !== null && i.from !== 'index' && i.from !== i.to && !USES[i.from].includes(i.to))
    .map((i) => `src/${i.file}:${i.line} (${i.from}) imports src/${i.target} (${i.to})`);
  assert.equal(against, []);
});

test('the rule itself: no layer uses one above it', () => {
  assert.not.ok(USES.sdk.includes('runtime/deploy'));
  assert.not.ok(USES['runtime/rootfs'].includes('runtime/image'));
  assert.not.ok(USES['runtime/store'].includes('runtime/engine'));
  assert.not.ok(USES['runtime/engine'].includes('runtime/store'));
  assert.not.ok(USES.contract.includes('sdk'));
  assert.ok(USES['runtime/deploy'].includes('runtime/store'));
});

test('the defaults are read in one place: no other module names IMGSDK_OUTDIR, IMGSDK_STATE_DIR, imgsdk.out or .imgsdk as a default', () => {
  const bad = sources(SRC)
    .filter((f) => posix(relative(SRC, f)) !== 'contract/defaults.ts')
    .flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .map((l, n) => [f, n + 1, l] as const),
    )
    .filter(
      ([, , l]) =>
        !/^\s*(\*|\/\/|--|-[a-z],)/.test(l) &&
        !/^\s+-/.test(l) &&
        /process\.env\.IMGSDK_(OUTDIR|STATE_DIR)|\?\?\s*'(imgsdk\.out|\.imgsdk)'/.test(l),
    )
    .map(([f, n, l]) => `${posix(relative(SRC, f))}:${n}: ${l.trim()}`);
  assert.equal(bad, []);
});

/** The static imports of a file of src/ (not `import()`, not `import type`), as paths under src/ without extension. */
function staticImports(file: string): string[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  return [...text.matchAll(/^import\s+(?!type\b)[^;]*?from\s*'(\.{1,2}\/[^']*)'/gm)].map((m) =>
    posix(relative(SRC, join(dirname(join(SRC, file)), m[1]))),
  );
}

/** Every file of src/ a file loads statically, itself included. */
function staticClosure(file: string): Set<string> {
  const seen = new Set<string>();
  const stack = [file.replace(/\.ts$/, '')];
  while (stack.length) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    const path = ['.ts', '/index.ts'].map((ext) => f + ext).find((p) => sources(SRC).some((s) => posix(relative(SRC, s)) === p));
    if (path) stack.push(...staticImports(path));
  }
  return seen;
}

test('the build of one image is reached only from deploy.ts, by one import(): a deploy of cached images loads no build code', () => {
  const into = imports().filter((i) => i.target === 'runtime/deploy/build-target');
  assert.equal(
    into.map((i) => i.file),
    ['runtime/deploy/deploy.ts'],
    'who imports build-target',
  );
  const text = readFileSync(join(SRC, 'runtime/deploy/deploy.ts'), 'utf8');
  assert.equal(text.match(/import\('\.\/build-target'\)/g)?.length, 1, 'deploy.ts reaches it by one import()');
  const loaded = [...staticClosure('runtime/deploy/deploy.ts')];
  assert.equal(
    loaded.filter((f) => /^runtime\/(phase1\/run|rootfs\/pipeline|reports\/|image\/phase2|deploy\/build-target)/.test(f)),
    [],
  );
});

test('no barrels: every module of src/ (but the public index) defines something of its own', () => {
  const barrels = sources(SRC)
    .map((f) => posix(relative(SRC, f)))
    .filter((f) => f !== 'index.ts')
    .filter((f) => {
      const code = readFileSync(join(SRC, f), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, '');
      const statements = code
        .split('\n')
        .filter((l) => l.trim() && !/^\s*(import|export\s+(\*|\{[^}]*\}|type\s*\{[^}]*\})\s+from)\b/.test(l));
      return statements.length === 0 && /^\s*export\b/m.test(code);
    });
  assert.equal(barrels, []);
});

test('the writers (engine load, OCI layout and archive, push) import no deploy code', () => {
  for (const w of ['runtime/image/load.ts', 'runtime/image/oci-export.ts', 'runtime/image/push.ts', 'runtime/image/archive.ts']) {
    const deploy = imports().filter((i) => i.file === w && i.target.startsWith('runtime/deploy/'));
    assert.equal(deploy, [], w);
  }
});

/** Every function, method and arrow of src/ with its length in lines (from its first token to its end). */
function functionLengths(): { where: string; lines: number }[] {
  return sources(SRC).flatMap((file) => {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const out: { where: string; lines: number }[] = [];
    const visit = (n: ts.Node): void => {
      if (ts.isFunctionLike(n) && 'body' in n && n.body) {
        const from = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line;
        const to = sf.getLineAndCharacterOfPosition(n.end).line;
        out.push({ where: `src/${posix(relative(SRC, file))}:${from + 1}`, lines: to - from + 1 });
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
    return out;
  });
}

test('no function in src/ is over 100 lines: a longer one is split into named steps', () => {
  const all = functionLengths();
  assert.ok(
    all.some((f) => f.where.startsWith('src/runtime/deploy/deploy.ts:')),
    'the reader sees real functions',
  );
  assert.equal(
    all.filter((f) => f.lines > 100).map((f) => `${f.where} (${f.lines} lines)`),
    [],
  );
});

test.run();
