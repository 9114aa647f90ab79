/**
 * Runs the server corpus (corpus/servers.ts): every server becomes its own image
 * (its package, its entrypoint, its account, `.ready({ port })`), deployed through
 * the real engine, which starts it once before tagging; then each is started again
 * beside the same server in a plain Debian container of the same builder with the
 * package installed, and a client asks both the same question. `npm run corpus`
 * runs it after the package corpus and prints `N of M servers start and answer`.
 */
import { connect } from 'node:net';
import Docker from 'dockerode';
import { pack } from 'tar-stream';
import { app, deploy, image, type Image } from '../src';
import { corpusBuilder, demux, plainImage } from './run';
import { serverName, type ServerEntry } from './servers';

/** One server's outcome. */
export interface ServerResult {
  readonly package: string;
  readonly ok: boolean;
  /** The answer the image gave (and plain Debian's, when they differ), or why it failed. */
  readonly why?: string;
  readonly answer?: string;
  readonly imageSize?: number;
}

export interface ServerOptions {
  readonly docker?: Docker;
  /** @default '.imgsdk-corpus' */
  readonly stateDir?: string;
  /** Image namespace. @default 'corpus-server' */
  readonly namespace?: string;
  /** @default 2 */
  readonly concurrency?: number;
  readonly log?: (line: string) => void;
}

/**
 * What a booted Debian's systemd makes before a daemon starts, which a plain container
 * (booting nothing) lacks: the /run directories of tmpfiles.d, and those of the service
 * units (`RuntimeDirectory=`, and the `mkdir`/`chown` of `ExecStartPre=`). MariaDB's
 * /run/mysqld and sshd's /run/sshd; the images get them from the build (run-dirs.ts).
 */
const PLAIN_BOOT = [
  `cat /usr/lib/tmpfiles.d/*.conf /etc/tmpfiles.d/*.conf 2>/dev/null | awk '$1 ~ /^[dD]!?$/ && $2 ~ /^\\/(var\\/)?run\\// && $2 !~ /%/ { u = ($4 == "" || $4 == "-") ? "root" : $4; g = ($5 == "" || $5 == "-") ? u : $5; print $2, ($3 ~ /^[0-7]+$/ ? $3 : "0755"), u, g }' |`,
  '  while read -r p m u g; do mkdir -p "$p" && chmod "$m" "$p" && chown "$u:$g" "$p"; done 2>/dev/null',
  'for f in /lib/systemd/system/*.service; do',
  '  case $f in *@.service) continue ;; esac',
  `  u=$(sed -n 's/^User=//p' "$f" | tail -n 1); g=$(sed -n 's/^Group=//p' "$f" | tail -n 1); m=$(sed -n 's/^RuntimeDirectoryMode=//p' "$f" | tail -n 1)`,
  `  for d in $(sed -n 's/^RuntimeDirectory=//p' "$f"); do mkdir -p "/run/$d" && chmod "\${m:-0755}" "/run/$d" && chown "\${u:-root}:\${g:-\${u:-root}}" "/run/$d"; done 2>/dev/null`,
  `  sed -n 's/^ExecStartPre=-\\{0,1\\}\\(\\/bin\\/mkdir \\|\\/bin\\/chown \\)/\\1/p' "$f" | sh 2>/dev/null`,
  'done',
].join('\n');

/** Seconds a server gets to accept on its port, in the image (its `.ready()`) and in plain Debian. */
const START_SECONDS = 90;

/** The image of one server: its package, entrypoint and account, and its started check. Nothing else but the files the entry adds. */
export function serverImage(e: ServerEntry, namespace = 'corpus-server'): Image {
  let img = image(`${namespace}/${serverName(e).replace(/[^a-z0-9._-]/g, '-')}`)
    .builder(corpusBuilder)
    .packages(e.package, ...(e.with ?? []))
    .entrypoint(...e.entrypoint);
  if (e.finishRootfs) img = img.finishRootfs(e.finishRootfs);
  // An account the install creates, declared so the image may run as it (its files follow).
  img = e.user ? img.account({ user: e.user, uid: 10001 }).user(e.user) : img.allowRoot();
  for (const [path, content] of Object.entries(e.files ?? {})) img = img.file(path, content);
  return img.ready({ port: e.port, timeout: START_SECONDS });
}

