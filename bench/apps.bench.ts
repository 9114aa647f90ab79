/**
 * The @imgsdk/apps constructs beside the Dockerfile a user would write for the same
 * app: `FROM` the same Debian builder image, `apt-get install --no-install-recommends`
 * of the same runtime packages, `COPY` of the same files. Per app: image size, cold
 * build and the rebuild after a one-file edit of the app, each measured in this run.
 *
 *   npm run bench -- apps
 *
 * Needs an engine and the `docker` CLI (the Dockerfiles are built with `docker build`).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { hostBinary, jvmApp, nginxConf, nodeApp, pythonApp, staticSite } from '@imgsdk/apps';
import { app, debian, deploy, type Image } from '../src';
import { ensureDebianBuilder } from '../src/runtime/phase1/builders/debian';
import { engineFromDocker } from '../src/runtime/engine/docker';
import { writeApps, type AppKind } from '../test/e2e/_apps';

const NS = `imgsdk-bench-apps-${randomBytes(3).toString('hex')}`;
const builder = debian.builder('imgsdk-e2e/bookworm', { suite: 'bookworm' });

interface Twin {
  readonly image: Image;
  /** Debian packages the Dockerfile installs. */
  readonly packages: readonly string[];
  /** COPY lines, and the files they need in the build context (context name → host path). */
  readonly copy: readonly string[];
  readonly context: Readonly<Record<string, string>>;
  readonly run: string;
  /** The file a one-file edit appends to. */
  readonly edit: string;
}

