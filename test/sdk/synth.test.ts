import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ASSEMBLY_VERSION } from '../../src/contract/assembly';
import { AssemblyError, ValidationError } from '../../src/contract/errors';
import { checkVersion, readAssembly } from '../../src/contract/read';
import { app } from '../../src/sdk/app';
import { debian, gentoo } from '../../src/sdk/builder';
import { image } from '../../src/sdk/image';
import { assemble, synth } from '../../src/sdk/synth';
import { SDK_VERSION } from '../../src/contract/version';

const bob = gentoo.builder('kubler/bob', { stage3: 'amd64-hardened-nomultilib' });
const deb = debian.builder('acme/bookworm', { from: 'debian:bookworm-slim' });

const glibc = image('kubler/glibc').builder(bob).packages('sys-libs/glibc').locale('en_US.UTF-8');
const nmap = image('mynamespace/nmap')
  .from(glibc)
  .packages('net-analyzer/nmap')
  .use('net-analyzer/nmap', '+ipv6', '-nls')
  .keywords('=net-analyzer/nmap-7.60', '~amd64')
  .overlay('berne', { uri: 'https://github.com/berney/gentoo-overlay.git' })
  .entrypoint('/usr/bin/nmap')
  .account({ user: 'nmap', uid: 1000 })
  .user('nmap')
  .file('/etc/nmap.conf', 'x=1\n', { owner: 'nmap' })
  .finishRootfs('rm -rf $ROOT/usr/share/doc');
const web = image('acme/web').builder(deb).packages('nginx-light', 'ca-certificates').entrypoint('/usr/sbin/nginx').user('nobody');
const tools = image('acme/tools')
  .from(web)
  .copy({ from: nmap, paths: ['/usr/bin/nmap'] })
  .packages('curl');

const outdir = () => mkdtempSync(join(tmpdir(), 'imgsdk-synth-'));

