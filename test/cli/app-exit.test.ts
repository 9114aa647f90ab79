import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

// What images.ts does to the process it is loaded into: end it, or keep it alive.
const ROOT = resolve(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'imgsdk.js');
const IMAGE = `import { debian, image } from 'imgsdk';\nexport const web = image('acme/web').builder(debian.builder('acme/bookworm', { suite: 'bookworm' })).packages('hello');\n`;

function synth(body: string): { code: number | null; stdout: string; stderr: string; app: string; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-app-exit-'));
  const app = join(dir, 'images.ts');
  writeFileSync(app, IMAGE + body);
  const out = join(dir, 'out');
  const r = spawnSync(process.execPath, [BIN, 'synth', '--app', app, '-o', out], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  const res = { code: r.status, stdout: r.stdout, stderr: r.stderr, app, out: existsSync(join(out, 'manifest.json')) ? out : '' };
  rmSync(dir, { recursive: true, force: true });
  return res;
}

test('process.exit(0) at the top of images.ts is a load error naming the file, not a silent success', () => {
  for (const call of ['process.exit(0);', 'process.exit();', 'try { process.exit(0); } catch {}']) {
    const r = synth(`${call}\n`);
    assert.is(r.code, 1, `${call}: ${r.stderr}`);
    assert.is(r.stdout, '');
    assert.match(r.stderr, `imgsdk synth: ${r.app} called process.exit(0) while it was loaded`);
    assert.is(r.out, '', 'no assembly written');
  }
});

test('process.exit(0) from a callback of images.ts before the command finished fails the command, saying so', () => {
  const r = synth('void import("node:fs/promises").then(() => process.exit(0));\nsetImmediate(() => process.exit(0));\n');
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /ended by process\.exit\(0\) before the command finished/);
});

test('a timer images.ts leaves pending does not keep the CLI alive after its work is done', () => {
  const r = synth('setInterval(() => undefined, 1000);\nsetTimeout(() => undefined, 3_600_000);\n');
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^synthesized 1 image in 1 level to /);
});

test.run();
