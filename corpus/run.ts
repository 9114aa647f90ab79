/**
 * Runs the package corpus (corpus/packages.ts): every package becomes its own image
 * (`image('corpus/<pkg>').builder(bookworm).packages(pkg).user('nobody')`), deployed
 * through the real engine; a plain Debian container of the same builder with all the
 * packages installed runs the same commands; each image must exit as the plain
 * container does (and print the same, where the entry compares output).
 *
 *   npm run corpus                 # every package, then every server
 *   npm run corpus -- jq git       # some (packages or servers, by name)
 *   npm run corpus -- --servers    # the server corpus only (--packages: the package corpus only)
 *
 * Prints one line per package (result, image size, plain Debian size, ratio) and
 * `N of M packages give a working image`; exits 1 unless all work.
 */
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { app, debian, deploy, image, type Image } from '../src';
import { ensureDebianBuilder } from '../src/runtime/phase1/builders/debian';
import { engineFromDocker } from '../src/runtime/engine/docker';
import { CORPUS, type CorpusEntry } from './packages';
import { serverName, SERVERS } from './servers';

const PLAIN_BUILDER = 'org.imgsdk.corpus.builder';
const PLAIN_PACKAGES = 'org.imgsdk.corpus.packages';

/** The builder the corpus shares with the engine tests (bootstrapped once). */
export const corpusBuilder = debian.builder('imgsdk-e2e/bookworm', { suite: 'bookworm' });

/** One package's outcome. */
export interface CorpusResult {
  readonly package: string;
  readonly ok: boolean;
  /** Why it failed: the build error, or what differed from the plain container. */
  readonly why?: string;
  readonly imageSize?: number;
  readonly plainSize?: number;
}

export interface CorpusOptions {
  readonly docker?: Docker;
  /** @default '.imgsdk-corpus' */
  readonly stateDir?: string;
  /** @default 2 */
  readonly concurrency?: number;
  readonly log?: (line: string) => void;
}

/** The image of one corpus entry: the package by name, run as nobody. Nothing else but the `.keep()` an entry names. */
export function corpusImage(e: CorpusEntry): Image {
  const img = image(`corpus/${e.package.replace(/[^a-z0-9._-]/g, '-')}`)
    .builder(corpusBuilder)
    .packages(e.package)
    .user('nobody');
  return e.keep?.length ? img.keep(...e.keep) : img;
}

/** Builds and runs the given entries; one result per entry, in order. */
export async function runCorpus(entries: readonly CorpusEntry[], opts: CorpusOptions = {}): Promise<CorpusResult[]> {
  const docker = opts.docker ?? new Docker();
  const log = opts.log ?? (() => undefined);
  const images = entries.map(corpusImage);
  const built = await deploy(app(...images), {
    stateDir: opts.stateDir ?? '.imgsdk-corpus',
    concurrency: opts.concurrency ?? 2,
    assemblyDir: `${opts.stateDir ?? '.imgsdk-corpus'}/imgsdk.out`,
    onEvent: (e) => {
      if (e.type === 'done' || e.type === 'cached') log(`${e.id}: ${e.type}`);
      else if (e.type === 'failed') log(`${e.id}: failed: ${e.error.split('\n')[0]}`);
    },
  });
  const plain = await plainImage(
    docker,
    entries.map((e) => e.package),
    log,
  );
  const results: CorpusResult[] = [];
  for (const [i, e] of entries.entries()) {
    const id = images[i].id;
    const r = built.images.find((x) => x.id === id)!;
    const plainSize = plain.sizes.get(e.package);
    if (r.status !== 'built' && r.status !== 'cached') {
      results.push({
        package: e.package,
        ok: false,
        why: `deploy ${r.status}: ${r.reason.split('\n').slice(0, 3).join(' | ')}`,
        plainSize,
      });
      continue;
    }
    const want = await run(docker, plain.ref, e.run, 'nobody');
    const got = await run(docker, `${id}:latest`, e.run);
    const why =
      got.code !== want.code
        ? `exit ${got.code} where plain Debian exits ${want.code}: ${(got.stderr || got.stdout).trim().split('\n').slice(-2).join(' | ')}`
        : e.output !== false && got.stdout !== want.stdout
          ? `prints ${JSON.stringify(got.stdout.slice(0, 80))} where plain Debian prints ${JSON.stringify(want.stdout.slice(0, 80))}`
          : want.code !== 0
            ? `the command fails in plain Debian too (exit ${want.code}): fix the corpus entry`
            : undefined;
    results.push({ package: e.package, ok: !why, ...(why ? { why } : {}), imageSize: r.size, plainSize });
  }
  return results;
}