/** Every file under `dir` with the sha256 of its bytes and its mode, by relative path. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p);
      else
        out[p] =
          createHash('sha256')
            .update(readFileSync(join(dir, p)))
            .digest('hex') +
          ' ' +
          (statSync(join(dir, p)).mode & 0o777).toString(8);
    }
  };
  walk('');
  return out;
}

const theApp = app(glibc, nmap, web, tools);

test('two synths of one app give byte-identical trees, also into a fresh directory', async () => {
  const a = outdir();
  await synth(theApp, { outdir: a });
  const first = tree(a);
  await synth(theApp, { outdir: a });
  assert.equal(tree(a), first);
  const b = outdir();
  await synth(app(tools, web, nmap, glibc), { outdir: b });
  assert.equal(tree(b), first);
  assert.ok(Object.keys(first).length > 10);
});

test('the manifest lists every image with key, parent, builder, dependsOn, tags and dir, and the files', async () => {
  const dir = outdir();
  const asm = await synth(theApp, { outdir: dir });
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  assert.equal(Object.keys(m), ['version', 'sdkVersion', 'images', 'builders', 'order', 'files']);
  assert.is(m.version, ASSEMBLY_VERSION);
  assert.is(m.sdkVersion, SDK_VERSION);
  assert.equal(Object.keys(m.images), ['acme/tools', 'acme/web', 'kubler/glibc', 'mynamespace/nmap']);
  assert.equal(m.images['acme/tools'], {
    builder: 'acme/bookworm',
    dependsOn: ['acme/web', 'mynamespace/nmap'],
    dir: 'acme/tools',
    key: asm.manifest.images['acme/tools'].key,
    parent: 'acme/web',
    tags: [],
    inputs: asm.manifest.images['acme/tools'].inputs,
    phase1Key: asm.manifest.images['acme/tools'].phase1Key,
    phase1Inputs: asm.manifest.images['acme/tools'].phase1Inputs,
  });
  assert.match(m.images['acme/tools'].phase1Key, /^[0-9a-f]{64}$/);
  assert.is.not(m.images['acme/tools'].phase1Key, m.images['acme/tools'].key, 'phase 1 has its own key');
  assert.equal(m.order, [['acme/web', 'kubler/glibc'], ['mynamespace/nmap'], ['acme/tools']]);
  assert.equal(Object.keys(m.builders), ['acme/bookworm', 'kubler/bob']);
  const listed = [...m.files, 'manifest.json'].sort();
  assert.equal(listed, Object.keys(tree(dir)).sort());
  assert.not.match(readFileSync(join(dir, 'manifest.json'), 'utf8'), /\d{4}-\d\d-\d\dT/);
});

test('Debian images get apt/ files and no portage/; Gentoo images get portage/ files and no apt/', async () => {
  const dir = outdir();
  await synth(theApp, { outdir: dir });
  const files = Object.keys(tree(dir));
  const under = (prefix: string) => files.filter((f) => f.startsWith(prefix)).sort();
  assert.equal(under('acme/web/'), [
    'acme/web/apt/apt.conf.d/99imgsdk',
    'acme/web/apt/packages.list',
    'acme/web/apt/sources.list',
    'acme/web/build.sh',
    'acme/web/image.json',
  ]);
  assert.is(readFileSync(join(dir, 'acme/web/apt/packages.list'), 'utf8'), 'nginx-light\nca-certificates\n');
  assert.is(
    readFileSync(join(dir, 'acme/web/apt/sources.list'), 'utf8'),
    '# generated by imgsdk\ndeb http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian bookworm-updates main\n' +
      'deb http://deb.debian.org/debian-security bookworm-security main\n',
  );
  const n = under('mynamespace/nmap/');
  assert.ok(n.includes('mynamespace/nmap/portage/package.use/imgsdk'), n.join(' '));
  assert.ok(n.includes('mynamespace/nmap/portage/package.accept_keywords/imgsdk'));
  assert.ok(n.includes('mynamespace/nmap/portage/repos.conf/berne.conf'));
  assert.ok(n.includes('mynamespace/nmap/hooks/finish-rootfs.sh'));
  assert.ok(!n.some((f) => f.includes('/apt/')));
  assert.ok(!under('acme/').some((f) => f.includes('/portage/')));
  assert.is(
    readFileSync(join(dir, 'mynamespace/nmap/portage/package.use/imgsdk'), 'utf8'),
    '# generated by imgsdk\nnet-analyzer/nmap ipv6 -nls\n',
  );
  const sha = createHash('sha256').update('x=1\n').digest('hex');
  assert.is(readFileSync(join(dir, `mynamespace/nmap/files/${sha}`), 'utf8'), 'x=1\n');
  const def = JSON.parse(readFileSync(join(dir, 'mynamespace/nmap/image.json'), 'utf8'));
  assert.equal(Object.keys(def).slice(0, 4), ['id', 'parent', 'builder', 'packages']);
  assert.equal(def.files[0], {
    gid: 1000,
    mode: 0o644,
    path: '/etc/nmap.conf',
    sha256: sha,
    size: 4,
    target: null,
    type: 'file',
    uid: 1000,
  });
});

test('Gentoo images get the plain lists portage.sh reads, written from image.json (as apt/packages.list for debian.sh)', async () => {
  const dir = outdir();
  await synth(theApp, { outdir: dir });
  const read = (rel: string) => readFileSync(join(dir, 'mynamespace/nmap/portage/imgsdk', rel), 'utf8');
  const def = JSON.parse(readFileSync(join(dir, 'mynamespace/nmap/image.json'), 'utf8'));
  assert.is(read('image'), 'mynamespace/nmap\n');
  assert.is(read('packages.list'), def.packages.map((p: string) => `${p}\n`).join(''));
  assert.is(read('packages.list'), 'net-analyzer/nmap\n');
  assert.is(read('overlays.tsv'), 'berne\tgit\thttps://github.com/berney/gentoo-overlay.git\t\n');
  assert.is(read('accounts.tsv'), 'nmap\t1000\tnmap\t1000\t/home/nmap\t/sbin/nologin\n');
  assert.is(readFileSync(join(dir, 'kubler/glibc/portage/imgsdk/locales.list'), 'utf8'), 'en_US.UTF-8\n');
  // Only lists with content are written.
  const names = readdirSync(join(dir, 'mynamespace/nmap/portage/imgsdk')).sort();
  assert.equal(names, ['accounts.tsv', 'image', 'overlays.tsv', 'packages.list']);
  assert.ok(!existsSync(join(dir, 'acme/web/portage')), 'a Debian image gets none');
});

test('build.sh names the right builder-side script, the image, its phase-1 key and builder, and is executable', async () => {
  const dir = outdir();
  const asm = await synth(theApp, { outdir: dir });
  const nmapSh = readFileSync(join(dir, 'mynamespace/nmap/build.sh'), 'utf8');
  const webSh = readFileSync(join(dir, 'acme/web/build.sh'), 'utf8');
  assert.match(nmapSh, /^#!\/bin\/sh\n/);
  assert.match(nmapSh, /\nexec \/bin\/sh \/imgsdk\/scripts\/portage\.sh \/imgsdk\/in\n$/);
  assert.match(webSh, /\nexec \/bin\/sh \/imgsdk\/scripts\/debian\.sh \/imgsdk\/in\n$/);
  // The container sees only phase 1's inputs, so it gets the phase-1 key, not the image key.
  assert.match(nmapSh, new RegExp(`IMGSDK_KEY='${asm.manifest.images['mynamespace/nmap'].phase1Key}'`));
  assert.match(nmapSh, /IMGSDK_IMAGE='mynamespace\/nmap'/);
  assert.match(nmapSh, /IMGSDK_BUILDER='kubler\/bob'/);
  assert.is(statSync(join(dir, 'acme/web/build.sh')).mode & 0o111, 0o111);
});

test('a re-synth without an image removes exactly its files, and keeps a stray file of the user', async () => {
  const dir = outdir();
  await synth(theApp, { outdir: dir });
  const before = tree(dir);
  writeFileSync(join(dir, 'mynamespace/nmap/NOTES.md'), 'mine');
  mkdirSync(join(dir, 'acme/tools/extra'));
  writeFileSync(join(dir, 'acme/tools/extra/keep.txt'), 'mine too');
  await synth(app(glibc, nmap, web), { outdir: dir });
  const after = tree(dir);
  const gone = Object.keys(before)
    .filter((f) => !(f in after))
    .sort();
  assert.equal(
    gone,
    Object.keys(before)
      .filter((f) => f.startsWith('acme/tools/'))
      .sort(),
  );
  assert.ok(gone.length >= 2);
  assert.ok(existsSync(join(dir, 'mynamespace/nmap/NOTES.md')));
  assert.ok(existsSync(join(dir, 'acme/tools/extra/keep.txt')));
  for (const [f, h] of Object.entries(before)) if (!f.startsWith('acme/tools/') && f !== 'manifest.json') assert.is(after[f], h, f);
  assert.not.ok('acme/tools' in JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).images);
});

test('a re-synth without an image removes its emptied directories, but not the outdir', async () => {
  const dir = outdir();
  await synth(theApp, { outdir: dir });
  await synth(app(glibc, nmap), { outdir: dir });
  assert.not.ok(existsSync(join(dir, 'acme')));
  assert.ok(existsSync(join(dir, 'kubler/glibc/image.json')));
});

test('a synth with problems throws and leaves the previous assembly byte-identical', async () => {
  const dir = outdir();
  await synth(theApp, { outdir: dir });
  const before = tree(dir);
  const broken = app(glibc, nmap.use('net-analyzer/nmap', 'bad flag'), web.packages('zlib1g'), image('acme/x').from('acme/nope'));
  let err: unknown;
  try {
    await synth(broken, { outdir: dir });
  } catch (e) {
    err = e;
  }
  assert.instance(err, ValidationError);
  assert.is((err as ValidationError).problems.length, 2);
  assert.equal(tree(dir), before);
});

test('synth writes to $IMGSDK_OUTDIR when no outdir is given', async () => {
  const dir = outdir();
  const saved = process.env.IMGSDK_OUTDIR;
  process.env.IMGSDK_OUTDIR = join(dir, 'from-env');
  try {
    await synth(app(web));
  } finally {
    if (saved === undefined) delete process.env.IMGSDK_OUTDIR;
    else process.env.IMGSDK_OUTDIR = saved;
  }
  assert.ok(existsSync(join(dir, 'from-env/manifest.json')));
});

test('synth returns its warnings without failing, and writes none of them into the assembly', async () => {
  const dir = outdir();
  const asm = await synth(theApp, { outdir: dir });
  assert.equal(
    asm.warnings.map((w) => [w.id, w.message.split(':')[0]]),
    [['mynamespace/nmap', '.keywords("=net-analyzer/nmap-7.60") does not pin net-analyzer/nmap']],
  );
  assert.match(asm.warnings[0].site!, /synth\.test\.ts:\d+$/);
  for (const f of Object.keys(tree(dir))) assert.not.match(readFileSync(join(dir, f), 'utf8'), /does not pin/, f);
});

test('readAssembly reads what synth wrote, with every image definition', async () => {
  const dir = outdir();
  const asm = await synth(theApp, { outdir: dir });
  const read = await readAssembly(dir);
  assert.equal([...read.images.keys()].sort(), Object.keys(asm.manifest.images));
  assert.equal(read.images.get('acme/tools'), JSON.parse(JSON.stringify(asm.images.get('acme/tools'))));
  assert.is(read.manifest.images['acme/web'].key, asm.manifest.images['acme/web'].key);
});

test('readAssembly refuses a manifest of a newer major version with a clear message, and reads 1.x', async () => {
  const dir = outdir();
  await synth(app(web), { outdir: dir });
  const path = join(dir, 'manifest.json');
  const m = JSON.parse(readFileSync(path, 'utf8'));
  writeFileSync(path, JSON.stringify({ ...m, version: '2.0.0' }));
  let err: unknown;
  try {
    await readAssembly(dir);
  } catch (e) {
    err = e;
  }
  assert.instance(err, AssemblyError);
  assert.match((err as Error).message, /format 2\.0\.0, newer than this imgsdk reads \(1\.0\.0\); upgrade imgsdk/);
  assert.ok((err as Error).message.includes(dir));
  writeFileSync(path, JSON.stringify({ ...m, version: '1.9.3' }));
  assert.is((await readAssembly(dir)).manifest.version, '1.9.3');
});

test('checkVersion rejects a missing or malformed version and accepts older and same majors', () => {
  assert.throws(() => checkVersion(undefined, 'x'), /no valid version/);
  assert.throws(() => checkVersion('one', 'x'), /no valid version/);
  assert.throws(() => checkVersion('3.1.0', 'x'), /newer than this imgsdk reads/);
  checkVersion('1.0.0', 'x');
  checkVersion('1.42.0', 'x');
  checkVersion('0.9.0', 'x');
});

test('readAssembly of a directory without an assembly says to run synth', async () => {
  try {
    await readAssembly(outdir());
    assert.unreachable();
  } catch (e) {
    assert.instance(e, AssemblyError);
    assert.match((e as Error).message, /cannot read manifest\.json \(ENOENT\); run `imgsdk synth` first/);
  }
});

test("a Gentoo child's assembly carries its ancestors' Portage settings and overlays: phase 1 and lock configure its builder as the ancestors' was", () => {
  const parent = image('anc/hello')
    .builder(bob)
    .packages('app-misc/hello')
    .keywords('app-misc/hello', '~amd64')
    .overlay('berne', { uri: 'https://example.org/berne.git' });
  const child = image('anc/greeter').from(parent).packages('app-misc/greeter');
  const asm = assemble(app(child));
  assert.is(
    asm.files.get('anc/greeter/portage/package.accept_keywords/imgsdk'),
    '# generated by imgsdk\n# from anc/hello\napp-misc/hello ~amd64\n',
  );
  assert.is(asm.files.get('anc/greeter/portage/imgsdk/overlays.tsv'), 'berne\tgit\thttps://example.org/berne.git\t\n');
  assert.equal(
    asm.images.get('anc/greeter')!.portage.keywords,
    [],
    "the definition (and so the key) holds the image's own settings; the parent's reach it through the parent's key",
  );
});

test.run();
