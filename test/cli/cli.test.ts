import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

// The built CLI, as users run it (`npm test` compiles dist/ first).
const ROOT = resolve(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'imgsdk.js');
const APP = join(ROOT, 'test', 'fixtures', 'app.ts');
const TEN = join(ROOT, 'test', 'fixtures', 'ten-mistakes.ts');

function run(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const env = { ...process.env, ...opts.env };
  delete env.IMGSDK_OUTDIR;
  if (opts.env?.IMGSDK_OUTDIR) env.IMGSDK_OUTDIR = opts.env.IMGSDK_OUTDIR;
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tmp = () => mkdtempSync(join(tmpdir(), 'imgsdk-cli-'));
const noStack = (s: string) => assert.not.match(s, /^\s+at .+:\d+:\d+\)?$/m, `stack trace in output:\n${s}`);

test.before(() => {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is not built: run `npx tsc -p .` (npm test does)');
});

test('synth on the fixture app exits 0, says what it wrote and writes the manifest', () => {
  const out = tmp();
  const r = run(['synth', '--app', APP, '-o', out]);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, `synthesized 4 images in 3 levels to ${out}\n`);
  assert.is(r.stderr, '');
  const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  assert.equal(Object.keys(m.images), ['acme/tools', 'acme/web', 'kubler/glibc', 'mynamespace/nmap']);
});

test('synth prints a warning on stderr, says how to pin, and still exits 0 having written the assembly; -q keeps the warning', () => {
  const out = tmp();
  const app = join(ROOT, 'test', 'fixtures', 'keywords-warning.ts');
  const r = run(['synth', '--app', app, '-o', out]);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, `synthesized 1 image in 1 level to ${out}\n`);
  assert.match(
    r.stderr,
    /^imgsdk synth: warning: test\/fixtures\/keywords-warning\.ts:9 mynamespace\/nmap: \.keywords\("=net-analyzer\/nmap-7\.60"\) does not pin net-analyzer\/nmap: .* To pin it, put "=net-analyzer\/nmap-7\.60" in \.packages\(\)\n$/,
  );
  assert.ok(existsSync(join(out, 'manifest.json')));
  const q = run(['synth', '--app', app, '-o', out, '-q']);
  assert.equal([q.code, q.stdout, q.stderr], [0, '', r.stderr]);
});

test('synth twice gives the same manifest bytes; -q prints nothing', () => {
  const out = tmp();
  assert.is(run(['synth', '--app', APP, '-o', out]).code, 0);
  const first = readFileSync(join(out, 'manifest.json'));
  const r = run(['synth', '--app', APP, '--out', out, '-q']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, '');
  assert.ok(readFileSync(join(out, 'manifest.json')).equals(first));
});

test('synth --json prints the manifest as JSON', () => {
  const r = run(['synth', '--app', APP, '-o', tmp(), '--json']);
  assert.is(r.code, 0, r.stderr);
  const m = JSON.parse(r.stdout);
  assert.is(m.version, '1.0.0');
  assert.equal(m.images['acme/tools'].dependsOn, ['acme/web', 'mynamespace/nmap']);
});

test('synth writes to $IMGSDK_OUTDIR when no -o is given, and -o wins over it', () => {
  const dir = tmp();
  const r = run(['synth', '--app', APP], { cwd: dir, env: { IMGSDK_OUTDIR: join(dir, 'env-out') } });
  assert.is(r.code, 0, r.stderr);
  assert.ok(existsSync(join(dir, 'env-out', 'manifest.json')));
  assert.not.ok(existsSync(join(dir, 'imgsdk.out')));
  assert.is(run(['synth', '--app', APP, '-o', join(dir, 'flag-out')], { cwd: dir, env: { IMGSDK_OUTDIR: join(dir, 'env-out2') } }).code, 0);
  assert.ok(existsSync(join(dir, 'flag-out', 'manifest.json')));
  assert.not.ok(existsSync(join(dir, 'env-out2')));
});

