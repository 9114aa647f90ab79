import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { extract, pack } from 'tar-stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEPENDS, FILES, parseRows, STEPS } from '../../../../src/contract/builder-files';
import { engineFromDocker } from '../../../../src/runtime/engine/docker';
import type { Engine, VolumeMount } from '../../../../src/runtime/engine/engine';
import { randomBytes } from 'node:crypto';
import { testBuilderImage } from '../../../_kit/builder';
import { engineOrSkip } from '../../../_kit/engine';

const SCRIPT = join(__dirname, '..', '..', '..', '..', 'src', 'runtime', 'phase1', 'scripts', 'debian.sh');
const mirror = process.env.IMGSDK_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';

let docker: Docker | null = null;
let engine: Engine;
let image: string;

test.before(async () => {
  docker = await engineOrSkip();
  if (!docker) return;
  engine = engineFromDocker(docker);
  image = await testBuilderImage(docker);
});

interface Entry {
  readonly type: string;
  readonly mode: number;
  readonly uid: number;
  readonly linkname: string | null;
  readonly body: Buffer;
}

async function tarOf(files: Record<string, string>, mode = 0o644): Promise<Buffer> {
  const p = pack();
  for (const [name, body] of Object.entries(files)) p.entry({ name, mode, uid: 0, gid: 0, mtime: new Date(0) }, body);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function entries(tar: Readable | Buffer): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  const ex = extract();
  if (Buffer.isBuffer(tar)) ex.end(tar);
  else tar.pipe(ex);
  for await (const e of ex) {
    const chunks: Buffer[] = [];
    for await (const c of e) chunks.push(c as Buffer);
    const h = e.header;
    assert.not.ok(out.has(h.name), `${h.name} is in the tar twice`);
    out.set(h.name, {
      type: h.type ?? 'file',
      mode: (h.mode ?? 0) & 0o7777,
      uid: h.uid ?? -1,
      linkname: h.linkname ?? null,
      body: Buffer.concat(chunks),
    });
  }
  return out;
}

/** Runs debian.sh in the test builder with the given image dir; exit code, output, and /imgsdk/out. */
async function phase1(input: Record<string, string>, mounts: readonly VolumeMount[] = [], builder = image) {
  const script = await readFile(SCRIPT, 'utf8');
  const lib = await readFile(join(SCRIPT, '..', 'lib.sh'), 'utf8');
  const lines: string[] = [];
  return engine.withContainer({ image: builder, cmd: ['sh', '/imgsdk/debian.sh'], mounts }, async (c) => {
    await c.putArchive('/imgsdk', await tarOf({ 'debian.sh': script, 'lib.sh': lib }, 0o755));
    await c.putArchive('/imgsdk/in', await tarOf(input));
    const code = await c.run({ onOutput: (chunk) => lines.push(chunk.toString()) });
    const out = code === 0 ? await entries(await c.getArchive('/imgsdk/out')) : new Map<string, Entry>();
    return { code, output: lines.join(''), out };
  });
}

const base = {
  'image.json': '{}\n',
  'apt/sources.list': `deb ${mirror} bookworm main\n`,
  'apt/apt.conf.d/99imgsdk': 'APT::Install-Recommends "false";\nAcquire::Retries "3";\n',
};

