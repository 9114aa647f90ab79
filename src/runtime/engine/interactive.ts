/**
 * An interactive container: a TTY attached to this process's terminal, for
 * `imgsdk shell`. Kept apart from the Engine interface, which runs builds without
 * a terminal; this needs dockerode's hijacked attach. The container is removed
 * when the shell exits, on an error, and on SIGINT/SIGTERM (see cleanup.ts).
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { directoriesTar } from '../../util/tar';
import type Docker from 'dockerode';
import { EngineError, UsageError } from '../../contract/errors';
import { trackContainer } from './cleanup';
import type { Engine, VolumeMount } from './engine';
import { LABEL_IMAGE, LABEL_OWNED } from '../../contract/labels';

/** What the interactive container runs. */
export interface InteractiveOptions {
  readonly image: string;
  readonly cmd: readonly string[];
  /** @default {} */
  readonly env?: Readonly<Record<string, string>>;
  /** @default [] */
  readonly mounts?: readonly VolumeMount[];
  /** Tar archives extracted before the start. @default [] */
  readonly put?: readonly { readonly path: string; readonly tar: Buffer }[];
  /** imgsdk image id, for the `org.imgsdk.image` label. */
  readonly forImage?: string;
  /** Network mode (the builder's, e.g. `host`). @default the engine's default */
  readonly network?: string;
  /** @default process.stdin */
  readonly stdin?: NodeJS.ReadStream;
  /** @default process.stdout */
  readonly stdout?: NodeJS.WriteStream;
}

/** The dockerode client behind an Engine made by connectEngine or engineFromDocker. */
export function dockerOf(engine: Engine): Docker {
  const docker = (engine as { docker?: Docker }).docker;
  if (!docker || typeof docker.createContainer !== 'function') {
    throw new EngineError(`an interactive shell needs a Docker-API engine; ${engine.host} is not one`);
  }
  return docker;
}

/**
 * Runs `opts.cmd` with a TTY wired to the terminal and resolves with its exit
 * code. Throws a UsageError when stdin or stdout is not a terminal.
 * @example const code = await runInteractive(engine, { image: ref, cmd: ['/bin/bash', '-l'] });
 */
export async function runInteractive(engine: Engine, opts: InteractiveOptions): Promise<number> {
  const stdin = opts.stdin ?? process.stdin;
  const stdout = opts.stdout ?? process.stdout;
  if (!stdin.isTTY || !stdout.isTTY) {
    throw new UsageError(
      'an interactive shell needs a terminal: stdin and stdout must be a TTY (run it from a terminal, or use `docker run -it` yourself)',
    );
  }
  const docker = dockerOf(engine);
  const name = `imgsdk-shell-${randomBytes(6).toString('hex')}`;
  const remove = () =>
    docker
      .getContainer(name)
      .remove({ force: true, v: true })
      .catch(() => undefined);
  const untrack = trackContainer(name, remove);
  const labels: Record<string, string> = { [LABEL_OWNED]: '1' };
  if (opts.forImage) labels[LABEL_IMAGE] = opts.forImage;
  try {
    const container = await docker.createContainer({
      name,
      Image: opts.image,
      Cmd: [...opts.cmd],
      Labels: labels,
      Env: Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`),
      Tty: true,
      OpenStdin: true,
      StdinOnce: false,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: {
        NetworkMode: opts.network,
        Mounts: (opts.mounts ?? []).map((m) => ({
          Type: 'volume' as const,
          Source: m.volume,
          Target: m.target,
          ReadOnly: m.readOnly ?? false,
        })),
      },
    });
    for (const p of opts.put ?? []) {
      await container.putArchive(await directoriesTar(posix.normalize(p.path).split('/').filter(Boolean)), { path: '/' });
      await container.putArchive(p.tar, { path: p.path });
    }
    const stream = (await container.attach({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      hijack: true,
    })) as NodeJS.ReadWriteStream & Readable;
    stream.pipe(stdout);
    const wasRaw = stdin.isRaw;
    stdin.setRawMode(true);
    stdin.resume();
    stdin.pipe(stream);
    const resize = () => void container.resize({ h: stdout.rows, w: stdout.columns }).catch(() => undefined);
    try {
      await container.start();
      resize();
      stdout.on('resize', resize);
      const r = (await container.wait()) as { StatusCode: number };
      return r.StatusCode;
    } finally {
      stdout.off('resize', resize);
      stdin.unpipe(stream);
      stdin.setRawMode(wasRaw);
      stdin.pause();
      stream.unpipe(stdout);
      stream.end();
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new EngineError(`interactive container from ${opts.image}: ${(err as Error).message}`, { cause: err });
  } finally {
    await remove();
    untrack();
  }
}