test('synth defaults to imgsdk.out beside the app, whatever the working directory', () => {
  const dir = tmp();
  copyFileSync(APP, join(dir, 'images.ts'));
  mkdirSync(join(dir, 'elsewhere'));
  assert.is(run(['synth', '-q'], { cwd: dir }).code, 0);
  assert.ok(existsSync(join(dir, 'imgsdk.out', 'manifest.json')));
  const before = readFileSync(join(dir, 'imgsdk.out', 'manifest.json'), 'utf8');
  const r = run(['synth', '--app', '..'], { cwd: join(dir, 'elsewhere') });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, `to ${join(dir, 'imgsdk.out')}\n`);
  assert.not.ok(existsSync(join(dir, 'elsewhere', 'imgsdk.out')), 'nothing in the working directory');
  assert.is(readFileSync(join(dir, 'imgsdk.out', 'manifest.json'), 'utf8'), before);
});

test('a file with ten different mistakes: one run, exit 1, ten lines naming file, line and image, no stack', () => {
  const out = tmp();
  const r = run(['synth', '--app', 'test/fixtures/ten-mistakes.ts', '-o', out]);
  assert.is(r.code, 1);
  assert.is(r.stdout, '');
  noStack(r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.is(lines[0], 'imgsdk synth: 10 problems in the image definitions:');
  const problems = lines.slice(1).map((l) => /^test\/fixtures\/ten-mistakes\.ts:(\d+) (acme\/m\d+): (.+)$/.exec(l));
  assert.is(problems.length, 10, r.stderr);
  for (const [i, p] of problems.entries()) {
    assert.ok(p, `not a problem line: ${lines[i + 1]}`);
    assert.is(Number(p![1]), 7 + i, lines[i + 1]);
    assert.is(p![2], `acme/m${i + 1}`, lines[i + 1]);
  }
  // Ten different kinds of mistake: no two messages alike once names are left out.
  const kinds = new Set(problems.map((p) => p![3].replace(/"[^"]*"/g, '""').replace(/-?\d+/g, 'N')));
  assert.is(kinds.size, 10);
  assert.not.ok(existsSync(join(out, 'manifest.json')));
  // The source file itself says which lines hold the mistakes.
  const src = readFileSync(TEN, 'utf8').split('\n');
  assert.match(src[6], /export const m1 /);
  assert.match(src[15], /export const m10 /);
});

test('ls and graph report the same problems with exit 1', () => {
  for (const args of [['ls'], ['graph']]) {
    const r = run([...args, '--app', TEN]);
    assert.is(r.code, 1, args.join(' '));
    noStack(r.stderr);
    assert.is(r.stderr.match(/ten-mistakes\.ts:\d+ acme\/m\d+: /g)?.length, 10);
  }
});

test('ls prints a table of images, and --json rows that parse', () => {
  const r = run(['ls', '--app', APP]);
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^ID\s+PARENT\s+BUILDER\s+KEY$/);
  assert.match(lines[1], /^acme\/tools\s+acme\/web\s+acme\/bookworm\s+[0-9a-f]{12}$/);
  assert.is(lines.length, 5);
  const j = run(['ls', '--app', APP, '--json']);
  assert.is(j.code, 0, j.stderr);
  const rows = JSON.parse(j.stdout) as { id: string; parent: string }[];
  assert.equal(
    rows.map((x) => [x.id, x.parent]),
    [
      ['acme/tools', 'acme/web'],
      ['acme/web', 'scratch'],
      ['kubler/glibc', 'scratch'],
      ['mynamespace/nmap', 'kubler/glibc'],
    ],
  );
});

test('graph prints dot by default, with builders, images and labelled edges', () => {
  const r = run(['graph', '--app', APP]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^digraph imgsdk \{\n/);
  assert.match(r.stdout, /\n\}\n$/);
  assert.ok(r.stdout.includes('"builder:kubler/bob" [shape=box];'));
  assert.ok(r.stdout.includes('"kubler/glibc" -> "mynamespace/nmap" [label="parent"];'));
  assert.ok(r.stdout.includes('"mynamespace/nmap" -> "acme/tools" [label="copy"];'));
  assert.ok(r.stdout.includes('"builder:acme/bookworm" -> "acme/web" [label="builder"];'));
  assert.is(run(['graph', '--app', APP, '--format', 'dot']).stdout, r.stdout);
});

test('graph --format mermaid prints a mermaid flowchart', () => {
  const r = run(['graph', '--app', APP, '--format', 'mermaid']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^graph LR\n/);
  assert.match(r.stdout, /^ {2}n\d+\["builder:kubler\/bob"\]$/m);
  assert.match(r.stdout, /^ {2}n\d+\("acme\/tools"\)$/m);
  assert.is(r.stdout.match(/-->\|copy\|/g)?.length, 1);
  assert.is(r.stdout.match(/-->\|parent\|/g)?.length, 2);
});

test('graph --format json lists the levels in build order and the key synth gives each image', () => {
  const r = run(['graph', '--app', APP, '--format', 'json']);
  assert.is(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout) as {
    version: number;
    levels: string[][];
    images: Record<string, { level: number; key: string; parent: string | null; dependsOn: string[] }>;
    builders: Record<string, { key: string }>;
  };
  assert.is(plan.version, 1);
  assert.equal(plan.levels, [['acme/web', 'kubler/glibc'], ['mynamespace/nmap'], ['acme/tools']]);
  // Each image's dependencies sit on earlier levels.
  for (const [id, img] of Object.entries(plan.images)) {
    assert.is(plan.levels[img.level].includes(id), true, id);
    for (const d of img.dependsOn) assert.ok(plan.images[d].level < img.level, `${d} before ${id}`);
  }
  assert.equal(plan.images['acme/tools'].dependsOn, ['acme/web', 'mynamespace/nmap']);
  // The keys are the ones synth writes to the manifest (and deploy builds and caches by).
  const out = tmp();
  assert.is(run(['synth', '--app', APP, '-o', out]).code, 0);
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
    images: Record<string, { key: string }>;
    builders: Record<string, { key: string }>;
  };
  for (const id of Object.keys(manifest.images)) assert.is(plan.images[id].key, manifest.images[id].key, id);
  for (const id of Object.keys(manifest.builders)) assert.is(plan.builders[id].key, manifest.builders[id].key, id);
  assert.is(run(['graph', '--app', APP, '--format', 'json']).stdout, r.stdout, 'the same bytes every time');
});

test('an unknown command exits 2 with the usage on stderr', () => {
  const r = run(['frobnicate']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /^imgsdk: unknown command "frobnicate"\n/);
  assert.match(r.stderr, /Usage: imgsdk <command>/);
  assert.is(r.stdout, '');
});

test('a bad flag or flag value exits 2 with one line, no stack', () => {
  for (const args of [
    ['synth', '--bogus'],
    ['ls', '--app'],
    ['graph', '--app', APP, '--format', 'svg'],
    ['synth', 'extra-positional'],
  ]) {
    const r = run(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    noStack(r.stderr);
    assert.match(r.stderr, new RegExp(`^imgsdk ${args[0]}: .+\\n$`), r.stderr);
  }
});

test('a missing app exits 2 and says how to give one', () => {
  const r = run(['synth'], { cwd: tmp() });
  assert.is(r.code, 2);
  assert.match(r.stderr, /no app at .*images\.ts: pass --app FILE\|DIR or create images\.ts/);
});

test('an app that fails to load exits 1 and names the file', () => {
  const r = run(['synth', '--app', join(ROOT, 'test', 'fixtures', 'does-not-load.ts'), '-o', tmp()]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /does-not-load\.ts failed to load: Error: this app does not load/);
});

test('--version prints the package version; --help prints the usage and exits 0', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = run([flag]);
    assert.is(r.code, 0);
    assert.is(r.stdout, `${pkg.version}\n`);
  }
  for (const flag of ['--help', '-h', 'help']) {
    const r = run([flag]);
    assert.is(r.code, 0);
    assert.match(r.stdout, /^imgsdk: /);
    assert.match(r.stdout, /Usage: imgsdk <command> \[options\]/);
    for (const cmd of ['synth', 'ls', 'graph']) assert.match(r.stdout, new RegExp(`^imgsdk ${cmd} `, 'm'));
    assert.match(r.stdout, /Exit codes: 0 ok, 1 error, 2 usage, 75 retryable \(node\)\./);
    assert.match(r.stdout, /^imgsdk node IMAGE /m);
  }
  const none = run([]);
  assert.is(none.code, 2);
  assert.match(none.stdout, /Usage: imgsdk/);
});

