/**
 * Directory sources (`.dir()`) against a Dockerfile's `COPY tree/ /app/`, measured in
 * the same run on the same engine, for a generated tree of 1,000 and of 20,000 files
 * (100 files a directory, ~200 bytes each):
 *
 * - cold add: the first deploy of an image that adds the tree over a cached base
 *   (`imgsdk deploy`), vs `docker build --no-cache` of `FROM <that base>` + `COPY`.
 * - one-file edit: one file of the tree changed, then redeploy vs `docker build`
 *   (its cache hits `FROM`, misses the `COPY`). Median of REPEAT, taken in turns.
 *
 * Both sides start from the same base image, made by imgsdk (coreutils on Debian),
 * so the figures compare only what adding the tree costs. Per-file cost: the cold
 * time per file at 20,000 over that at 1,000 (about 1 when growth is linear).
 * Goal (issue 18): edit <= 1.0x, and no per-file cost growing worse than linearly.
 *
 * Needs a Docker engine, mmdebstrap and the network to Debian's archive.
 * Arguments: `--sizes 1000,20000`, `--repeat N` (default 3).
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median, timeMs } from './_measure';

const ROOT = resolve(__dirname, '..');
const BIN = join(ROOT, 'bin', 'imgsdk.js');
/** This run's own names, so benches on a shared engine do not meet. */
const NS = `imgsdk-bench-dirs-${process.pid}`;

function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function option(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** n files of ~200 bytes, 100 to a directory, whose content names `salt`. */
function generateTree(dir: string, n: number, salt: string): void {
  for (let i = 0; i < n; i++) {
    const sub = join(dir, `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}.js`), `// ${salt} file ${i}\nmodule.exports = ${i};\n// ${'x'.repeat(150)}\n`);
  }
}

function imagesTs(sizes: readonly number[], work: string): string {
  return [
    `import { app, debian, image } from 'imgsdk';`,
    // The repository's own builder definition: the builder image is shared with images.ts.
    `const bookworm = debian.builder('imgsdk/bookworm', { suite: 'bookworm' });`,
    `export const base = image('${NS}/base').builder(bookworm).packages('coreutils');`,
    ...sizes.map(
      (n) =>
        `export const app${n} = image('${NS}/app${n}').from(base).dir('/app', { src: ${JSON.stringify(join(work, `ctx-${n}`, 'tree'))} }).user('nobody').entrypoint('/usr/bin/cat', '/app/d0/f0.js');`,
    ),
    `export default app(base, ${sizes.map((n) => `app${n}`).join(', ')});`,
    '',
  ].join('\n');
}

export async function run(args: readonly string[] = []): Promise<void> {
  const sizes = (option(args, '--sizes') ?? '1000,20000').split(',').map(Number);
  const repeat = Number(option(args, '--repeat') ?? 3);
  const work = mkdtempSync(join(tmpdir(), 'imgsdk-bench-dirs-'));
  const env = { ...process.env, DOCKER_BUILDKIT: '0' };
  const deploy = (only?: string) =>
    sh(process.execPath, [BIN, 'deploy', '--app', join(work, 'images.ts'), '--state', join(work, 'state'), '-q', ...(only ? [only] : [])], {
      cwd: work,
    });
  try {
    for (const n of sizes) {
      const ctx = join(work, `ctx-${n}`);
      mkdirSync(join(ctx, 'tree'), { recursive: true });
      writeFileSync(
        join(ctx, 'Dockerfile'),
        `FROM ${NS}/base:latest\nCOPY tree/ /app/\nUSER 65534\nENTRYPOINT ["/usr/bin/cat", "/app/d0/f0.js"]\n`,
      );
    }
    writeFileSync(join(work, 'images.ts'), imagesTs(sizes, work));
    process.stdout.write('deploying the base once (creates the builder if needed)…\n');
    deploy(`${NS}/base`);

    const rows: string[] = [];
    const perFile: Record<number, { ours: number; docker: number }> = {};
    for (const n of sizes) {
      const ctx = join(work, `ctx-${n}`);
      generateTree(join(ctx, 'tree'), n, `${process.pid}`);
      const cold = timeMs(() => deploy(`${NS}/app${n}`));
      const coldDocker = timeMs(() => sh('docker', ['build', '-q', '--no-cache', '-t', `${NS}/docker${n}`, '.'], { cwd: ctx, env }));
      perFile[n] = { ours: cold / n, docker: coldDocker / n };
      const edits: number[] = [];
      const dockerEdits: number[] = [];
      for (let i = 0; i < repeat; i++) {
        appendFileSync(join(ctx, 'tree', 'd0', 'f1.js'), `// edit ${i}\n`);
        edits.push(timeMs(() => deploy(`${NS}/app${n}`)));
        dockerEdits.push(timeMs(() => sh('docker', ['build', '-q', '-t', `${NS}/docker${n}`, '.'], { cwd: ctx, env })));
      }
      const edit = median(edits);
      const dockerEdit = median(dockerEdits);
      rows.push(
        `| ${n.toLocaleString('en')} files: cold add vs \`docker build --no-cache\` (COPY) | ${(cold / 1000).toFixed(1)} s | ${(coldDocker / 1000).toFixed(1)} s | ${(cold / coldDocker).toFixed(2)}x time | reported |`,
      );
      rows.push(
        `| ${n.toLocaleString('en')} files: one-file edit redeploy vs \`docker build\` (COPY rebuilt) | ${(edit / 1000).toFixed(1)} s | ${(dockerEdit / 1000).toFixed(1)} s | ${(edit / dockerEdit).toFixed(2)}x time | <= 1.00x |`,
      );
    }
    const [small, large] = [Math.min(...sizes), Math.max(...sizes)];
    if (small !== large) {
      const r = perFile[large].ours / perFile[small].ours;
      rows.push(
        `| cold ms per file, ${large.toLocaleString('en')} over ${small.toLocaleString('en')} files | ${perFile[large].ours.toFixed(2)} / ${perFile[small].ours.toFixed(2)} ms | ${perFile[large].docker.toFixed(2)} / ${perFile[small].docker.toFixed(2)} ms | ${r.toFixed(2)}x (docker ${(perFile[large].docker / perFile[small].docker).toFixed(2)}x) | about 1 or less: linear |`,
      );
    }
    process.stdout.write(
      [
        '',
        '| measure | imgsdk | docker build | ratio | target |',
        '|---|---|---|---|---|',
        ...rows,
        `(edits: median of ${repeat}, taken in turns; machine load ${loadavg()[0].toFixed(2)})`,
        '',
      ].join('\n'),
    );
  } finally {
    const tags = sh('docker', ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'])
      .split('\n')
      .filter((t) => t.startsWith(`${NS}/`));
    if (tags.length) spawnSync('docker', ['rmi', '-f', ...tags]);
    rmSync(work, { recursive: true, force: true });
  }
}
