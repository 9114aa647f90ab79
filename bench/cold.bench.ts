/**
 * Cold builds against single-stage Dockerfiles on the same builder image, and
 * where imgsdk's time goes.
 *
 * For a small app set — nginx with its configuration, a Node.js app (files +
 * nodejs), a Python app (files + python3), PostgreSQL, and a parent with two
 * children — each group is deployed from a fresh state directory, its images
 * removed from the engine first:
 *
 * - **no lock**: without imgsdk.lock (resolved in a builder container first, as a
 *   new user's first deploy does);
 * - **lock**: with the lock the first run wrote;
 * - **Dockerfile**: `FROM <builder>`, `RUN apt-get update && apt-get install
 *   --no-install-recommends …`, `COPY` of the app, `docker build --no-cache` (the
 *   children of the parent side by side, as imgsdk builds them).
 *
 * The three are taken in turns per group, so they see the same load. Printed: the
 * time of each, the ratio per image and the geometric mean, and the breakdown of
 * imgsdk's time per step (the deploy's `timing` events). Before all that, a new
 * builder is bootstrapped and timed (the bench's own builder definition, so its
 * image and .deb cache are its own; both are removed at the end).
 *
 *   npm run bench -- cold            # one round
 *   npm run bench -- cold 3          # median of three rounds
 *   npm run bench -- cold nginx node # some groups (by the start of their name)
 *
 * Needs a Docker engine, mmdebstrap and the network to Debian's archive.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { app, debian, deploy, image, type DeployEvent, type Image, type Step } from '../src';
import { bootstrapKey, builderRef, ensureDebianBuilder } from '../src/runtime/phase1/builders/debian';
import { aptCacheVolume } from '../src/runtime/phase1/builders/apt-cache';
import { connectEngine } from '../src/runtime/engine/light';
import { LABEL_KEY } from '../src/contract/labels';
import type { BuilderDef } from '../src/contract/assembly';
import { readAssembly } from '../src/contract/read';
import { median } from './_measure';

const RUN = randomBytes(3).toString('hex');
const NS = `bench-cold-${RUN}`;
/**
 * The bench's own builder: bookworm as images.ts has it, but with `apt` named in
 * the bootstrap (minbase has it anyway), so its key, image and .deb cache are
 * nobody else's and a run may remove them.
 */
const bookworm = debian.builder(`${NS}/bookworm`, { suite: 'bookworm', bootstrap: { include: ['apt'] } });

const NGINX_CONF =
  'worker_processes 1;\npid /tmp/nginx.pid;\nevents { worker_connections 64; }\nhttp {\n  access_log /dev/stdout;\n  server { listen 8080; root /usr/share/nginx/html; }\n}\n';
const SERVER_JS = "require('http').createServer((q, r) => r.end('ok\\n')).listen(8080);\n";
const PACKAGE_JSON = '{ "name": "app", "version": "1.0.0", "main": "server.js" }\n';
const APP_PY =
  "from http.server import HTTPServer, BaseHTTPRequestHandler\nclass H(BaseHTTPRequestHandler):\n    def do_GET(self):\n        self.send_response(200); self.end_headers(); self.wfile.write(b'ok')\nHTTPServer(('', 8080), H).serve_forever()\n";

interface Group {
  readonly name: string;
  readonly images: readonly Image[];
  /** Dockerfiles, by image name, in build order; those of one level build side by side. */
  readonly dockerfiles: readonly (readonly [string, string])[][];
  /** Files of the Dockerfiles' build context. */
  readonly context: Readonly<Record<string, string>>;
}

const install = (...pkgs: string[]) =>
  `RUN apt-get update -q && apt-get install -y -q --no-install-recommends ${pkgs.join(' ')} && rm -rf /var/lib/apt/lists/*`;