test('every command takes --help (or -h): its own usage on stdout, exit 0, nothing else run', () => {
  for (const cmd of ['synth', 'ls', 'graph', 'deploy', 'diff', 'clean', 'shell', 'update', 'lock', 'outdated']) {
    for (const flag of ['--help', '-h']) {
      const r = run([cmd, flag], { cwd: tmp() });
      assert.is(r.code, 0, `${cmd} ${flag}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^imgsdk ${cmd} `), `${cmd} ${flag}`);
      assert.is(r.stderr, '');
    }
  }
  assert.match(run(['outdated', '--help']).stdout, /Exit 0 when the lock is up to date, 3 when something is outdated/);
  assert.match(run(['deploy', '--help']).stdout, /--frozen-lock/);
});

test('deploy takes -q like synth; with --json or --verbose it is a usage error, before any work', () => {
  assert.match(run(['deploy', '--help']).stdout, /^ {2}-q, --quiet {8}print nothing on success but warnings/m);
  for (const extra of ['--json', '-v']) {
    const r = run(['deploy', '-q', extra, '--app', APP, '-o', join(tmp(), 'out')]);
    assert.is(r.code, 2, r.stderr);
    assert.is(r.stderr, 'imgsdk deploy: -q prints nothing on success: it takes no --json or --verbose\n');
  }
});

