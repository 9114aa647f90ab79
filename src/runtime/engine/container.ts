/**
 * The dockerode side of a ContainerHandle: archives in and out, attach before
 * start with demultiplexed output, wait, and a tail of the output for errors.
 */
import { posix } from 'node:path';
import { type Readable, Writable } from 'node:stream';
import type Docker from 'dockerode';
import { directoriesTar } from '../../util/tar';
import { EngineError } from '../../contract/errors';
import type { ContainerHandle, ContainerState, OutputHandler } from './engine';
import { guardStream } from './watch';

/** Lines of output `tail()` keeps. */
const TAIL_LINES = 30;

/**
 * A created container inside `withContainer`. Engine errors are mapped by the
 * `fail` function of the engine that made it.
 */
export class DockerContainer implements ContainerHandle {
  private output: Promise<void> = Promise.resolve();
  private lines: string[] = [];
  private partial = '';

  constructor(
    private readonly fail: (what: string, err: unknown) => Error,
    private readonly container: Docker.Container,
    readonly name: string,
  ) {}

  get id(): string {
    return this.container.id;
  }

  async putArchive(path: string, tar: Buffer | Readable): Promise<void> {
    try {
      await this.mkdirp(path);
      await this.container.putArchive(tar, { path });
    } catch (err) {
      throw this.fail(`put archive at ${path} in ${this.name}`, err);
    }
  }

  async getArchive(path: string): Promise<Readable> {
    try {
      const res = (await this.container.getArchive({ path })) as Readable;
      return guardStream(res, (err) => this.fail(`get archive ${path} from ${this.name}`, err));
    } catch (err) {
      if (statusOf(err) === 404) throw new EngineError(`${this.name}: no such file ${path}`, { statusCode: 404 });
      throw this.fail(`get archive ${path} from ${this.name}`, err);
    }
  }

  async exportFilesystem(): Promise<Readable> {
    try {
      const res = (await this.container.export()) as Readable;
      return guardStream(res, (err) => this.fail(`export ${this.name}`, err));
    } catch (err) {
      throw this.fail(`export ${this.name}`, err);
    }
  }

  async start(opts: { onOutput?: OutputHandler } = {}): Promise<void> {
    try {
      // Attach before start so no early output is lost.
      const stream = await this.container.attach({ stream: true, stdout: true, stderr: true });
      const sink = (kind: 'stdout' | 'stderr') =>
        new Writable({
          write: (chunk: Buffer, _enc, cb) => {
            this.remember(chunk);
            opts.onOutput?.(chunk, kind);
            cb();
          },
        });
      this.output = new Promise<void>((resolve) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', () => resolve());
      });
      this.container.modem.demuxStream(stream, sink('stdout'), sink('stderr'));
      await this.container.start();
    } catch (err) {
      throw this.fail(`start ${this.name}`, err);
    }
  }

  async wait(): Promise<number> {
    let code: number;
    try {
      const r = (await this.container.wait()) as { StatusCode: number };
      code = r.StatusCode;
    } catch (err) {
      throw this.fail(`wait for ${this.name}`, err);
    }
    // The attach stream ends right after the exit; don't hang if it doesn't.
    await Promise.race([this.output, new Promise((r) => setTimeout(r, 10_000).unref())]);
    return code;
  }

  async run(opts: { onOutput?: OutputHandler } = {}): Promise<number> {
    await this.start(opts);
    return this.wait();
  }

  tail(): string {
    return [...this.lines, this.partial].filter((l) => l !== '').join('\n');
  }

  async state(): Promise<ContainerState> {
    try {
      const info = await this.container.inspect();
      const s = info.State as Docker.ContainerInspectInfo['State'] & { Health?: { Status: string; Log?: { Output: string }[] } };
      const address = Object.values(info.NetworkSettings?.Networks ?? {})
        .map((n) => n.IPAddress)
        .find(Boolean);
      return {
        ...(address ? { address } : {}),
        running: s.Running,
        exitCode: s.Running ? null : s.ExitCode,
        health: s.Health?.Status ?? null,
        healthLog: (s.Health?.Log ?? [])
          .slice(-3)
          .map((l) => l.Output.trim())
          .join('\n'),
      };
    } catch (err) {
      throw this.fail(`inspect ${this.name}`, err);
    }
  }

  private remember(chunk: Buffer): void {
    const parts = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = parts.pop() ?? '';
    this.lines.push(...parts);
    if (this.lines.length > TAIL_LINES) this.lines.splice(0, this.lines.length - TAIL_LINES);
  }

  /** Creates the missing directories of `path`, leaving existing ones (and their modes) alone. */
  private async mkdirp(path: string): Promise<void> {
    const parts = posix.normalize(path).split('/').filter(Boolean);
    let have = parts.length;
    while (have > 0 && !(await this.exists('/' + parts.slice(0, have).join('/')))) have--;
    if (have === parts.length) return;
    await this.container.putArchive(await directoriesTar(parts, have), { path: '/' + parts.slice(0, have).join('/') });
  }

  private async exists(path: string): Promise<boolean> {
    try {
      // A HEAD answered as a stream: drain it, or its socket keeps the process alive.
      const res = (await this.container.infoArchive({ path })) as Readable;
      res.resume();
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}
