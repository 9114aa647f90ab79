/**
 * Every Debian example of examples/ and the Debian twin of every seed example,
 * deployed from its own file (as `imgsdk deploy --app <file>` does) and run with a
 * real check: nginx and the Java webapp answer HTTP, Redis answers PING, nmap finds
 * an open port, bash does arithmetic, Fossil serves and creates its repository, its
 * Tcl and Python variants run their interpreters. Prints each image's size beside
 * a plain Debian install of the same packages. Images and containers are removed at
 * the end; the builders (examples/bookworm, bases/bookworm) stay cached.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { extract } from 'tar-stream';
import type Docker from 'dockerode';
import { engineOrSkip } from '../_kit/engine';
import {
  deployAll,
  eventually,
  suiteState,
  failures,
  formatSize,
  httpGet,
  loadExample,
  measureSizes,
  processUids,
  redisCommand,
  runOnce,
  startService,
  type Deployed,
} from './_examples';

const state = suiteState('examples');
const deployed: Deployed[] = [];
const made = new Set<string>();

/** Deploys an example file into this suite's state dir (a second deploy of one file is all cache hits). */
async function deployExample(file: string): Promise<Deployed> {
  const d = await deployAll(loadExample(file), state.dir);
  deployed.push(d);
  for (const id of d.chains.keys()) made.add(id);
  assert.ok(d.result.ok, `${file}:\n${failures(d)}`);
  return d;
}

/** GET, following redirects on the same server (Fossil sends / to its home page). */
async function getFollowing(base: string, path = '/'): Promise<{ status: number; body: string; path: string }> {
  for (let hops = 0; ; hops++) {
    const r = await httpGet(base + path);
    if (r.status < 300 || r.status >= 400 || !r.headers.location || hops === 5) return { status: r.status, body: r.body, path };
    path = new URL(r.headers.location, base + path).pathname;
  }
}

/** A file of a container as bytes (getArchive works on running containers and volumes alike). */
async function readContainerFile(c: Docker.Container, path: string): Promise<Buffer> {
  const tar = (await c.getArchive({ path })) as NodeJS.ReadableStream;
  return new Promise((res, rej) => {
    const x = extract();
    let data: Buffer | undefined;
    x.on('entry', (h, s, next) => {
      const chunks: Buffer[] = [];
      s.on('data', (d) => chunks.push(d as Buffer));
      s.on('end', () => {
        if (h.type === 'file') data ??= Buffer.concat(chunks);
        next();
      });
    });
    x.on('finish', () => (data ? res(data) : rej(new Error(`${path}: not a file`))));
    x.on('error', rej);
    tar.pipe(x);
  });
}

test('examples/debian-nginx answers HTTP 200 with its page, as nobody', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  await deployExample('debian-nginx/images.ts');
  const nginx = await startService(docker, 'examples/debian-nginx:latest');
  try {
    const r = await eventually('nginx on 8080', () => httpGet(`http://${nginx.ip}:8080/`), 60_000, nginx.logs);
    assert.is(r.status, 200, nginx.logs());
    assert.match(r.body, 'nginx-light from Debian bookworm, built by imgsdk');
    assert.equal([...new Set(await processUids(nginx.container))], ['65534']);
  } finally {
    await nginx.remove();
  }
});

test('examples/uses-shared-bases: Redis on the shared base answers PING with PONG as its own non-root user', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  await deployExample('uses-shared-bases/images.ts');
  const redis = await startService(docker, 'acme/redis:latest');
  try {
    const pong = await eventually('redis on 6379', () => redisCommand(redis.ip, 6379, 'PING'), 60_000, redis.logs);
    assert.is(pong, '+PONG');
    assert.equal(await processUids(redis.container), ['10001'], 'redis-server runs as redis (10001)');
    // Its data goes to the /data volume it owns: SAVE writes /data/dump.rdb.
    assert.is(await redisCommand(redis.ip, 6379, 'SET', 'greeting', 'hello'), '+OK');
    assert.is(await redisCommand(redis.ip, 6379, 'SAVE'), '+OK', redis.logs());
    assert.is((await readContainerFile(redis.container, '/data/dump.rdb')).subarray(0, 5).toString(), 'REDIS');
  } finally {
    await redis.remove();
  }
});

