import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readAssembly } from '../../src/contract/read';
import { writeDeployed } from '../../src/runtime/deploy/diff';
import { StateDir } from '../../src/runtime/store/state';

// The built CLI, as users run it (`npm test` compiles dist/ first).
const BIN = resolve(__dirname, '..', '..', 'bin', 'imgsdk.js');

/** The fixture app (Gentoo images that cannot be built here, a Debian one) with knobs. */
function app(o: { nls?: '+nls' | '-nls'; webPkgs?: string; glibcHook?: boolean; webConf?: string } = {}): string {
  return `import { debian, gentoo, image } from 'imgsdk';
const bob = gentoo.builder('kubler/bob', { stage3: 'amd64-hardened-nomultilib' });
const deb = debian.builder('acme/bookworm', { from: 'debian:bookworm-slim' });
export const glibc = image('kubler/glibc').builder(bob).packages('sys-libs/glibc')${o.glibcHook ? ".finishRootfs('rm -rf $ROOT/usr/share/doc')" : ''};
export const nmap = image('mynamespace/nmap').from(glibc).packages('net-analyzer/nmap')
  .use('net-analyzer/nmap', '+ipv6', '${o.nls ?? '-nls'}').entrypoint('/usr/bin/nmap').account({ user: 'nmap', uid: 1000 }).user('nmap');
export const lua = image('mynamespace/nmap-lua').from(nmap).packages('dev-lang/lua');
export const web = image('acme/web').builder(deb).packages(${o.webPkgs ?? "'nginx-light'"}).entrypoint('/usr/sbin/nginx').user('nobody')${o.webConf ? `.file('/etc/nginx/nginx.conf', ${JSON.stringify(o.webConf)})` : ''};
export const tools = image('acme/tools').from(web).copy({ from: nmap, paths: ['/usr/bin/nmap'] });
`;
}

let dir: string;
const run = (...args: string[]) => {
  const env = { ...process.env };
  delete env.IMGSDK_OUTDIR;
  delete env.IMGSDK_STATE_DIR;
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const lines = (s: string) => s.trim().split('\n');
const write = (o: Parameters<typeof app>[0] = {}) => writeFileSync(join(dir, 'images.ts'), app(o));

test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'imgsdk-diff-'));
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

test('diff before any synth or deploy says every image is new and exits 3', () => {
  write();
  const r = run('diff');
  assert.is(r.code, 3, r.stderr);
  assert.is(lines(r.stdout).filter((l) => l.includes('rebuild     new: never deployed nor synthesized')).length, 5);
});

/** Records the assembly on disk as deployed, as a deploy of it would. */
async function markDeployed(): Promise<void> {
  const deployed = await readAssembly(join(dir, 'imgsdk.out'));
  const state = new StateDir(join(dir, '.imgsdk'));
  for (const [id, m] of Object.entries(deployed.manifest.images)) await writeDeployed(state, id, m, deployed.images.get(id));
}

test('diff right after synth says every image would rebuild, never deployed, and exits 3: a synth builds nothing', () => {
  write();
  assert.is(run('synth', '-q').code, 0);
  const r = run('diff');
  assert.is(r.code, 3, r.stdout + r.stderr);
  assert.is(lines(r.stdout).filter((l) => /\s+rebuild\s+never deployed$/.test(l)).length, 5);
  assert.match(r.stdout, /^5 of 5 images would rebuild$/m);
});

test('an image never deployed also names what changed since the last synth', () => {
  write();
  assert.is(run('synth', '-q').code, 0);
  write({ nls: '+nls' });
  const nmap = lines(run('diff', '--json').stdout)
    .map((l) => JSON.parse(l))
    .find((e) => e.id === 'mynamespace/nmap');
  assert.equal(
    [nmap.rebuild, nmap.baseline, nmap.reasons],
    [true, 'assembly', ['never deployed', 'since the last synth: flags (USE, keywords, masks, make.conf, overlays)']],
  );
});

test('diff after a deploy finds nothing to rebuild and exits 0', async () => {
  write();
  assert.is(run('synth', '-q').code, 0);
  await markDeployed();
  const r = run('diff');
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^0 of 5 images would rebuild$/m);
});

test("a Debian image's .locale() change is named in Debian words, a Gentoo USE change in Portage words", async () => {
  write();
  assert.is(run('synth', '-q').code, 0);
  await markDeployed();
  writeFileSync(
    join(dir, 'images.ts'),
    app().replace(".entrypoint('/usr/sbin/nginx')", ".locale('de_DE.UTF-8').entrypoint('/usr/sbin/nginx')"),
  );
  const web = lines(run('diff', '--json', 'acme/web').stdout).map((l) => JSON.parse(l))[0];
  assert.equal(web.reasons, ['locales or records (.locale(), .record())']);
});