test("nginx-light: the closure of the package, its files canonical under usr, the parent's packages as files only", async () => {
  if (!docker) return;
  const { code, output, out } = await phase1({
    ...base,
    'apt/packages.list': 'nginx-light\n',
    'parent-packages.list': 'zlib1g\nlibpcre2-8-0\n',
    'hooks/configure-rootfs.sh': 'mkdir -p "$ROOT/etc" && echo configured > "$ROOT/etc/imgsdk-configured"\n',
    'hooks/finish-rootfs.sh': 'test -x "$ROOT/usr/sbin/nginx" && echo finished > "$ROOT/etc/imgsdk-finished"\n',
  });
  assert.is(code, 0, output);
  assert.ok(output.split('\n').some((l) => l.startsWith('imgsdk: computing the package closure')));

  const packages = JSON.parse(out.get('out/packages.json')!.body.toString()) as {
    name: string;
    version: string;
    arch: string;
    source: string;
    origin: string;
  }[];
  const names = packages.map((p) => p.name);
  assert.equal(names, [...names].sort(), 'sorted by name');
  for (const n of ['nginx-light', 'nginx', 'nginx-common', 'libc6', 'libssl3']) assert.ok(names.includes(n), `${n} in the closure`);
  for (const n of ['zlib1g', 'libpcre2-8-0']) assert.not.ok(names.includes(n), `${n} is the parent's`);
  assert.not.ok(names.includes('apt'), 'the builder itself is not in the closure');
  const libc = packages.find((p) => p.name === 'libc6')!;
  assert.equal({ source: libc.source, origin: libc.origin }, { source: 'glibc', origin: 'debian' });
  assert.match(libc.version, /^2\.\d+/);

  const rootfs = await entries(out.get('out/rootfs.tar')!.body);
  const names2 = [...rootfs.keys()];
  assert.ok(
    names2.every((n) => n === './' || n.startsWith('./')),
    'relative ./ paths',
  );
  assert.ok(
    names2.every((n) => rootfs.get(n)!.uid === 0),
    'numeric root owners',
  );
  assert.is(rootfs.get('./usr/sbin/nginx')?.type, 'file');
  assert.is(rootfs.get('./usr/sbin/nginx')?.mode, 0o755);
  assert.is(rootfs.get('./etc/nginx/nginx.conf')?.type, 'file');
  const enabled = rootfs.get('./etc/nginx/modules-enabled/50-mod-http-echo.conf');
  assert.equal([enabled?.type, enabled?.linkname], ['symlink', '/usr/share/nginx/modules-available/mod-http-echo.conf']);
  assert.is(rootfs.get('./var/www/html/index.nginx-debian.html')?.type, 'file', 'created by a maintainer script');
  // The merged layout: /lib is the symlink, libc lives under usr/lib once.
  assert.equal([rootfs.get('./lib')?.type, rootfs.get('./lib')?.linkname], ['symlink', 'usr/lib']);
  const libcFiles = names2.filter((n) => n.endsWith('/libc.so.6'));
  assert.equal(libcFiles.length, 1, libcFiles.join(', '));
  assert.match(libcFiles[0], /^\.\/usr\/lib\/[^/]+-linux-gnu\/libc\.so\.6$/);
  assert.not.ok(
    names2.some((n) => /^\.\/(lib|bin|sbin|lib64)\//.test(n)),
    'nothing through a usrmerge symlink',
  );
  // The parent's packages come as files only (the pipeline keeps what the parent slimmed
  // away and this image loads): in files.tsv under their package, not in packages.json.
  const owners = out.get('out/files.tsv')!.body.toString();
  assert.match(owners, /\/libz\.so\.1[^\n]*\tzlib1g\n/);
  assert.match(owners, /\/libpcre2-8\.so\.0[^\n]*\tlibpcre2-8-0\n/);
  // Directories a package ships (/var/log/nginx) stay; state written into them does not.
  const bookkeeping = names2.filter(
    (n) =>
      /^\.\/(var\/lib\/dpkg|var\/lib\/apt|etc\/rc\d\.d)\//.test(n) ||
      (/^\.\/var\/(cache|log)\//.test(n) && rootfs.get(n)!.type !== 'directory'),
  );
  assert.equal(bookkeeping, [], 'no bookkeeping');
  assert.is(rootfs.get('./etc/imgsdk-configured')?.body.toString(), 'configured\n');
  assert.is(rootfs.get('./etc/imgsdk-finished')?.body.toString(), 'finished\n');

  // The outputs through the readers of contract/builder-files.ts, as phase 1 reads them.
  const files = parseRows(FILES, out.get('out/files.tsv')!.body.toString());
  assert.ok(files.some((r) => r.path === '/usr/sbin/nginx' && r.package === 'nginx'));
  assert.ok(files.some((r) => /^\/usr\/lib\/[^/]+-linux-gnu\/libc\.so\.6$/.test(r.path) && r.package === 'libc6'));
  const owners2 = new Set(files.map((r) => r.package));
  for (const n of names) assert.ok(owners2.has(n), `files.tsv names ${n}'s files`);
  // Every dependency of the closure resolved once, in the builder, to a package of the closure or the parent's.
  const depends = parseRows(DEPENDS, out.get('out/depends.tsv')!.body.toString());
  const closure = new Set([...names, 'zlib1g', 'libpcre2-8-0']);
  assert.ok(depends.length > names.length, `${depends.length} resolved dependencies`);
  for (const d of depends) assert.ok(closure.has(d.package) && closure.has(d.depends), `${d.package} -> ${d.depends} stays in the closure`);
  assert.ok(depends.some((d) => d.package === 'nginx' && d.depends === 'nginx-common'));
  assert.ok(depends.some((d) => d.package === 'nginx' && d.depends === 'libc6'));
  const size = [...rootfs.values()].reduce((s, e) => s + e.body.length, 0);
  console.log(`  nginx-light closure: ${names.length} packages, ${rootfs.size} entries, ${(size / 1e6).toFixed(1)} MB`);
});

test("the builder's .deb cache: what one run downloads the next takes, each .deb only when its sha256 is the index's", async () => {
  if (!docker) return;
  const volume = `imgsdk-test-debs-${randomBytes(4).toString('hex')}`;
  const mounts = [{ volume, target: '/imgsdk/debs' }];
  const input = { ...base, 'apt/packages.list': 'jq\n' };
  try {
    const first = await phase1(input, mounts);
    assert.is(first.code, 0, first.output);
    const inVolume = (cmd: string) =>
      engine.withContainer({ image, cmd: ['sh', '-c', cmd], mounts }, async (c) => {
        const lines: string[] = [];
        assert.is(await c.run({ onOutput: (chunk) => lines.push(chunk.toString()) }), 0, lines.join(''));
        return lines.join('').trim();
      });
    const cached = (await inVolume('cd /imgsdk/debs && ls *.deb')).split('\n');
    for (const p of ['jq', 'libjq1', 'libonig5'])
      assert.ok(
        cached.some((f) => f.startsWith(`${p}_`)),
        `${p} cached: ${cached.join(' ')}`,
      );
    // jq's .deb damaged, at its size: apt alone would take it (it checks the size of what it finds).
    await inVolume('f=$(ls /imgsdk/debs/jq_*.deb) && printf damaged | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null');
    const second = await phase1(input, mounts);
    assert.is(second.code, 0, second.output);
    assert.match(second.output, new RegExp(`imgsdk: ${cached.length - 1} of the \\.debs to install from the builder's cache`));
    assert.match(second.output, /Get:\d+ \S+ \S+ \S+ jq /, 'the damaged .deb was downloaded again');
  } finally {
    await engine.removeVolume(volume).catch(() => false);
  }
});

test('the script marks its steps with times the host reads', async () => {
  if (!docker) return;
  const { code, output, out } = await phase1({ ...base, 'apt/packages.list': 'hello\n' });
  assert.is(code, 0, output);
  const marks = parseRows(STEPS, out.get('out/steps.tsv')!.body.toString());
  assert.equal(
    [...new Set(marks.map((m) => m.step))],
    ['setup', 'apt-update', 'files', 'apt-download', 'apt-install', 'rootfs-tar', 'end'],
  );
  const times = marks.map((m) => Number(m.ms));
  assert.equal(
    times,
    [...times].sort((a, b) => a - b),
    'in order',
  );
  assert.ok(Math.abs(times[0] - Date.now()) < 10 * 60_000, 'milliseconds since the epoch');
});

test('a package apt cannot find fails with a clear message', async () => {
  if (!docker) return;
  const { code, output } = await phase1({ ...base, 'apt/packages.list': 'no-such-package-imgsdk\n' });
  assert.is.not(code, 0);
  assert.match(output, 'imgsdk: error: apt-get install failed');
});

test('a missing packages.list is named', async () => {
  if (!docker) return;
  const { code, output } = await phase1({ 'image.json': '{}\n' });
  assert.is.not(code, 0);
  assert.match(output, 'imgsdk: error: /imgsdk/in/apt/packages.list is missing');
});

/** The archive's candidate version of `pkg` (bookworm main), asked in the test builder. */
async function candidate(pkg: string): Promise<string> {
  const lines: string[] = [];
  await engine.withContainer(
    {
      image,
      cmd: [
        'sh',
        '-c',
        `printf 'deb ${mirror} bookworm main\n' >/etc/apt/sources.list && apt-get update -qq >/dev/null && apt-cache show --no-all-versions ${pkg} | sed -n 's/^Version: //p'`,
      ],
    },
    async (c) => {
      assert.is(await c.run({ onOutput: (chunk) => lines.push(chunk.toString()) }), 0, lines.join(''));
    },
  );
  return lines.join('').trim().split('\n').pop()!;
}

test('a locked .deb of another architecture is checked by version only; of its own, by sha256 too', async () => {
  if (!docker) return;
  const version = await candidate('libonig5');
  const wrong = '0'.repeat(64);
  const locked = (arch: string) => ({
    ...base,
    'apt/packages.list': 'libonig5\n',
    'apt/lock.tsv': `libonig5\t${version}\t${wrong}\t${arch}\n`,
  });
  const other = await phase1(locked('arm64'));
  assert.is(other.code, 0, other.output);
  const packages = JSON.parse(other.out.get('out/packages.json')!.body.toString()) as { name: string; version: string }[];
  assert.equal(packages.find((p) => p.name === 'libonig5')?.version, version, 'libonig5 is installed at its locked version');
  const own = await phase1(locked('amd64'));
  assert.is.not(own.code, 0);
  assert.match(own.output, `imgsdk.lock pins libonig5 ${version} with sha256 ${wrong}`);
});

/**
 * The test builder with package lists of bookworm main (as a builder keeps those of its
 * bootstrap): a container of it that ran apt-get update, committed under a name of
 * this run. Removed by the caller.
 */
async function builderWithLists(): Promise<string> {
  const repo = `imgsdk-test/debian-lists-${randomBytes(4).toString('hex')}`;
  const c = await docker!.createContainer({
    Image: image,
    Cmd: ['sh', '-c', `printf 'deb ${mirror} bookworm main\n' >/etc/apt/sources.list && apt-get update -qq`],
  });
  try {
    await c.start();
    assert.is((await c.wait()).StatusCode, 0, 'apt-get update in the test builder');
    await c.commit({ repo, tag: 'latest' });
  } finally {
    await c.remove({ force: true });
  }
  return `${repo}:latest`;
}

test("locked, with every locked version in the builder's lists, apt-get update is skipped; what is installed is the lock", async () => {
  if (!docker) return;
  const withLists = await builderWithLists();
  try {
    const lines: string[] = [];
    await engine.withContainer(
      { image: withLists, cmd: ['sh', '-c', "apt-cache show --no-all-versions libonig5 | sed -n 's/^\\(Version\\|SHA256\\): //p'"] },
      async (c) => {
        assert.is(await c.run({ onOutput: (chunk) => lines.push(chunk.toString()) }), 0, lines.join(''));
      },
    );
    const [version, sha256] = lines.join('').trim().split('\n');
    const { code, output, out } = await phase1(
      { ...base, 'apt/packages.list': 'libonig5\n', 'apt/lock.tsv': `libonig5\t${version}\t${sha256}\t\n` },
      [],
      withLists,
    );
    assert.is(code, 0, output);
    assert.match(output, "imgsdk: the builder's package lists have the 1 locked versions: no apt-get update");
    assert.not.match(output, /imgsdk: apt-get update/);
    const packages = JSON.parse(out.get('out/packages.json')!.body.toString()) as { name: string; version: string }[];
    assert.equal(packages.find((p) => p.name === 'libonig5')?.version, version);
  } finally {
    await engine.removeImage(withLists, { force: true }).catch(() => false);
  }
});

test.run();