test("the Debian twin of Kubler's nmap finds the port nginx listens on open and another closed", async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  await deployExample('debian-nginx/images.ts');
  await deployExample('kubler-nmap/debian.ts');
  const target = await startService(docker, 'examples/debian-nginx:latest');
  try {
    await eventually('nginx on 8080', () => httpGet(`http://${target.ip}:8080/`), 60_000, target.logs);
    const r = await runOnce(docker, 'mynamespace/nmap-debian:latest', { cmd: ['-sT', '-Pn', '-n', '-p', '8080,8081', target.ip] });
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^8080\/tcp\s+open\b/m);
    assert.match(r.stdout, /^8081\/tcp\s+closed\b/m);
    assert.match(r.stdout, /Nmap done: 1 IP address \(1 host up\)/);
  } finally {
    await target.remove();
  }
});

test("the Debian twin of Staves' bash runs bash -c: $((6*7)) is 42", async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  await deployExample('staves-bash/debian.ts');
  const r = await runOnce(docker, 'staves/bash-debian:latest', { cmd: ['echo $((6*7)) $UID'] });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, '42 65534\n');
});

test("the Debian twin of seed 001's chain (base -> glibc -> zlib/gcc -> java -> webapp) serves the real jar on 8080", async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  await deployExample('gentoo-java/debian.ts');
  const web = await startService(docker, 'matrix/webapp-debian:latest');
  try {
    const r = await eventually('the webapp on 8080', () => httpGet(`http://${web.ip}:8080/`), 180_000, web.logs);
    assert.is(r.status, 200);
    assert.is(r.body, 'Hello from mywebapp on Java 17\n');
    assert.equal([...new Set(await processUids(web.container))], ['65534']);
  } finally {
    await web.remove();
  }
});

test("the Debian twin of Fossil's server answers HTTP and creates its repository in the /museum volume", async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  await deployExample('fossil/debian.ts');
  const fossil = await startService(docker, 'fossil/server-debian:latest');
  try {
    const r = await eventually('fossil on 8080', () => getFollowing(`http://${fossil.ip}:8080`), 60_000, fossil.logs);
    assert.is(r.status, 200, `${r.path}: ${r.body.slice(0, 200)}\n${fossil.logs()}`);
    const repo = await readContainerFile(fossil.container, '/museum/repo.fossil');
    assert.is(repo.subarray(0, 15).toString(), 'SQLite format 3', 'a Fossil repository is an SQLite database');
    const info = await fossil.container.inspect();
    assert.ok(
      info.Mounts.some((m) => m.Destination === '/museum' && m.Type === 'volume'),
      '/museum is a volume',
    );
    assert.equal([...new Set(await processUids(fossil.container))], ['499']);
  } finally {
    await fossil.remove();
  }
});

test("Fossil's Tcl variant runs tclsh from stdin as the notes do, with SQLite's Tcl binding", async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  await deployExample('fossil/debian.ts');
  // echo 'puts [info patchlevel]' | docker exec -i $(make container-version) tclsh
  const script = 'puts [info patchlevel]\npackage require sqlite3\nsqlite3 db :memory:\nputs [db eval {select 6*7}]\n';
  const r = await runOnce(docker, 'fossil/server-tcl-debian:latest', { entrypoint: ['tclsh'], stdin: script });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^8\.6\.\d+\n42\n$/);
});

test("Fossil's Python variant runs python3 -c with its standard library's C modules", async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  await deployExample('fossil/debian.ts');
  const code =
    'import json, sqlite3, ssl, zlib; print(json.dumps([6 * 7, sqlite3.connect(":memory:").execute("select 1").fetchone()[0], ssl.OPENSSL_VERSION.split()[0]]))';
  const r = await runOnce(docker, 'fossil/server-python-debian:latest', { entrypoint: ['python3', '-c', code] });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is(r.stdout, '[42, 1, "OpenSSL"]\n');
});

test('every image built here is measured beside plain Debian with the same packages', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const lines = await measureSizes(docker, deployed, [...made].sort());
  for (const l of lines) console.log(`  ${formatSize(l)}`);
  assert.ok(lines.length > 0, 'something was built');
  for (const l of lines) assert.ok(l.size < l.plain, `${l.id} is smaller than plain Debian`);
});

test.after(async () => {
  await state.cleanUp(await engineOrSkip().catch(() => null), [...made]);
});

test.run();
