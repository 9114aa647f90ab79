/**
 * A user's own process, as a user runs it: `.init()` makes `docker stop` reach a
 * python that ignores SIGTERM as PID 1, and an account a package's install creates
 * (memcached's `memcache`) can be named in `.user()` and `.file()` owners.
 */
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type Docker from 'dockerode';
import { extract } from 'tar-stream';
import { app, deploy, image } from '../../src';
import { bookworm, removeImages, runImage, tempDir } from './_app';
import { engineOrSkip } from '../_kit/engine';

const NS = `imgsdk-init-${randomBytes(4).toString('hex')}`;
const SLEEP = ['/usr/bin/python3', '-c', 'import time; time.sleep(600)'];
const python = image(`${NS}/python`)
  .builder(bookworm)
  .packages('python3-minimal')
  .user('nobody')
  .entrypoint(...SLEEP);
const withInit = image(`${NS}/python-init`).from(python).init();
const memcached = image(`${NS}/memcached`)
  .builder(bookworm)
  .packages('memcached')
  .user('memcache')
  .file('/etc/memcached-extra.conf', '-m 16\n', { owner: 'memcache', mode: 0o640 })
  .entrypoint('/usr/bin/memcached')
  .cmd('-V');
const ghost = image(`${NS}/ghost`).builder(bookworm).packages('memcached').user('ghostuser').entrypoint('/usr/bin/memcached');

/** Starts `ref`, waits until it runs, stops it with `docker stop -t <timeout>`; exit code and seconds stop took. */
async function stopTimed(docker: Docker, ref: string, timeout: number): Promise<{ code: number; seconds: number }> {
  const c = await docker.createContainer({ Image: ref, Labels: { 'org.imgsdk.test': '1' } });
  try {
    await c.start();
    await new Promise((r) => setTimeout(r, 1000));
    const t0 = process.hrtime.bigint();
    await c.stop({ t: timeout });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const info = await c.inspect();
    return { code: info.State.ExitCode, seconds };
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
}

/** uid:gid of `path` in a created (not started) container of `ref`. */
async function ownerOf(docker: Docker, ref: string, path: string): Promise<string> {
  const c = await docker.createContainer({ Image: ref, Labels: { 'org.imgsdk.test': '1' } });
  try {
    const tar = await c.getArchive({ path });
    return await new Promise<string>((resolve, reject) => {
      const x = extract();
      let owner = '';
      x.on('entry', (h, s, next) => {
        owner ||= `${h.uid}:${h.gid}`;
        s.resume();
        s.on('end', next);
      });
      x.on('finish', () => resolve(owner));
      x.on('error', reject);
      tar.pipe(x);
    });
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
}

test('.init() makes docker stop end a python PID 1 by SIGTERM; without it the stop timeout kills it', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const state = tempDir('imgsdk-e2e-init-');
  try {
    const r = await deploy(app(python, withInit, memcached, ghost), {
      stateDir: state.dir,
      assemblyDir: `${state.dir}/out`,
      concurrency: 2,
    });
    const by = (id: string) => r.images.find((i) => i.id === `${NS}/${id}`)!;
    for (const id of ['python', 'python-init', 'memcached'])
      assert.ok(['built', 'cached'].includes(by(id).status), `${id}: ${by(id).reason}`);

    // With tini, SIGTERM reaches python at once: it exits by the signal (143), long before a 2 s stop would kill it (137).
    const inited = await stopTimed(docker, `${NS}/python-init:latest`, 2);
    assert.is(inited.code, 143, `exit ${inited.code} after ${inited.seconds.toFixed(1)} s`);
    // Without, PID 1 ignores SIGTERM and is killed when the timeout runs out.
    const bare = await stopTimed(docker, `${NS}/python:latest`, 2);
    assert.is(bare.code, 137, `exit ${bare.code} after ${bare.seconds.toFixed(1)} s`);
    console.log(
      `# docker stop: with .init() ${inited.seconds.toFixed(2)} s (exit ${inited.code}); without, killed after the 2 s timeout: ${bare.seconds.toFixed(2)} s`,
    );

    // memcached's postinst creates memcache: the config says its ids, the file is its.
    const run = await runImage(docker, `${NS}/memcached:latest`);
    assert.is(run.code, 0, run.out);
    assert.match(run.out, /^memcached \d/);
    // A named user is its uid alone in the config, so the runtime takes its groups from /etc/group.
    assert.match(run.user, /^\d+$/);
    assert.is.not(run.user, '0');
    assert.is((await ownerOf(docker, `${NS}/memcached:latest`, '/etc/memcached-extra.conf')).split(':')[0], run.user);

    // A name no package created fails that image, naming it and the account, and tags nothing.
    assert.is(by('ghost').status, 'failed');
    assert.match(
      by('ghost').reason,
      `${NS}/ghost: user "ghostuser" is not an account of the image: no .account() declares it and no package's install created it (the image's accounts are memcache)`,
    );
    const tags = (await docker.listImages()).flatMap((i) => i.RepoTags ?? []).filter((t) => t.startsWith(`${NS}/ghost:`));
    assert.equal(tags, []);
  } finally {
    await removeImages(
      docker,
      [python, withInit, memcached, ghost].map((i) => i.id),
    );
    state.remove();
  }
});

test.run();
