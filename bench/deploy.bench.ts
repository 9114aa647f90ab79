/**
 * Deploy benchmarks, each a ratio against a baseline measured in the same run:
 *
 * 1. no-op deploy of images.ts (everything cached) vs `docker build` of equivalent
 *    Dockerfiles with a warm cache. Target: at most 1.0x.
 * 1b. config edit: a comment appended to config/nginx.conf, then deploy (the phase-1
 *    rootfs is cached: pipeline and phase 2 only, no container) vs the same edit to
 *    the Dockerfile's nginx.conf, `COPY`ed after its `RUN apt-get install`, rebuilt.
 *    Target: at most 1.0x.
 * 2. layer writing (tar + gzip -6 in Node, from the blob store) vs `tar -c | gzip -6`
 *    of the same rootfs unpacked in a directory. Target: at least 0.8x throughput.
 * 3. cold build of the nginx image (builder present, state and images removed) vs a
 *    multi-stage Dockerfile doing the same apt install with `--no-cache`. Reported.
 *
 * Needs a Docker engine, mmdebstrap and the network to Debian's archive; the repo's
 * images.ts is deployed first (that also creates the builder image).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createWriteStream } from 'node:fs';
import { readAssembly } from '../src/contract/read';
import { builderRef } from '../src/runtime/phase1/builders/debian';
import { writeLayer } from '../src/runtime/image/layer';
import type { Entry } from '../src/runtime/store/entry';
import { StateDir } from '../src/runtime/store/state';
import { median, timeMs } from './_measure';

const ROOT = resolve(__dirname, '..');
const BIN = join(ROOT, 'bin', 'imgsdk.js');
const REPEAT = 5;
/** The baseline's tags: this run's own, so benches on a shared engine do not meet. */
const TAG = `imgsdk-bench-${process.pid}`;
const CONF = join(ROOT, 'config', 'nginx.conf');

function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): void {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
}

function dockerfiles(dir: string, builder: string): void {
  // The same two images as images.ts: a base with the account, nginx on top.
  writeFileSync(join(dir, 'base.Dockerfile'), ['FROM scratch', 'COPY passwd group /etc/', ''].join('\n'));
  writeFileSync(join(dir, 'passwd'), 'root:x:0:0:root:/root:/sbin/nologin\nweb:x:10001:10001::/nonexistent:/sbin/nologin\n');
  writeFileSync(join(dir, 'group'), 'root:x:0:\nweb:x:10001:\n');
  writeFileSync(
    join(dir, 'nginx.Dockerfile'),
    [
      `FROM ${builder} AS build`,
      'RUN apt-get update -q && apt-get install -y -q --no-install-recommends nginx-light && rm -rf /var/lib/apt/lists/*',
      `FROM ${TAG}/base`,
      'COPY --from=build /usr/sbin/nginx /usr/sbin/nginx',
      'COPY --from=build /usr/lib/nginx /usr/lib/nginx',
      'COPY --from=build /usr/lib/x86_64-linux-gnu/libc.so.6 /usr/lib/x86_64-linux-gnu/libcrypt.so.1 /usr/lib/x86_64-linux-gnu/libpcre2-8.so.0 /usr/lib/x86_64-linux-gnu/libssl.so.3 /usr/lib/x86_64-linux-gnu/libcrypto.so.3 /usr/lib/x86_64-linux-gnu/libz.so.1 /usr/lib/x86_64-linux-gnu/',
      'COPY --from=build /lib64/ld-linux-x86-64.so.2 /lib64/',
      'COPY --from=build /etc/nginx /etc/nginx',
      'COPY --from=build /usr/share/nginx /usr/share/nginx',
      'COPY nginx.conf /etc/nginx/nginx.conf',
      'USER 10001',
      'EXPOSE 8080',
      'ENTRYPOINT ["/usr/sbin/nginx", "-e", "stderr", "-g", "daemon off;"]',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'nginx.conf'), readFileSync(join(ROOT, 'config', 'nginx.conf')));
}

function dockerBuild(dir: string, noCache: boolean): void {
  const env = { ...process.env, DOCKER_BUILDKIT: '0' };
  const extra = noCache ? ['--no-cache'] : [];
  sh('docker', ['build', '-q', ...extra, '-t', `${TAG}/base`, '-f', 'base.Dockerfile', '.'], { cwd: dir, env });
  sh('docker', ['build', '-q', ...extra, '-t', `${TAG}/nginx`, '-f', 'nginx.Dockerfile', '.'], { cwd: dir, env });
}

async function layerThroughput(state: StateDir, entries: Entry[], work: string): Promise<{ ours: number; tar: number; bytes: number }> {
  const bytes = entries.reduce((n, e) => n + e.size, 0);
  const ours: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const t = process.hrtime.bigint();
    await writeLayer(entries, state.blobs, createWriteStream('/dev/null'), { mtime: 0, gzip: true });
    ours.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  // The same files unpacked, for the baseline.
  const dir = join(work, 'rootfs');
  mkdirSync(dir, { recursive: true });
  for (const e of entries) {
    const p = join(dir, e.path);
    if (e.type === 'dir') mkdirSync(p, { recursive: true });
    else if (e.type === 'file') {
      mkdirSync(join(p, '..'), { recursive: true });
      writeFileSync(p, readFileSync(state.blobs.path(e.sha256!)));
    }
  }
  const tar: number[] = [];
  for (let i = 0; i < REPEAT; i++) tar.push(timeMs(() => execFileSync('sh', ['-c', `tar -C ${dir} -cf - . | gzip -6 > /dev/null`])));
  return { ours: median(ours), tar: median(tar), bytes };
}

