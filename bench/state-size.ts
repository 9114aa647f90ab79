/**
 * The state directory's size after a newcomer-like session: 15 deploys of 5 small
 * images with edits between them (every deploy edits a `.file()` of each image and
 * an env; every fifth changes the base's packages, so phase 1 runs again for all),
 * once without garbage collection (as before it existed) and once with the default
 * one a deploy runs. Prints both sizes after each deploy and at the end.
 *
 * Needs a Docker engine and Debian's archive (the e2e tests' builder). Images go to
 * a namespace of this run's own and are removed at the end.
 *   npm run bench:state [-- DEPLOYS]
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { app, debian, deploy, image } from '../src';

const DEPLOYS = Number(process.argv[2] ?? 15);
const NS = `imgsdk-gcbench-${randomBytes(3).toString('hex')}`;
const bookworm = debian.builder('imgsdk-e2e/bookworm', { suite: 'bookworm' });

/** The app as it is at deploy `n`: 1 MB of data per image that changes every time, the base's packages every fifth. */
function appAt(n: number) {
  const data = (id: string) => randomBytes(512 * 1024).toString('hex') + `${id} ${n}\n`;
  const base = image(`${NS}/base`)
    .builder(bookworm)
    .packages(...(Math.floor(n / 5) % 2 ? ['libc6', 'libgcc-s1'] : ['libc6']))
    .file('/etc/app/base.txt', data('base'))
    .env('EDIT', String(n))
    .user('nobody')
    .entrypoint('/usr/lib/x86_64-linux-gnu/libc.so.6');
  const kids = ['hello', 'web', 'api', 'worker'].map((k) =>
    image(`${NS}/${k}`)
      .from(base)
      .packages(...(k === 'hello' ? ['hello'] : []))
      .file(`/srv/${k}/data.txt`, data(k))
      .env('EDIT', String(n)),
  );
  return app(base, ...kids);
}

const du = (dir: string) => Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;

async function session(gc: boolean): Promise<number> {
  const state = mkdtempSync(join(tmpdir(), `imgsdk-gcbench-state-`));
  const out = mkdtempSync(join(tmpdir(), `imgsdk-gcbench-out-`));
  try {
    for (let n = 1; n <= DEPLOYS; n++) {
      const r = await deploy(appAt(n), { stateDir: state, assemblyDir: out, ...(gc ? {} : { gc: false }) });
      if (!r.ok)
        throw new Error(
          `deploy ${n} failed: ${r.images
            .filter((i) => i.status !== 'built' && i.status !== 'cached')
            .map((i) => `${i.id}: ${i.reason}`)
            .join('; ')}`,
        );
      process.stdout.write(`${gc ? 'with GC   ' : 'without GC'} deploy ${String(n).padStart(2)}: ${mb(du(state))}\n`);
    }
    return du(state);
  } finally {
    rmSync(state, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }
}

(async () => {
  try {
    const without = await session(false);
    const withGc = await session(true);
    process.stdout.write(
      `\nstate directory after ${DEPLOYS} deploys of 5 images: ${mb(without)} without GC, ${mb(withGc)} with GC (${(without / withGc).toFixed(1)}x smaller)\n`,
    );
  } finally {
    const ids = execFileSync('docker', ['images', '--filter', `reference=${NS}/*`, '-q'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    if (ids.length) execFileSync('docker', ['rmi', '-f', ...new Set(ids)], { stdio: 'ignore' });
  }
})().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
