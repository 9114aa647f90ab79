/**
 * `imgsdk synth` end to end on generated apps: 100, 1000 and 5000 images, as a
 * chain (each image `.from` the previous) and as a wide fan (all from one base).
 * Each run is a fresh `node bin/imgsdk.js synth` child process into an empty
 * outdir, so the time includes Node's startup and loading the TypeScript app.
 *
 * Peak memory is the child's max RSS: from `/usr/bin/time -f %M` when it exists,
 * else from a preload hook that writes `process.resourceUsage().maxRSS` at exit.
 *
 * Baselines, measured in the same run on the same machine:
 *  - `node -e ""`: the floor any CLI run pays;
 *  - the 100-image case of the same shape: the fixed cost of a synth (loading
 *    imgsdk, ts-node and TypeScript). `ms/img over 100` is the marginal cost of an
 *    image above that case, (wall(n) - wall(100)) / (n - 100): constant when
 *    growth is linear.
 *
 * Target (issue 2): 1000 images in under 1.5 s, and linear growth.
 * Then one image with 1,000, 10,000 and 30,000 `.file()` calls (`--files 1000,10000`):
 * the CPU time per file stays flat when the cost per file is linear.
 * Arguments: `--sizes 100,1000`, `--repeat N` (default 3; the median is shown).
 * IMGSDK_BENCH_NO_TIME=1 uses the preload hook even where /usr/bin/time exists.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus as cpuList, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median } from './_measure';

const ROOT = resolve(__dirname, '..');
const BIN = join(ROOT, 'bin', 'imgsdk.js');
const TIME = '/usr/bin/time';
const TARGET_MS = 1500;

type Shape = 'chain' | 'fan';

interface Measure {
  readonly wallMs: number;
  /** User + system CPU time of the child: less disturbed than wall time by other load on the machine. */
  readonly cpuMs: number;
  readonly peakMb: number;
}

/** An app of one image with `n` `.file()` calls (issue 20 #14: they were quadratic, 30,000 took 39 s). */
export function generateFilesApp(n: number): string {
  return [
    `import { debian, image } from 'imgsdk';`,
    `const deb = debian.builder('bench/bookworm', { suite: 'bookworm' });`,
    `let img = image('bench/files').builder(deb).packages('libc6');`,
    `for (let i = 0; i < ${n}; i++) img = img.file(\`/etc/files/\${i}.conf\`, \`n=\${i}\\n\`, { mode: 0o640 });`,
    `export const files = img;`,
    '',
  ].join('\n');
}

/** The TypeScript source of an app of `n` images of the given shape. */
export function generateApp(shape: Shape, n: number): string {
  const lines = [
    `import { gentoo, image } from 'imgsdk';`,
    `const bob = gentoo.builder('bench/bob', { stage3: 'amd64-hardened-nomultilib', makeConf: { MAKEOPTS: '-j4' } });`,
    `export const i0 = image('bench/i0').builder(bob).packages('sys-libs/glibc', 'sys-libs/zlib').use('sys-libs/zlib', '+minizip', '-static-libs').file('/etc/i0.conf', 'n=0\\n');`,
  ];
  for (let i = 1; i < n; i++) {
    const parent = shape === 'chain' ? `i${i - 1}` : 'i0';
    lines.push(
      `export const i${i} = image('bench/i${i}').from(${parent})` +
        `.packages('dev-libs/openssl', 'net-misc/curl', '>=app-misc/pkg${i % 50}-1.${i}')` +
        `.use('net-misc/curl', '+ssl', '-ldap', 'http2').use('dev-libs/openssl', '-test')` +
        `.keywords('=app-misc/pkg${i % 50}-1.${i}', '~amd64')` +
        `.file('/etc/i${i}.conf', 'n=${i}\\n', { mode: 0o640 })` +
        `.env('IMAGE', 'i${i}').tag('v${i}');`,
    );
  }
  return lines.join('\n') + '\n';
}