/**
 * The plain Debian image: the corpus builder with every package installed by apt
 * (tagged by the package list, so it is made once). Sizes per package are the
 * builder's size plus the Installed-Size of what `apt-get install PKG` adds to it.
 */
export async function plainImage(
  docker: Docker,
  packages: readonly string[],
  log: (l: string) => void,
): Promise<{ ref: string; sizes: Map<string, number> }> {
  const engine = engineFromDocker(docker);
  const builder = await ensureDebianBuilder(engine, corpusBuilder.def, { log, force: false });
  const base = await docker.getImage(builder).inspect();
  const list = [...new Set(packages)].sort();
  // Any plain image of this builder with every needed package will do (a full run's serves a subset's).
  const made = await docker.listImages({ filters: { label: [`${PLAIN_BUILDER}=${builder}`] } });
  const superset = made.find((i) => list.every((p) => (i.Labels?.[PLAIN_PACKAGES] ?? '').split(' ').includes(p)) && i.RepoTags?.length);
  const ref =
    superset?.RepoTags?.[0] ??
    `imgsdk-corpus/plain:${createHash('sha256')
      .update(builder + '\n' + list.join('\n'))
      .digest('hex')
      .slice(0, 12)}`;
  if (!superset && !(await engine.imageExists(ref))) {
    log(`plain Debian: installing ${list.length} packages into ${builder}`);
    const script = [
      'set -e',
      'export DEBIAN_FRONTEND=noninteractive',
      "printf '#!/bin/sh\\nexit 101\\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d",
      'apt-get update -q >/dev/null',
      `for p in ${list.join(' ')}; do printf '%s' "$p"; apt-get install -s --no-install-recommends "$p" | awk '/^Inst /{printf " %s", $2}'; echo; done >/tmp/adds`,
      `apt-get install -y -q --no-install-recommends ${list.join(' ')} >/tmp/install.log 2>&1 || { tail -20 /tmp/install.log; exit 1; }`,
      // KiB added per package: the sum of Installed-Size of what apt would add for it alone.
      'while read -r p rest; do s=0; for q in $rest; do k=$(dpkg-query -W -f \'${Installed-Size}\' "$q" 2>/dev/null || echo 0); s=$((s + ${k:-0})); done; printf \'%s\\t%s\\n\' "$p" "$s"; done </tmp/adds >/corpus-sizes.tsv',
      'rm -rf /var/lib/apt/lists/* /tmp/install.log',
    ].join('\n');
    const c = await docker.createContainer({ Image: builder, Entrypoint: ['/bin/sh', '-c', script], Labels: { 'org.imgsdk.test': '1' } });
    try {
      const out = await attach(docker, c);
      await c.start();
      const { StatusCode } = (await c.wait()) as { StatusCode: number };
      if (StatusCode !== 0) throw new Error(`plain Debian install failed (exit ${StatusCode}):\n${out.stdout()}${out.stderr()}`);
      const [repo, tag] = ref.split(':');
      await c.commit({ repo, tag, changes: [`LABEL ${PLAIN_BUILDER}=${builder}`, `LABEL ${PLAIN_PACKAGES}="${list.join(' ')}"`] });
    } finally {
      await c.remove({ force: true }).catch(() => undefined);
    }
  }
  const tsv = (await run(docker, ref, ['cat', '/corpus-sizes.tsv'], 'root')).stdout;
  const sizes = new Map<string, number>();
  for (const line of tsv.split('\n')) {
    const [p, kib] = line.split('\t');
    if (p && kib) sizes.set(p, base.Size + Number(kib) * 1024);
  }
  return { ref, sizes };
}