/** `npm run bench -- deploy quick`: the no-op and config-edit ratios only. */
export async function run(args: readonly string[] = []): Promise<void> {
  const quick = args.includes('quick');
  const work = mkdtempSync(join(tmpdir(), 'imgsdk-bench-deploy-'));
  try {
    process.stdout.write('deploying images.ts once (creates the builder if needed)…\n');
    sh(process.execPath, [BIN, 'deploy']);
    const asm = await readAssembly(join(ROOT, 'imgsdk.out'));
    const b = asm.manifest.builders['imgsdk/bookworm'];
    const builder = builderRef(b.def, b.key);
    dockerfiles(work, builder);
    dockerBuild(work, false); // warm the cache

    // 1. No-op deploy vs warm docker build, taken in turns so both see the same load.
    const noops: number[] = [];
    const warms: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      noops.push(timeMs(() => sh(process.execPath, [BIN, 'deploy'])));
      warms.push(timeMs(() => dockerBuild(work, false)));
    }
    const noop = median(noops);
    const warm = median(warms);

    // 1b. The same comment appended to both nginx.conf files, then each rebuilt: a
    // new comment every round, so each round is a real rebuild on both sides. The
    // first deploy after a change of the phase-1 key fills its rootfs cache: warmed first.
    const original = readFileSync(CONF);
    const edits: number[] = [];
    const dockerEdits: number[] = [];
    try {
      writeFileSync(CONF, Buffer.concat([original, Buffer.from(`# bench ${process.pid} warm-up\n`)]));
      sh(process.execPath, [BIN, 'deploy']);
      for (let i = 0; i < REPEAT; i++) {
        const comment = Buffer.from(`# bench ${process.pid} edit ${i}\n`);
        writeFileSync(CONF, Buffer.concat([original, comment]));
        edits.push(timeMs(() => sh(process.execPath, [BIN, 'deploy'])));
        writeFileSync(join(work, 'nginx.conf'), Buffer.concat([original, comment]));
        dockerEdits.push(timeMs(() => dockerBuild(work, false)));
      }
    } finally {
      writeFileSync(CONF, original);
    }
    sh(process.execPath, [BIN, 'deploy']);
    const edit = median(edits);
    const dockerEdit = median(dockerEdits);

    const rows = [
      '',
      '| measure | imgsdk | baseline | ratio | target |',
      '|---|---|---|---|---|',
      `| no-op deploy of images.ts vs warm \`docker build\` | ${noop.toFixed(0)} ms | ${warm.toFixed(0)} ms | ${(noop / warm).toFixed(2)}x time | <= 1.00x |`,
      `| config edit (comment in nginx.conf) redeploy vs \`COPY nginx.conf\` rebuild | ${edit.toFixed(0)} ms | ${dockerEdit.toFixed(0)} ms | ${(edit / dockerEdit).toFixed(2)}x time | <= 1.00x |`,
    ];
    const footer = `(median of ${REPEAT}, taken in turns; machine load ${require('node:os').loadavg()[0].toFixed(2)})`;
    if (quick) {
      process.stdout.write([...rows, footer, ''].join('\n'));
      return;
    }

    // 2. Layer writing.
    const state = new StateDir(join(ROOT, '.imgsdk'));
    const nginx = asm.manifest.images['imgsdk/nginx'];
    const entries = (await state.readEntries('imgsdk/nginx', nginx.key))!;
    const layer = await layerThroughput(state, entries, work);

    // 3. Cold builds: state and images removed, builder kept.
    const coldState = join(work, 'cold-state');
    const cold = timeMs(() => sh(process.execPath, [BIN, 'deploy', '-F', '--state', coldState]));
    const coldDocker = timeMs(() => dockerBuild(work, true));
    const size = (ref: string) => Number(execFileSync('docker', ['image', 'inspect', ref, '--format', '{{.Size}}']).toString().trim());

    const mbps = (ms: number) => layer.bytes / 1e6 / (ms / 1000);
    process.stdout.write(
      [
        ...rows,
        `| layer write (tar+gzip -6) vs \`tar -c \\| gzip -6\`, ${(layer.bytes / 1e6).toFixed(1)} MB | ${mbps(layer.ours).toFixed(1)} MB/s | ${mbps(layer.tar).toFixed(1)} MB/s | ${(layer.tar / layer.ours).toFixed(2)}x throughput | >= 0.80x |`,
        `| cold build of nginx vs multi-stage Dockerfile --no-cache | ${(cold / 1000).toFixed(1)} s | ${(coldDocker / 1000).toFixed(1)} s | ${(cold / coldDocker).toFixed(2)}x time | reported |`,
        `| nginx image size | ${(size('imgsdk/nginx:latest') / 1e6).toFixed(2)} MB | ${(size(`${TAG}/nginx`) / 1e6).toFixed(2)} MB | | <= 9.9 MB |`,
        footer,
        '',
      ].join('\n'),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
    spawnSync('docker', ['rmi', '-f', `${TAG}/nginx`, `${TAG}/base`]);
  }
}