export async function run(): Promise<void> {
  const docker = new Docker();
  const engine = engineFromDocker(docker);
  const work = mkdtempSync(join(tmpdir(), 'imgsdk-bench-apps-'));
  const tags: string[] = [];
  try {
    const p = writeApps(work);
    const conf = join(work, 'nginx.conf');
    writeFileSync(conf, nginxConf('/srv/www', 8080));
    const twins: Record<AppKind, Twin> = {
      node: {
        image: nodeApp(`${NS}/node`, { builder, dir: p.node, main: 'server.js' }),
        packages: ['nodejs', 'tini'],
        copy: ['COPY node-app/node_modules /app/node_modules', 'COPY node-app /app'],
        context: { 'node-app': p.node },
        run: 'ENTRYPOINT ["/usr/bin/tini", "--", "/usr/bin/node", "/app/server.js"]',
        edit: join(p.node, 'server.js'),
      },
      python: {
        image: pythonApp(`${NS}/python`, { builder, dir: p.python }),
        packages: ['python3', 'tini'],
        copy: ['COPY py-app /app'],
        context: { 'py-app': p.python },
        run: 'ENTRYPOINT ["/usr/bin/tini", "--", "/usr/bin/python3", "/app/main.py"]',
        edit: join(p.python, 'main.py'),
      },
      site: {
        image: staticSite(`${NS}/site`, { builder, dir: p.site }),
        packages: ['nginx-light'],
        copy: ['COPY site /srv/www', 'COPY nginx.conf /etc/nginx/nginx.conf'],
        context: { site: p.site, 'nginx.conf': conf },
        run: 'ENTRYPOINT ["/usr/sbin/nginx", "-e", "stderr"]',
        edit: join(p.site, 'index.html'),
      },
      jvm: {
        image: jvmApp(`${NS}/jvm`, { builder, jar: p.jar }),
        packages: ['openjdk-17-jre-headless'],
        copy: ['COPY hello.jar /app/app.jar'],
        context: { 'hello.jar': p.jar },
        run: 'ENTRYPOINT ["/usr/bin/java", "-jar", "/app/app.jar"]',
        edit: p.jar,
      },
      binary: {
        image: hostBinary(`${NS}/binary`, { builder, binary: p.binary }),
        packages: ['libc6'],
        copy: ['COPY hello /usr/local/bin/hello'],
        context: { hello: p.binary },
        run: 'ENTRYPOINT ["/usr/local/bin/hello"]',
        edit: p.binary,
      },
    };
    const from = await ensureDebianBuilder(engine, builder.def);
    const state = join(work, 'state');
    const imgsdk = async () => {
      const t0 = Date.now();
      const r = await deploy(app(...Object.values(twins).map((t) => t.image)), {
        stateDir: state,
        assemblyDir: join(work, 'out'),
        concurrency: 2,
      });
      const bad = r.images.filter((i) => i.status === 'failed' || i.status === 'skipped');
      if (bad.length) throw new Error(bad.map((i) => `${i.id}: ${i.reason}`).join('\n'));
      for (const i of r.images) tags.push(...i.tags);
      return { seconds: (Date.now() - t0) / 1000, sizes: new Map(r.images.map((i) => [i.id, i.size ?? 0])) };
    };
    const dockerBuild = (kind: AppKind, t: Twin) => {
      const ctx = join(work, `ctx-${kind}`);
      rmSync(ctx, { recursive: true, force: true });
      mkdirSync(ctx);
      for (const [name, src] of Object.entries(t.context)) cpSync(src, join(ctx, name), { recursive: true });
      writeFileSync(
        join(ctx, 'Dockerfile'),
        [
          `FROM ${from}`,
          `RUN apt-get update && apt-get install -y --no-install-recommends ${t.packages.join(' ')} && rm -rf /var/lib/apt/lists/*`,
          ...t.copy,
          'USER 10001',
          t.run,
          '',
        ].join('\n'),
      );
      const tag = `${NS}/dockerfile-${kind}:latest`;
      const t0 = Date.now();
      execFileSync('docker', ['build', '-q', '-t', tag, ctx], { stdio: ['ignore', 'ignore', 'inherit'] });
      tags.push(tag);
      return { seconds: (Date.now() - t0) / 1000, tag };
    };

    const cold = await imgsdk();
    const dockerCold = new Map<AppKind, { seconds: number; tag: string }>();
    for (const [kind, t] of Object.entries(twins) as [AppKind, Twin][]) dockerCold.set(kind, dockerBuild(kind, t));
    // One-file edit of every app, then both again (Docker keeps its cache for the apt layer).
    // (Bytes after a jar's or an ELF file's end change its digest, not what builds; the bench runs nothing.)
    for (const t of Object.values(twins)) appendFileSync(t.edit, '\n');
    // The images read their files when defined: define them again, as a new `imgsdk deploy` loads images.ts again.
    const again = await (async () => {
      const fresh = writeAppsEdited(twins);
      const t0 = Date.now();
      const r = await deploy(app(...fresh), { stateDir: state, assemblyDir: join(work, 'out'), concurrency: 2 });
      return (Date.now() - t0) / 1000 + (r.ok ? 0 : NaN);
    })();
    const dockerEdit = new Map<AppKind, number>();
    for (const [kind, t] of Object.entries(twins) as [AppKind, Twin][]) dockerEdit.set(kind, dockerBuild(kind, t).seconds);

    const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
    console.log(`imgsdk: all five cold ${cold.seconds.toFixed(1)} s, all five after a one-file edit each ${again.toFixed(1)} s`);
    let dockerColdSum = 0;
    let dockerEditSum = 0;
    for (const [kind, t] of Object.entries(twins) as [AppKind, Twin][]) {
      const d = dockerCold.get(kind)!;
      const size = (await docker.getImage(d.tag).inspect()).Size;
      const mine = cold.sizes.get(t.image.id)!;
      dockerColdSum += d.seconds;
      dockerEditSum += dockerEdit.get(kind)!;
      console.log(
        `${kind.padEnd(7)} imgsdk ${mb(mine).padStart(9)}   Dockerfile ${mb(size).padStart(9)}   ${(size / mine).toFixed(1)}x smaller; Dockerfile cold ${d.seconds.toFixed(1)} s, edit ${dockerEdit.get(kind)!.toFixed(1)} s`,
      );
    }
    console.log(
      `Dockerfiles: all five cold ${dockerColdSum.toFixed(1)} s (one at a time), after the edit ${dockerEditSum.toFixed(1)} s; cold ratio imgsdk/Dockerfile ${(cold.seconds / dockerColdSum).toFixed(2)}, edit ratio ${(again / dockerEditSum).toFixed(2)}`,
    );
  } finally {
    for (const t of [...new Set(tags)])
      await docker
        .getImage(t)
        .remove({ force: true })
        .catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

/** The same constructs defined again (their files are read at definition). */
function writeAppsEdited(twins: Record<AppKind, Twin>): Image[] {
  const p = (k: AppKind) => twins[k];
  const dirOf = (f: string) => f.slice(0, f.lastIndexOf('/'));
  return [
    nodeApp(p('node').image.id, { builder, dir: dirOf(p('node').edit), main: 'server.js' }),
    pythonApp(p('python').image.id, { builder, dir: dirOf(p('python').edit) }),
    staticSite(p('site').image.id, { builder, dir: dirOf(p('site').edit) }),
    jvmApp(p('jvm').image.id, { builder, jar: p('jvm').edit }),
    hostBinary(p('binary').image.id, { builder, binary: p('binary').edit }),
  ];
}