/** Builds every server, then starts and probes each beside plain Debian; one result per entry, in order. */
export async function runServers(entries: readonly ServerEntry[], opts: ServerOptions = {}): Promise<ServerResult[]> {
  const docker = opts.docker ?? new Docker();
  const log = opts.log ?? (() => undefined);
  const images = entries.map((e) => serverImage(e, opts.namespace));
  const state = opts.stateDir ?? '.imgsdk-corpus';
  const built = await deploy(app(...images), {
    stateDir: state,
    concurrency: opts.concurrency ?? 2,
    assemblyDir: `${state}/imgsdk.out`,
    onEvent: (e) => {
      if (e.type === 'done' || e.type === 'cached') log(`${e.id}: ${e.type}`);
      else if (e.type === 'failed') log(`${e.id}: failed: ${e.error.split('\n')[0]}`);
      else if (e.type === 'warning') log(`${e.id}: warning: ${e.line}`);
    },
  });
  // One plain image for the servers that install together; one that conflicts (exim4 and postfix are both the MTA) gets its own.
  const together = entries.filter((e) => !e.alone);
  const shared = together.length
    ? await plainImage(
        docker,
        together.flatMap((e) => [e.package, ...(e.with ?? []), ...e.clients]),
        log,
      )
    : null;
  const results: ServerResult[] = [];
  for (const [i, e] of entries.entries()) {
    const r = built.images.find((x) => x.id === images[i].id)!;
    if (r.status !== 'built' && r.status !== 'cached') {
      results.push({ package: serverName(e), ok: false, why: `deploy ${r.status}: ${r.reason.split('\n').slice(0, 6).join(' | ')}` });
      continue;
    }
    try {
      const plain = e.alone || !shared ? await plainImage(docker, [e.package, ...(e.with ?? []), ...e.clients], log) : shared;
      // Plain Debian makes what a booted system's systemd would, runs the entry's hook as root (ROOT empty), then the server as its account.
      const user = e.user ?? 'root';
      const drop = user === 'root' ? 'exec "$@"' : `exec setpriv --reuid=${user} --regid="$(id -g ${user})" --init-groups -- "$@"`;
      const entrypoint = [
        '/bin/sh',
        '-c',
        `${PLAIN_BOOT}\n${e.finishRootfs ? `ROOT=; ${e.finishRootfs}\n` : ''}${drop}`,
        'sh',
        ...e.entrypoint,
      ];
      const want = await startAndProbe(docker, plain.ref, e, { entrypoint, user: 'root', files: e.files }, plain.ref);
      const got = await startAndProbe(docker, `${images[i].id}:latest`, e, {}, plain.ref);
      const why =
        want.answer === null
          ? `plain Debian gives no answer (${want.detail}): fix the corpus entry`
          : got.answer === null
            ? `no answer: ${got.detail}`
            : got.answer !== want.answer
              ? `answers ${JSON.stringify(got.answer)} where plain Debian answers ${JSON.stringify(want.answer)}`
              : undefined;
      results.push({ package: serverName(e), ok: !why, ...(why ? { why } : {}), answer: got.answer ?? undefined, imageSize: r.size });
    } catch (err) {
      results.push({ package: serverName(e), ok: false, why: (err as Error).message.split('\n')[0] });
    }
  }
  return results;
}

/**
 * Starts `ref` (with the entry's entrypoint and user for plain Debian), waits until
 * its port accepts, runs the probe from the client image in its network namespace,
 * and gives the answer (the part of the output the entry's `answer` matches) or,
 * without one, what went wrong with the server's last lines. Both containers are
 * removed in every outcome.
 */