function groups(builder: string): Group[] {
  const base = image(`${NS}/base`).builder(bookworm).packages('libssl3', 'ca-certificates');
  return [
    {
      name: 'nginx',
      images: [
        image(`${NS}/nginx`)
          .builder(bookworm)
          .packages('nginx-light')
          .file('/etc/nginx/nginx.conf', NGINX_CONF)
          .user('nobody')
          .entrypoint('/usr/sbin/nginx', '-g', 'daemon off;'),
      ],
      dockerfiles: [
        [
          [
            'nginx',
            `FROM ${builder}\n${install('nginx-light')}\nCOPY nginx.conf /etc/nginx/nginx.conf\nUSER nobody\nENTRYPOINT ["/usr/sbin/nginx", "-g", "daemon off;"]\n`,
          ],
        ],
      ],
      context: { 'nginx.conf': NGINX_CONF },
    },
    {
      name: 'node app',
      images: [
        image(`${NS}/node`)
          .builder(bookworm)
          .packages('nodejs')
          .file('/app/server.js', SERVER_JS)
          .file('/app/package.json', PACKAGE_JSON)
          .user('nobody')
          .entrypoint('/usr/bin/node', '/app/server.js'),
      ],
      dockerfiles: [
        [['node', `FROM ${builder}\n${install('nodejs')}\nCOPY app/ /app/\nUSER nobody\nENTRYPOINT ["/usr/bin/node", "/app/server.js"]\n`]],
      ],
      context: { 'app/server.js': SERVER_JS, 'app/package.json': PACKAGE_JSON },
    },
    {
      name: 'python app',
      images: [
        image(`${NS}/python`)
          .builder(bookworm)
          .packages('python3')
          .file('/app/app.py', APP_PY)
          .user('nobody')
          .entrypoint('/usr/bin/python3', '/app/app.py'),
      ],
      dockerfiles: [
        [
          [
            'python',
            `FROM ${builder}\n${install('python3')}\nCOPY app.py /app/app.py\nUSER nobody\nENTRYPOINT ["/usr/bin/python3", "/app/app.py"]\n`,
          ],
        ],
      ],
      context: { 'app.py': APP_PY },
    },
    {
      name: 'postgresql',
      images: [
        image(`${NS}/postgresql`).builder(bookworm).packages('postgresql').user('nobody').entrypoint('/usr/lib/postgresql/15/bin/postgres'),
      ],
      dockerfiles: [
        [['postgresql', `FROM ${builder}\n${install('postgresql')}\nUSER nobody\nENTRYPOINT ["/usr/lib/postgresql/15/bin/postgres"]\n`]],
      ],
      context: {},
    },
    {
      name: 'parent + 2 children',
      images: [
        base,
        image(`${NS}/curl`).from(base).packages('curl').user('nobody').entrypoint('/usr/bin/curl'),
        image(`${NS}/wget`).from(base).packages('wget').user('nobody').entrypoint('/usr/bin/wget'),
      ],
      dockerfiles: [
        [['base', `FROM ${builder}\n${install('libssl3', 'ca-certificates')}\n`]],
        [
          ['curl', `FROM ${NS}-docker/base\n${install('curl')}\nUSER nobody\nENTRYPOINT ["/usr/bin/curl"]\n`],
          ['wget', `FROM ${NS}-docker/base\n${install('wget')}\nUSER nobody\nENTRYPOINT ["/usr/bin/wget"]\n`],
        ],
      ],
      context: {},
    },
  ];
}