test('after one USE flag changes, diff lists exactly that image and its descendants, each with the reason, and exits 3', async () => {
  write();
  assert.is(run('synth', '-q').code, 0);
  await markDeployed();
  write({ nls: '+nls' });
  const r = run('diff', '--json');
  assert.is(r.code, 3, r.stderr);
  const rebuild = lines(r.stdout)
    .map((l) => JSON.parse(l))
    .filter((e) => e.rebuild);
  assert.equal(
    rebuild.map((e) => [e.id, e.reasons]),
    [
      ['mynamespace/nmap', ['flags (USE, keywords, masks, make.conf, overlays)']],
      ['acme/tools', ['copied image changed (mynamespace/nmap)']],
      ['mynamespace/nmap-lua', ['parent mynamespace/nmap changed']],
    ].sort((a, b) => rebuild.findIndex((e) => e.id === a[0]) - rebuild.findIndex((e) => e.id === b[0])),
  );
  assert.ok(rebuild.every((e) => e.baseline === 'deployed'));
  const text = run('diff');
  assert.is(text.code, 3);
  assert.match(text.stdout, /^mynamespace\/nmap\s+rebuild\s+flags/m);
  assert.match(text.stdout, /^kubler\/glibc\s+up to date$/m);
  assert.match(text.stdout, /^3 of 5 images would rebuild$/m);
});

test('diff names packages, hooks and the parent, and filters by id', async () => {
  write();
  assert.is(run('synth', '-q').code, 0);
  await markDeployed();
  write({ webPkgs: "'nginx-light', 'curl'", glibcHook: true });
  const r = run('diff', 'kubler/glibc', 'acme/*');
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stdout, /^kubler\/glibc\s+rebuild\s+hooks$/m);
  assert.match(r.stdout, /^acme\/web\s+rebuild\s+packages$/m);
  assert.match(r.stdout, /^acme\/tools\s+rebuild\s+parent acme\/web changed; copied image changed \(mynamespace\/nmap\)$/m);
  assert.not.match(r.stdout, /nmap-lua/);
  assert.match(r.stdout, /^3 of 3 images would rebuild$/m);
});

test('the last deploy recorded in the state directory wins over the assembly on disk', async () => {
  write({ nls: '+nls' });
  assert.is(run('synth', '-q').code, 0);
  const deployed = await readAssembly(join(dir, 'imgsdk.out'));
  const state = new StateDir(join(dir, '.imgsdk'));
  for (const [id, m] of Object.entries(deployed.manifest.images)) await writeDeployed(state, id, m);
  write();
  assert.is(run('synth', '-q').code, 0);
  // The assembly on disk matches the app now, but the deploy was of +nls.
  const r = run('diff', '--json');
  assert.is(r.code, 3, r.stderr);
  const nmap = lines(r.stdout)
    .map((l) => JSON.parse(l))
    .find((e) => e.id === 'mynamespace/nmap');
  assert.is(nmap.baseline, 'deployed');
  assert.equal(nmap.reasons, ['flags (USE, keywords, masks, make.conf, overlays)']);
});

test('after a deploy, a .file() edit names the file and reruns phase 2 only; a new package reruns phase 1', async () => {
  write({ webConf: 'events {}\n' });
  assert.is(run('synth', '-q').code, 0);
  const deployed = await readAssembly(join(dir, 'imgsdk.out'));
  const state = new StateDir(join(dir, '.imgsdk'));
  for (const [id, m] of Object.entries(deployed.manifest.images)) await writeDeployed(state, id, m, deployed.images.get(id));
  write({ webConf: 'events {}\n# edited\n' });
  const edited = lines(run('diff', '--json', 'acme/*').stdout).map((l) => JSON.parse(l));
  assert.equal(
    edited.map((e) => [e.id, e.reasons, e.phase]),
    [
      ['acme/web', ['files changed (/etc/nginx/nginx.conf)'], 'phase2'],
      ['acme/tools', ['parent acme/web changed'], 'phase2'],
    ],
  );
  write({ webConf: 'events {}\n', webPkgs: "'nginx-light', 'curl'" });
  const repackaged = lines(run('diff', '--json', 'acme/*').stdout).map((l) => JSON.parse(l));
  assert.equal(
    repackaged.map((e) => [e.id, e.reasons, e.phase]),
    [
      ['acme/web', ['packages'], 'phase1'],
      // It installs nothing and runs no hook: its rootfs is empty, made without a container.
      ['acme/tools', ['parent acme/web changed'], 'phase2'],
    ],
  );
});

test('diff exits 1 with one line when the app fails to validate', () => {
  writeFileSync(join(dir, 'images.ts'), "import { image } from 'imgsdk';\nexport const a = image('a/b').packages('bad atom!!');\n");
  const r = run('diff');
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /^imgsdk diff: /);
});

test.run();
