/**
 * cli → app → sdk | runtime: the CLI parses, asks src/app and prints; src/app is
 * the one place that joins the SDK and the runtime. Read from the sources' imports.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const SRC = resolve(__dirname, '..', '..', 'src');

/** Every module a file imports or re-exports from (relative specifiers, resolved against src/). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)) out.push(relative(SRC, resolve(join(file, '..'), m[1])));
  for (const m of text.matchAll(/require\('(\.[^']+)'\)/g)) out.push(relative(SRC, resolve(join(file, '..'), m[1])));
  return out;
}

const filesOf = (dir: string) => readdirSync(join(SRC, dir)).filter((f) => f.endsWith('.ts')).map((f) => join(SRC, dir, f));

test('the CLI imports only src/app, the errors and its own modules: nothing from sdk or runtime', () => {
  const bad: string[] = [];
  for (const f of filesOf('cli')) {
    for (const i of importsOf(f)) if (!/^(app\/|cli\/|errors$)/.test(i)) bad.push(`${relative(SRC, f)} imports ${i}`);
  }
  assert.equal(bad, []);
  assert.ok(importsOf(join(SRC, 'cli', 'deploy.ts')).includes('app/deploy'), 'the reader sees real imports');
});

test('src/app never imports the CLI', () => {
  const bad = filesOf('app').flatMap((f) => importsOf(f).filter((i) => i.startsWith('cli/')).map((i) => `${relative(SRC, f)} imports ${i}`));
  assert.equal(bad, []);
});

test('the defaults are read in one place: no other module names IMGSDK_OUTDIR, IMGSDK_STATE_DIR, imgsdk.out or .imgsdk as a default', () => {
  const all: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.ts')) all.push(join(dir, e.name));
    }
  };
  walk(SRC);
  const bad = all
    .filter((f) => relative(SRC, f) !== 'defaults.ts')
    .flatMap((f) => readFileSync(f, 'utf8').split('\n').map((l, n) => [f, n + 1, l] as const))
    .filter(([, , l]) => !/^\s*(\*|\/\/|--|-[a-z],)/.test(l) && !/^\s+-/.test(l) && /process\.env\.IMGSDK_(OUTDIR|STATE_DIR)|\?\?\s*'(imgsdk\.out|\.imgsdk)'/.test(l))
    .map(([f, n, l]) => `${relative(SRC, f)}:${n}: ${l.trim()}`);
  assert.equal(bad, []);
});

test.run();
