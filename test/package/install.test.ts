/**
 * A user's install, for real: `npm pack` this repository, `npm install` the tarball
 * into a fresh project (its dependencies from the registry, or npm's cache), and
 * `npx imgsdk synth` a small images.ts there. ts-node is not installed with it: imgsdk
 * compiles images.ts with its own TypeScript, so nothing at run time needs it.
 * Needs network to the npm registry the first time (npm's cache afterwards).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = resolve(__dirname, '..', '..');
const NPM_CLI = join(process.execPath, '..', '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');

function npm(args: readonly string[], cwd: string): string {
  const cmd = existsSync(NPM_CLI) ? ([process.execPath, [NPM_CLI, ...args]] as const) : (['npm', args] as const);
  const r = spawnSync(cmd[0], [...cmd[1]], {
    cwd,
    encoding: 'utf8',
    timeout: 600_000,
    env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' },
  });
  assert.is(r.status, 0, `npm ${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

let work: string;

test.before(() => {
  work = mkdtempSync(join(tmpdir(), 'imgsdk-install-'));
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test('ts-node is a devDependency only: nothing imgsdk runs needs it', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  assert.not.ok('ts-node' in pkg.dependencies);
  assert.ok('ts-node' in pkg.devDependencies, 'the tests run under it');
  assert.ok('typescript' in pkg.dependencies, 'imgsdk compiles images.ts with its own TypeScript');
});

test('a project that installs the packed tarball runs `npx imgsdk synth` without ts-node', () => {
  const out = npm(['pack', '--json', '--pack-destination', work], ROOT);
  const [packed] = JSON.parse(out.slice(out.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  assert.ok(packed.files.some((f) => f.path === 'dist/index.js'));
  assert.ok(packed.files.some((f) => f.path.startsWith('src/runtime/phase1/scripts/')));

  const proj = join(work, 'project');
  npm(['init', '-y'], (spawnSync('mkdir', ['-p', proj]), proj));
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, packed.filename)], proj);
  assert.ok(existsSync(join(proj, 'node_modules', 'imgsdk', 'dist', 'index.js')));
  assert.not.ok(existsSync(join(proj, 'node_modules', 'ts-node')), 'ts-node is not installed with imgsdk');

  writeFileSync(
    join(proj, 'images.ts'),
    [
      "import { debian, image } from 'imgsdk';",
      "const deb = debian.builder('tiny/bookworm', { suite: 'bookworm' });",
      "export const hello = image('tiny/hello').builder(deb).packages('hello').entrypoint('/usr/bin/hello').user('nobody');",
      '',
    ].join('\n'),
  );
  const r = spawnSync(join(proj, 'node_modules', '.bin', 'imgsdk'), ['synth'], {
    cwd: proj,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, IMGSDK_OUTDIR: '', NODE_OPTIONS: '' },
  });
  assert.is(r.status, 0, r.stdout + r.stderr);
  const manifest = JSON.parse(readFileSync(join(proj, 'imgsdk.out', 'manifest.json'), 'utf8')) as { images: Record<string, unknown> };
  assert.equal(Object.keys(manifest.images), ['tiny/hello']);
});

test.run();