test('clean from another working directory cleans the state directory beside the app', () => {
  const dir = tmp();
  copyFileSync(APP, join(dir, 'images.ts'));
  mkdirSync(join(dir, '.imgsdk'));
  mkdirSync(join(dir, 'scripts'));
  const r = run(['clean', '--app', '..', '--state-only', '--dry-run'], { cwd: join(dir, 'scripts') });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, `directory ${join(dir, '.imgsdk')}\n`);
});

test('deploy --frozen-lock without a lock fails before any build, naming each image the lock lacks, Debian and Gentoo', () => {
  const dir = tmp();
  const r = run([
    'deploy',
    '--app',
    APP,
    '--frozen-lock',
    '--lock',
    join(dir, 'imgsdk.lock'),
    '-o',
    join(dir, 'out'),
    '--state',
    join(dir, 'state'),
  ]);
  assert.is(r.code, 1, r.stderr);
  noStack(r.stderr);
  assert.match(
    r.stderr,
    /imgsdk deploy: .*imgsdk\.lock does not have what the app installs \(--frozen-lock\):\n {2}acme\/web: acme\/web is not in the lock\n {2}kubler\/glibc: kubler\/glibc is not in the lock\n {2}mynamespace\/nmap: mynamespace\/nmap is not in the lock\nrun `imgsdk lock` and commit imgsdk\.lock\n$/,
  );
  assert.not.ok(existsSync(join(dir, 'out', 'manifest.json')), 'nothing was synthesized');
});

test('deploy --frozen-lock with an assembly dir is a usage error: the assembly already holds its locked versions', () => {
  const out = tmp();
  assert.is(run(['synth', '--app', APP, '-o', out, '-q']).code, 0);
  const r = run(['deploy', '--app', out, '--frozen-lock']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /--lock and --frozen-lock apply to an app/);
});

test.run();
