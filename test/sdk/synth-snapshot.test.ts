/**
 * One assembly per builder kind, pinned byte for byte: a small fixed app is
 * synthesized and its whole tree (every path, mode and byte, manifest.json too)
 * compared with the committed snapshot under snapshots/. Any change to what synth
 * writes (an input phase 1 reads, a key, the manifest) shows up here as a diff to
 * review. An intentional change is recorded with
 *
 *   UPDATE_SNAPSHOTS=1 node scripts/run-tests.js synth-snapshot
 *
 * and the new snapshot committed with it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, type App } from '../../src/sdk/app';
import { debian, gentoo } from '../../src/sdk/builder';
import { image } from '../../src/sdk/image';
import { synth } from '../../src/sdk/synth';

const SNAPSHOTS = join(__dirname, 'snapshots');
/** A fixed SOURCE_DATE_EPOCH, so the snapshot does not follow the environment's. */
const EPOCH = 1_700_000_000;

const bookworm = debian.builder('snap/bookworm', { suite: 'bookworm' });
const bob = gentoo.builder('snap/bob', { stage3: 'amd64-hardened-nomultilib' });
const multi = debian.builder('snap/bookworm-multi', { suite: 'bookworm', platforms: ['linux/amd64', 'linux/arm64'] });

/** The apps, one per builder kind: a parent and a child using the kind's inputs. */
const APPS: Record<string, () => App> = {
  debian: () => {
    const base = image('snap/base').builder(bookworm).packages('libc6', 'ca-certificates').locale('de_DE.UTF-8').user('nobody');
    const web = image('snap/web')
      .from(base)
      .packages('nginx-light')
      .file('/etc/nginx/conf.d/snap.conf', 'server { listen 8080; }\n')
      .configureRootfs('echo configure')
      .finishRootfs('rm -rf "$ROOT/usr/share/doc"')
      .entrypoint('/usr/sbin/nginx', '-g', 'daemon off;');
    return app(base, web);
  },
  gentoo: () => {
    const glibc = image('snap/glibc').builder(bob).packages('sys-libs/glibc').locale('en_US.UTF-8');
    const tool = image('snap/nmap')
      .from(glibc)
      .packages('net-analyzer/nmap')
      .use('net-analyzer/nmap', '+ipv6', '-nls')
      .keywords('=net-analyzer/nmap-7.60', '~amd64')
      .overlay('snapov', { uri: 'https://example.invalid/overlay.git' })
      .download('https://example.invalid/nmap-data.tar.gz', 'a'.repeat(64))
      .record('net-analyzer', 'nmap-data-7.60')
      .uninstall('app-misc/pax-utils')
      .noBinpkgCache('net-analyzer/nmap')
      .runtimeLibs('gcc')
      .account({ user: 'nmap', uid: 1000 })
      .user('nmap')
      .entrypoint('/usr/bin/nmap');
    return app(glibc, tool);
  },
  'foreign-platform': () => {
    const hello = image('snap/hello').builder(multi).packages('hello').user('nobody').entrypoint('/usr/bin/hello');
    return app(hello);
  },
};

/**
 * The tree as one text: per file a header line (`=== path mode size`) and its bytes
 * (text as it is; anything else, such as a body that is not UTF-8, as base64).
 */
function render(dir: string): string {
  const files: string[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk('');
  return files
    .map((p) => {
      const bytes = readFileSync(join(dir, p));
      const mode = (statSync(join(dir, p)).mode & 0o777).toString(8);
      const text = bytes.toString('utf8');
      const plain = Buffer.from(text, 'utf8').equals(bytes) && !text.includes('\0');
      return `=== ${p} ${mode} ${bytes.length}${plain ? '' : ' base64'}\n${plain ? text : bytes.toString('base64')}\n`;
    })
    .join('');
}

for (const [kind, make] of Object.entries(APPS)) {
  test(`the assembly of a ${kind} app is byte for byte the committed snapshot`, async () => {
    const out = mkdtempSync(join(tmpdir(), `imgsdk-snapshot-${kind}-`));
    try {
      await synth(make(), { outdir: out, epoch: EPOCH });
      const got = render(out);
      const file = join(SNAPSHOTS, `${kind}.snap`);
      if (process.env.UPDATE_SNAPSHOTS === '1') writeFileSync(file, got);
      const want = readFileSync(file, 'utf8');
      assert.fixture(
        got,
        want,
        `the ${kind} assembly differs from test/sdk/snapshots/${kind}.snap (UPDATE_SNAPSHOTS=1 records an intentional change)`,
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
}

test('each snapshot pins an image directory per image, build.sh naming its phase-1 script', () => {
  for (const kind of Object.keys(APPS)) {
    const snap = readFileSync(join(SNAPSHOTS, `${kind}.snap`), 'utf8');
    const entries = snap.match(/^=== \S+\/build\.sh /gm) ?? [];
    assert.ok(entries.length >= 1, `${kind}: a build.sh per image`);
    assert.match(
      snap,
      kind === 'gentoo' ? /exec \/bin\/sh \/imgsdk\/scripts\/portage\.sh/ : /exec \/bin\/sh \/imgsdk\/scripts\/debian\.sh/,
    );
  }
});

test.run();