async function startAndProbe(
  docker: Docker,
  ref: string,
  e: ServerEntry,
  as: { entrypoint?: readonly string[]; user?: string; files?: Readonly<Record<string, string>> },
  client: string,
): Promise<{ answer: string | null; detail: string }> {
  const server = await docker.createContainer({
    Image: ref,
    ...(as.entrypoint ? { Entrypoint: [...as.entrypoint], Cmd: [] } : {}),
    ...(as.user ? { User: as.user } : {}),
    Labels: { 'org.imgsdk.test': '1' },
  });
  try {
    if (as.files && Object.keys(as.files).length) await server.putArchive(await tarOf(as.files), { path: '/' });
    const out = demux(docker, (await server.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream);
    await server.start();
    const tail = () => (out.stdout() + out.stderr()).trim().split('\n').slice(-4).join(' | ');
    const deadline = Date.now() + START_SECONDS * 1000;
    for (;;) {
      const info = await server.inspect();
      if (!info.State.Running) return { answer: null, detail: `exited (${info.State.ExitCode}) before port ${e.port} accepted: ${tail()}` };
      const ip = Object.values(info.NetworkSettings.Networks ?? {})
        .map((n) => n.IPAddress)
        .find(Boolean);
      if (ip && (await accepts(ip, e.port))) break;
      if (Date.now() > deadline) return { answer: null, detail: `port ${e.port} never accepted: ${tail()}` };
      await new Promise((r) => setTimeout(r, 500));
    }
    const probe = await docker.createContainer({
      Image: client,
      Entrypoint: ['/bin/sh', '-c', e.probe],
      Cmd: [],
      User: 'root',
      HostConfig: { NetworkMode: `container:${server.id}` },
      Labels: { 'org.imgsdk.test': '1' },
    });
    try {
      const p = demux(docker, (await probe.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream);
      await probe.start();
      const timer = setTimeout(() => void probe.kill().catch(() => undefined), 60_000);
      await probe.wait();
      clearTimeout(timer);
      await new Promise((r) => setTimeout(r, 50));
      const m = e.answer.exec(p.stdout());
      return m
        ? { answer: m[0], detail: '' }
        : {
            answer: null,
            detail: `the probe printed ${JSON.stringify((p.stdout() + p.stderr()).trim().slice(0, 160))}; server: ${tail()}`,
          };
    } finally {
      await probe.remove({ force: true }).catch(() => undefined);
    }
  } finally {
    await server.remove({ force: true }).catch(() => undefined);
  }
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** A tar of files (path → content), root-owned, fixed time: what the entry adds, put into plain Debian's container. */
function tarOf(files: Readonly<Record<string, string>>): Promise<Buffer> {
  const p = pack();
  for (const [path, content] of Object.entries(files))
    p.entry({ name: path.replace(/^\/+/, ''), mode: 0o644, uid: 0, gid: 0, mtime: new Date(0) }, content);
  p.finalize();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    p.on('data', (c) => chunks.push(c as Buffer));
    p.on('end', () => resolve(Buffer.concat(chunks)));
    p.on('error', reject);
  });
}

/** The table `npm run corpus` prints for the servers, and the summary line. */
export function formatServerResults(results: readonly ServerResult[]): string {
  const lines = results.map(
    (r) =>
      `${r.ok ? 'ok  ' : 'FAIL'} ${r.package.padEnd(26)} ${(r.imageSize ? `${(r.imageSize / 1e6).toFixed(1)} MB` : '-').padStart(9)}  ${r.ok ? JSON.stringify(r.answer) : r.why}`,
  );
  return [
    `     ${'server'.padEnd(26)} ${'image'.padStart(9)}  answer`,
    ...lines,
    '',
    `${results.filter((r) => r.ok).length} of ${results.length} servers start and answer`,
  ].join('\n');
}