const hasTime =
  !process.env.IMGSDK_BENCH_NO_TIME &&
  existsSync(TIME) &&
  spawnSync(TIME, ['-f', '%M', process.execPath, '-e', ''], { encoding: 'utf8' }).status === 0;

/** Runs `node args…` once as a child process; wall time and peak RSS. */
function measure(args: readonly string[], dir: string, extraEnv: NodeJS.ProcessEnv = {}): Measure {
  const rssFile = join(dir, `rss-${process.hrtime.bigint()}`);
  let cmd: string;
  let argv: string[];
  const env = { ...process.env, ...extraEnv };
  delete env.IMGSDK_OUTDIR;
  if (hasTime) {
    cmd = TIME;
    argv = ['-f', '%M %U %S', '-o', rssFile, process.execPath, ...args];
  } else {
    cmd = process.execPath;
    argv = ['-r', join(__dirname, '_maxrss.js'), ...args];
    env.IMGSDK_BENCH_MAXRSS = rssFile;
  }
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { cwd: dir, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  const [kb, user, sys] = readFileSync(rssFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return { wallMs, cpuMs: (user + sys) * 1000, peakMb: kb / 1024 };
}

function repeat(times: number, fn: () => Measure): Measure {
  const ms: Measure[] = [];
  for (let i = 0; i < times; i++) ms.push(fn());
  return { wallMs: median(ms.map((m) => m.wallMs)), cpuMs: median(ms.map((m) => m.cpuMs)), peakMb: Math.max(...ms.map((m) => m.peakMb)) };
}

function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export async function run(args: readonly string[] = []): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is not built: run `npx tsc -p .` (npm run bench does)');
  const sizes = (option(args, '--sizes') ?? '100,1000,5000').split(',').map(Number);
  const times = Number(option(args, '--repeat') ?? 3);
  const load = loadAverage();
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-bench-'));
  try {
    const node = repeat(times, () => measure(['-e', ''], dir));
    const rows: Row[] = [];
    for (const cache of ['cold', 'warm'] as const) {
      for (const shape of ['chain', 'fan'] as const) {
        for (const n of sizes) {
          const app = join(dir, `${shape}-${n}.ts`);
          writeFileSync(app, generateApp(shape, n));
          let k = 0;
          // cold: a new transpile cache every run, so the TypeScript compiler loads and compiles the app;
          // warm: the app was loaded once before, as on every deploy after the first.
          const env = () => ({ IMGSDK_CACHE_DIR: join(dir, cache === 'cold' ? `tscache-${k}` : 'tscache-warm') });
          const synth = () => measure([BIN, 'synth', '--app', app, '-o', join(dir, `out-${shape}-${n}-${k++}`), '-q'], dir, env());
          if (cache === 'warm') synth();
          rows.push({ shape: `${shape}/${cache}`, n, m: repeat(times, synth) });
        }
      }
    }
    print(node, rows, times, load);
    const fileSizes = (option(args, '--files') ?? '1000,10000,30000').split(',').map(Number);
    const files: Row[] = [];
    for (const n of fileSizes) {
      const app = join(dir, `files-${n}.ts`);
      writeFileSync(app, generateFilesApp(n));
      let k = 0;
      const env = { IMGSDK_CACHE_DIR: join(dir, 'tscache-files') };
      const synth = () => measure([BIN, 'synth', '--app', app, '-o', join(dir, `out-files-${n}-${k++}`), '-q'], dir, env);
      synth();
      files.push({ shape: 'files', n, m: repeat(Math.min(times, 2), synth) });
    }
    printFiles(files);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Row {
  readonly shape: string;
  readonly n: number;
  readonly m: Measure;
}

function print(node: Measure, rows: readonly Row[], times: number, load: string | null): void {
  const out: string[] = [];
  out.push(
    `node ${process.version}, ${hasTime ? '/usr/bin/time -f %M' : 'process.resourceUsage().maxRSS'} for peak RSS, median of ${times} run(s)`,
  );
  out.push(`baseline: node -e "" = ${node.wallMs.toFixed(0)} ms wall, ${node.cpuMs.toFixed(0)} ms CPU, ${node.peakMb.toFixed(0)} MB`);
  if (load !== null) out.push(`load average before the run: ${load} (${cpus()} CPUs; other work on the machine inflates wall times)`);
  const head = ['shape', 'n', 'wall ms', 'cpu ms', 'peak MB', 'ms/img', 'x node', 'x n=100', 'ms/img over 100'];
  const table: string[][] = [head];
  for (const r of rows) {
    const base = rows.find((x) => x.shape === r.shape && x.n === 100);
    const over = base && r.n > 100 ? ((r.m.wallMs - base.m.wallMs) / (r.n - 100)).toFixed(3) : '-';
    table.push([
      r.shape,
      String(r.n),
      r.m.wallMs.toFixed(0),
      r.m.cpuMs.toFixed(0),
      r.m.peakMb.toFixed(0),
      (r.m.wallMs / r.n).toFixed(3),
      (r.m.wallMs / node.wallMs).toFixed(1),
      base ? (r.m.wallMs / base.m.wallMs).toFixed(2) : '-',
      over,
    ]);
  }
  const w = head.map((_, i) => Math.max(...table.map((r) => r[i].length)));
  for (const r of table) out.push(r.map((c, i) => (i < 1 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  '));
  for (const shape of [...new Set(rows.map((r) => r.shape))]) {
    const at = (n: number) => rows.find((r) => r.shape === shape && r.n === n)?.m.wallMs;
    const [w100, w1000, w5000] = [at(100), at(1000), at(5000)];
    if (w1000 !== undefined)
      out.push(`${shape}: 1000 images in ${w1000.toFixed(0)} ms: ${w1000 < TARGET_MS ? 'within' : 'OVER'} the ${TARGET_MS} ms target`);
    if (w100 !== undefined && w1000 !== undefined && w5000 !== undefined) {
      const a = (w1000 - w100) / 900;
      const b = (w5000 - w1000) / 4000;
      out.push(`${shape}: marginal ms/img 100→1000 ${a.toFixed(3)}, 1000→5000 ${b.toFixed(3)} (ratio ${(b / a).toFixed(2)}; ~1 is linear)`);
    }
  }
  process.stdout.write(out.join('\n') + '\n');
}

/** One image with n `.file()`s: wall and CPU per file, and the marginal cost per file between sizes (about 1 is linear). */
function printFiles(rows: readonly Row[]): void {
  const out = [
    '',
    'one image, n .file() calls (synth into an empty outdir, warm transpile cache):',
    'n       wall ms  cpu ms  peak MB  cpu ms/file',
  ];
  for (const r of rows)
    out.push(
      `${String(r.n).padEnd(7)} ${r.m.wallMs.toFixed(0).padStart(7)} ${r.m.cpuMs.toFixed(0).padStart(7)} ${r.m.peakMb.toFixed(0).padStart(8)}  ${(r.m.cpuMs / r.n).toFixed(3)}`,
    );
  for (let i = 2; i < rows.length; i++) {
    const [a, b, c] = [rows[i - 2], rows[i - 1], rows[i]];
    const first = (b.m.cpuMs - a.m.cpuMs) / (b.n - a.n);
    const second = (c.m.cpuMs - b.m.cpuMs) / (c.n - b.n);
    out.push(
      `marginal cpu ms/file ${a.n}→${b.n} ${first.toFixed(3)}, ${b.n}→${c.n} ${second.toFixed(3)} (ratio ${(second / first).toFixed(2)}; ~1 is linear, quadratic grows with n)`,
    );
  }
  process.stdout.write(out.join('\n') + '\n');
}

const cpus = (): number => cpuList().length;

function loadAverage(): string | null {
  const l = loadavg();
  return l[0] === 0 && l[1] === 0 ? null : l.map((x) => x.toFixed(2)).join(' ');
}
