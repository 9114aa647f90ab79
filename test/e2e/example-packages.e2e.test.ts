/**
 * Every Debian package name the examples use or show (their images, JSDoc examples and
 * READMEs, and the repository's README) exists in bookworm: a name a newcomer copies
 * from a doc must not cost a failed deploy. Asked of the builder's apt index, in one
 * container.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureDebianBuilder } from '../../src/runtime/phase1/builders/debian';
import { engineFromDocker } from '../../src/runtime/engine/docker';
import { bookworm } from './_app';
import { engineOrSkip } from '../_kit/engine';
import { EXAMPLES, runOnce } from './_examples';

const ROOT = resolve(__dirname, '..', '..');
// A Debian package name (Policy 5.6.1); Portage atoms have a category (`/`) or an operator.
const DEBIAN_NAME = /^[a-z0-9][a-z0-9+.-]+$/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (n === 'node_modules' || n.startsWith('.')) return [];
    return statSync(p).isDirectory() ? files(p) : /\.(ts|md)$/.test(n) ? [p] : [];
  });
}

/** Debian names in `.packages(…)` calls of the examples and the README, with where each is. */
function namesUsed(): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of [...files(EXAMPLES), join(ROOT, 'README.md')]) {
    for (const call of readFileSync(f, 'utf8').matchAll(/\.packages\(([^)]*)\)/g)) {
      for (const [, name] of call[1].matchAll(/['"`]([^'"`]+)['"`]/g))
        if (DEBIAN_NAME.test(name) && !out.has(name)) out.set(name, relative(ROOT, f));
    }
  }
  return out;
}

test('every Debian package the examples and the README name exists in bookworm', async () => {
  const names = namesUsed();
  assert.ok(names.size >= 10, `found only ${[...names.keys()]}`);
  const docker = await engineOrSkip();
  if (!docker) return;
  const ref = await ensureDebianBuilder(engineFromDocker(docker), bookworm.def);
  const script =
    'apt-get update -q >/dev/null && while read -r p; do apt-cache show --no-all-versions "$p" >/dev/null 2>&1 || echo "$p"; done';
  const r = await runOnce(docker, ref, {
    entrypoint: ['/bin/sh', '-c', script],
    stdin: [...names.keys()].join('\n') + '\n',
    timeoutMs: 300_000,
  });
  assert.is(r.code, 0, r.stderr);
  const missing = r.stdout
    .split('\n')
    .filter(Boolean)
    .map((p) => `${p} (${names.get(p)})`);
  assert.equal(missing, [], `not in bookworm: ${missing.join(', ')}`);
});

test.run();