function exec(cmd: string, args: readonly string[], cwd?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} failed (${code}):\n${err}`))));
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = Date.now();
  await fn();
  return Date.now() - t;
}

/** Removes the images of `ns/` (imgsdk's or the Dockerfiles'), whatever their tags. */
async function removeImages(prefix: string): Promise<void> {
  const engine = await connectEngine();
  for (const img of await engine.listImages()) {
    if (img.repoTags.some((t) => t.startsWith(prefix + '/'))) await engine.removeImage(img.id, { force: true }).catch(() => false);
  }
}

interface Measure {
  total: number;
  lock: number;
  steps: Partial<Record<Step, number>>;
}

/** One deploy of a group from a fresh state directory; `lockFile` absent or present. */
async function imgsdkCold(work: string, g: Group, lockFile: string): Promise<Measure> {
  await removeImages(NS);
  const state = mkdtempSync(join(work, 'state-'));
  const steps: Partial<Record<Step, number>> = {};
  let lock = 0;
  const onEvent = (e: DeployEvent) => {
    if (e.type !== 'timing') return;
    if (e.step === 'lock') lock += e.ms;
    else steps[e.step] = (steps[e.step] ?? 0) + e.ms;
  };
  const t = Date.now();
  const r = await deploy(app(...g.images), { stateDir: state, assemblyDir: join(state, 'out'), lockFile, concurrency: 2, onEvent });
  const total = Date.now() - t;
  if (!r.ok)
    throw new Error(
      `${g.name}: ${r.images
        .filter((i) => i.status !== 'built')
        .map((i) => `${i.id}: ${i.reason}`)
        .join('\n')}`,
    );
  rmSync(state, { recursive: true, force: true });
  return { total, lock, steps };
}

async function dockerCold(work: string, g: Group): Promise<number> {
  const dir = mkdtempSync(join(work, 'docker-'));
  for (const [path, text] of Object.entries(g.context)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  for (const level of g.dockerfiles) for (const [name, text] of level) writeFileSync(join(dir, `${name}.Dockerfile`), text);
  await removeImages(`${NS}-docker`);
  const ms = await timed(async () => {
    for (const level of g.dockerfiles) {
      await Promise.all(
        level.map(([name]) =>
          exec('docker', ['build', '-q', '--no-cache', '-t', `${NS}-docker/${name}`, '-f', `${name}.Dockerfile`, '.'], dir),
        ),
      );
    }
  });
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

const STEPS: readonly Step[] = [
  'builder',
  'container',
  'setup',
  'apt-update',
  'apt-download',
  'apt-install',
  'files',
  'rootfs-tar',
  'stream',
  'finish',
  'pipeline',
  'sbom',
  'layer',
  'load',
  'record',
  'ship',
];
const s1 = (ms: number) => (ms / 1000).toFixed(1);

/** `npm run bench -- cold [rounds] [group names]`. */
export async function run(args: readonly string[] = []): Promise<void> {
  const rounds = Math.max(1, Number(args.find((a) => /^\d+$/.test(a)) ?? 1));
  const only = args.filter((a) => !/^\d+$/.test(a));
  const work = mkdtempSync(join(tmpdir(), 'imgsdk-bench-cold-'));
  const engine = await connectEngine();
  let def: BuilderDef | null = null;
  try {
    // The builder's definition as the assembly has it.
    const probe = join(work, 'probe');
    await (await import('../src')).synth(app(image(`${NS}/probe`).builder(bookworm).packages('hello')), { outdir: probe });
    def = (await readAssembly(probe)).manifest.builders[bookworm.id].def;
    const key = bootstrapKey(def);
    for (const img of await engine.listImages({ label: `${LABEL_KEY}=${key}` }))
      await engine.removeImage(img.id, { force: true }).catch(() => false);
    process.stdout.write(`bootstrapping a new builder (${bookworm.id})…\n`);
    const bootstrap = await timed(() => ensureDebianBuilder(engine, def!));
    const ref = builderRef(def, key);
    process.stdout.write(`new builder: ${s1(bootstrap)} s (mmdebstrap + import)\n`);

    const lockFile = join(work, 'imgsdk.lock');
    const gs = groups(ref).filter((g) => !only.length || only.some((o) => g.name.startsWith(o)));
    const res = gs.map(() => ({ nolock: [] as Measure[], locked: [] as Measure[], docker: [] as number[] }));
    for (let round = 0; round < rounds; round++) {
      for (const [i, g] of gs.entries()) {
        // Cold means no .deb cache either: the bench's builder's volume is its own.
        await engine.removeVolume(aptCacheVolume(key)).catch(() => false);
        rmSync(lockFile, { force: true });
        process.stdout.write(`round ${round + 1}: ${g.name}…\n`);
        res[i].nolock.push(await imgsdkCold(work, g, lockFile));
        await engine.removeVolume(aptCacheVolume(key)).catch(() => false);
        res[i].locked.push(await imgsdkCold(work, g, lockFile));
        res[i].docker.push(await dockerCold(work, g));
      }
    }
    const rows: string[] = [
      '',
      '| image(s) | imgsdk, no lock | imgsdk, lock | Dockerfile --no-cache | ratio no lock | ratio lock |',
      '|---|---|---|---|---|---|',
    ];
    const ratios = { nolock: [] as number[], locked: [] as number[] };
    for (const [i, g] of gs.entries()) {
      const nl = median(res[i].nolock.map((m) => m.total));
      const lk = median(res[i].locked.map((m) => m.total));
      const dk = median(res[i].docker);
      ratios.nolock.push(nl / dk);
      ratios.locked.push(lk / dk);
      rows.push(`| ${g.name} | ${s1(nl)} s | ${s1(lk)} s | ${s1(dk)} s | ${(nl / dk).toFixed(2)}x | ${(lk / dk).toFixed(2)}x |`);
    }
    const geo = (xs: number[]) => Math.exp(xs.reduce((n, x) => n + Math.log(x), 0) / xs.length);
    rows.push(`| **geometric mean** | | | | **${geo(ratios.nolock).toFixed(2)}x** | **${geo(ratios.locked).toFixed(2)}x** |`);
    rows.push(
      '',
      `Where imgsdk's time goes (seconds per step, summed over a group's images; concurrent images overlap; last round; "lock" = resolving imgsdk.lock):`,
      '',
    );
    rows.push(`| image(s) | lock | ${STEPS.join(' | ')} |`, `|---|---|${STEPS.map(() => '---').join('|')}|`);
    for (const [i, g] of gs.entries()) {
      for (const [label, m] of [
        ['no lock', res[i].nolock.at(-1)!],
        ['lock', res[i].locked.at(-1)!],
      ] as const) {
        rows.push(`| ${g.name}, ${label} | ${s1(m.lock)} | ${STEPS.map((s) => s1(m.steps[s] ?? 0)).join(' | ')} |`);
      }
    }
    rows.push(
      '',
      `(${rounds === 1 ? 'one round' : `median of ${rounds} rounds`}, taken in turns; machine load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; targets: each ratio <= 1.00x, geometric mean <= 0.80x, new builder <= 45 s)`,
      '',
    );
    process.stdout.write(rows.join('\n'));
  } finally {
    await removeImages(NS);
    await removeImages(`${NS}-docker`);
    if (def) {
      const key = bootstrapKey(def);
      for (const img of await engine.listImages({ label: `${LABEL_KEY}=${key}` }))
        await engine.removeImage(img.id, { force: true }).catch(() => false);
      await engine.removeVolume(aptCacheVolume(key)).catch(() => false);
    }
    rmSync(work, { recursive: true, force: true });
  }
}