async function attach(docker: Docker, c: Docker.Container): Promise<{ stdout: () => string; stderr: () => string }> {
  return demux(docker, (await c.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream);
}

/** Splits an attach or exec stream into stdout and stderr, each read back as text. */
export function demux(docker: Docker, stream: NodeJS.ReadableStream): { stdout: () => string; stderr: () => string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const o = new PassThrough();
  const e = new PassThrough();
  o.on('data', (d: Buffer) => out.push(d));
  e.on('data', (d: Buffer) => err.push(d));
  docker.modem.demuxStream(stream, o, e);
  return { stdout: () => Buffer.concat(out).toString('utf8'), stderr: () => Buffer.concat(err).toString('utf8') };
}

/** Runs argv in an image (as `user`, or the image's own) without a shell, at most 120 s; removed after. */
async function run(
  docker: Docker,
  ref: string,
  argv: readonly string[],
  user?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = await docker.createContainer({
    Image: ref,
    Entrypoint: [...argv],
    Cmd: [],
    ...(user ? { User: user } : {}),
    Labels: { 'org.imgsdk.test': '1' },
  });
  try {
    const out = await attach(docker, c);
    let code: number;
    try {
      await c.start();
      const timer = setTimeout(() => void c.kill().catch(() => undefined), 120_000);
      code = ((await c.wait()) as { StatusCode: number }).StatusCode;
      clearTimeout(timer);
    } catch (err) {
      // An entrypoint that does not exist fails at start: that is the image's answer.
      return { code: 127, stdout: '', stderr: (err as Error).message };
    }
    await new Promise((r) => setTimeout(r, 50));
    return { code, stdout: out.stdout(), stderr: out.stderr() };
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
}

function mb(n?: number): string {
  return n === undefined ? '-' : `${(n / 1e6).toFixed(1)} MB`;
}

/** The table `npm run corpus` prints, and the summary line. */
export function formatResults(results: readonly CorpusResult[]): string {
  const lines = results.map((r) => {
    const ratio = r.imageSize && r.plainSize ? `${((100 * r.imageSize) / r.plainSize).toFixed(1)}%` : '-';
    return `${r.ok ? 'ok  ' : 'FAIL'} ${r.package.padEnd(26)} ${mb(r.imageSize).padStart(9)} ${mb(r.plainSize).padStart(9)} ${ratio.padStart(6)}${r.why ? `  ${r.why}` : ''}`;
  });
  const ratios = results
    .filter((r) => r.imageSize && r.plainSize)
    .map((r) => r.imageSize! / r.plainSize!)
    .sort((a, b) => a - b);
  const median = ratios.length ? ratios[Math.floor((ratios.length - 1) / 2)] : 0;
  return [
    `     ${'package'.padEnd(26)} ${'image'.padStart(9)} ${'plain'.padStart(9)} ${'ratio'.padStart(6)}`,
    ...lines,
    '',
    `size imgsdk/plain Debian: median ${(100 * median).toFixed(1)}%, largest ${(100 * (ratios[ratios.length - 1] ?? 0)).toFixed(1)}%`,
    `${results.filter((r) => r.ok).length} of ${results.length} packages give a working image`,
  ].join('\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const part = args.includes('--servers') ? 'servers' : args.includes('--packages') ? 'packages' : 'both';
  const only = args.filter((a) => a !== '--servers' && a !== '--packages');
  const entries = part === 'servers' ? [] : only.length ? CORPUS.filter((e) => only.includes(e.package)) : CORPUS;
  const servers = part === 'packages' ? [] : only.length ? SERVERS.filter((e) => only.includes(serverName(e))) : SERVERS;
  const unknown = only.filter((p) => !CORPUS.some((e) => e.package === p) && !SERVERS.some((e) => serverName(e) === p));
  if (unknown.length) {
    console.error(`not in the corpus: ${unknown.join(', ')}`);
    process.exit(2);
  }
  const log = (l: string) => console.log(`# ${l}`);
  const started = Date.now();
  (async () => {
    const results = entries.length ? await runCorpus(entries, { log }) : [];
    if (results.length) {
      console.log(formatResults(results));
      // The wall time of the package corpus (builder, every image, the plain container), and how busy the machine was.
      const s = Math.round((Date.now() - started) / 1000);
      console.log(
        `${results.length} packages in ${Math.floor(s / 60)} min ${s % 60} s (load average ${require('node:os').loadavg()[0].toFixed(2)})`,
      );
    }
    // Imported here: servers-run.ts imports this module.
    const { formatServerResults, runServers } = await import('./servers-run');
    const serversStarted = Date.now();
    const served = servers.length ? await runServers(servers, { log }) : [];
    if (served.length) {
      console.log(`\n${formatServerResults(served)}`);
      const s = Math.round((Date.now() - serversStarted) / 1000);
      console.log(
        `${served.length} servers in ${Math.floor(s / 60)} min ${s % 60} s (load average ${require('node:os').loadavg()[0].toFixed(2)})`,
      );
    }
    return [...results, ...served];
  })().then(
    (results) => {
      process.exitCode = results.every((r) => r.ok) ? 0 : 1;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
