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

/** A Debian app whose builder names `platforms` (none: the host's), a base and a jq image on it. */
function app(platforms: string[] | null): string {
  return `import { debian, image } from 'imgsdk';
const deb = debian.builder('acme/bookworm', { suite: 'bookworm'${platforms ? `, platforms: ${JSON.stringify(platforms)}` : ''} });
export const base = image('acme/base').builder(deb).packages('libc6');
export const jq = image('acme/jq').from(base).packages('jq').entrypoint('/usr/bin/jq').user('nobody');
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
const write = (platforms: string[] | null) => writeFileSync(join(dir, 'images.ts'), app(platforms));
/** Synthesizes and records the assembly as deployed, as a deploy of it would. */
async function synthDeployed(): Promise<void> {
  assert.is(run('synth', '-q').code, 0);
  const a = await readAssembly(join(dir, 'imgsdk.out'));
  const state = new StateDir(join(dir, '.imgsdk'));
  for (const [id, m] of Object.entries(a.manifest.images)) await writeDeployed(state, id, m, a.images.get(id));
}

test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'imgsdk-platforms-'));
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

test('ls lists one row per platform, each with its own key; an app without platforms has no PLATFORM column', () => {
  write(null);
  const plain = run('ls');
  assert.is(plain.code, 0, plain.stderr);
  assert.match(plain.stdout, /^ID\s+PARENT\s+BUILDER\s+KEY$/m);
  const plainJq = /^acme\/jq\s+acme\/base\s+acme\/bookworm\s+([0-9a-f]{12})$/m.exec(plain.stdout)![1];
  write(['linux/amd64', 'linux/arm64']);
  const r = run('ls');
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ID\s+PARENT\s+BUILDER\s+PLATFORM\s+KEY$/m);
  const amd = /^acme\/jq\s+acme\/base\s+acme\/bookworm\s+linux\/amd64\s+([0-9a-f]{12})$/m.exec(r.stdout)![1];
  const arm = /^acme\/jq\s+acme\/base\s+acme\/bookworm\s+linux\/arm64\s+([0-9a-f]{12})$/m.exec(r.stdout)![1];
  assert.is(amd, plainJq, 'naming linux/amd64 beside arm64 keeps the amd64 key');
  assert.is.not(arm, amd);
  const json = JSON.parse(run('ls', '--json').stdout) as { id: string; platform: string }[];
  assert.equal(
    json.filter((x) => x.id === 'acme/jq').map((x) => x.platform),
    ['linux/amd64', 'linux/arm64'],
  );
});

test('graph names the platforms of builders and images', () => {
  write(['linux/amd64', 'linux/arm64']);
  const r = run('graph');
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /"builder:acme\/bookworm" \[shape=box, label="builder:acme\/bookworm \[linux\/amd64, linux\/arm64\]"\];/);
  assert.match(r.stdout, /"acme\/jq" \[shape=ellipse, label="acme\/jq \[linux\/amd64, linux\/arm64\]"\];/);
  assert.match(run('graph', '--format', 'mermaid').stdout, /\("acme\/jq \[linux\/amd64, linux\/arm64\]"\)/);
});

test('diff after adding linux/arm64 says only the arm64 builds are new; the amd64 ones are up to date', async () => {
  write(null);
  await synthDeployed();
  write(['linux/amd64', 'linux/arm64']);
  const r = run('diff');
  assert.is(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stdout, /^acme\/jq\s+rebuild\s+linux\/arm64: new platform$/m);
  assert.match(r.stdout, /^acme\/base\s+rebuild\s+linux\/arm64: new platform$/m);
  const json = run('diff', '--json')
    .stdout.trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { id: string; platforms: { platform: string; rebuild: boolean }[] });
  assert.equal(
    json.find((e) => e.id === 'acme/jq')!.platforms.map((p) => [p.platform, p.rebuild]),
    [
      ['linux/amd64', false],
      ['linux/arm64', true],
    ],
  );
  // Deployed for both, then narrowed back to amd64: nothing to build, and diff says what is gone.
  await synthDeployed();
  write(['linux/amd64']);
  const narrowed = run('diff');
  assert.match(narrowed.stdout, /^acme\/jq\s+rebuild\s+no longer built for linux\/arm64$/m);
});

test.run();
