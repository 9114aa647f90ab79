/**
 * Every construct of @imgsdk/apps deployed and run the way a user would: the app's
 * files from a project directory, one deploy, each image started, asked over HTTP,
 * and stopped with `docker stop -t 2`: it must exit by SIGTERM (not be killed when the
 * 2 s run out, exit 137). All share the e2e builder.
 */
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostBinary, jvmApp, nodeApp, pythonApp, staticSite } from '@imgsdk/apps';
import { app, deploy, noShell, nonRoot, type Image } from '../../src';
import { bookworm, removeImages, tempDir } from './_app';
import { ANSWERS, writeApps, type AppKind } from './_apps';
import { engineOrSkip } from '../_kit/engine';
import { eventually, httpGet, startService } from './_examples';

const NS = `imgsdk-apps-${randomBytes(4).toString('hex')}`;

test('each construct builds an image that answers HTTP as a non-root user and stops on SIGTERM within 2 s', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const work = tempDir('imgsdk-e2e-apps-');
  const paths = writeApps(work.dir);
  const builder = bookworm;
  const images: Record<AppKind, Image> = {
    node: nodeApp(`${NS}/node`, { builder, dir: paths.node, main: 'server.js' }),
    python: pythonApp(`${NS}/python`, { builder, dir: paths.python }),
    site: staticSite(`${NS}/site`, { builder, dir: paths.site }),
    jvm: jvmApp(`${NS}/jvm`, { builder, jar: paths.jar }),
    binary: hostBinary(`${NS}/binary`, { builder, binary: paths.binary }),
  };
  const ids = Object.values(images).map((i) => i.id);
  try {
    const r = await deploy(app(...Object.values(images)).policy(noShell(), nonRoot()), {
      stateDir: `${work.dir}/state`,
      assemblyDir: `${work.dir}/out`,
      concurrency: 2,
    });
    const failed = r.images.filter((i) => i.status !== 'built' && i.status !== 'cached');
    assert.equal(
      failed.map((i) => `${i.id}: ${i.reason}`),
      [],
    );
    for (const [kind, img] of Object.entries(images) as [AppKind, Image][]) {
      const s = await startService(docker, `${img.id}:latest`);
      try {
        const got = await eventually(`${kind} on ${s.ip}:8080`, () => httpGet(`http://${s.ip}:8080/`), 60_000, s.logs);
        assert.is(got.status, 200, kind);
        assert.is(got.body.trim(), ANSWERS[kind], kind);
        const info = await s.container.inspect();
        assert.match(info.Config.User, /^10001$/, kind);
        const t0 = Date.now();
        await s.container.stop({ t: 2 });
        const stopped = await s.container.inspect();
        assert.is.not(stopped.State.ExitCode, 137, `${kind} was killed when docker stop's 2 s ran out: it ignored SIGTERM`);
        const size = r.images.find((i) => i.id === img.id)!.size!;
        console.log(
          `# ${kind}: ${(size / 1e6).toFixed(1)} MB, answered, stopped by SIGTERM in ${((Date.now() - t0) / 1000).toFixed(2)} s (exit ${stopped.State.ExitCode})`,
        );
      } finally {
        await s.remove();
      }
    }
  } finally {
    await removeImages(docker, ids);
    work.remove();
  }
});

test.run();
