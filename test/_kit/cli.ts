/**
 * The CLI as a user runs it (`bin/imgsdk.js` in a child process), without blocking
 * the event loop: a test that serves an archive or a registry from its own process
 * keeps answering while the command runs.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

/** The repository's CLI entry. */
export const BIN = join(resolve(__dirname, '..', '..'), 'bin', 'imgsdk.js');

export interface CliRun {
  /** The exit code; -1 when the process was killed by a signal. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly cwd?: string;
  /** Added to this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Variables of this process's environment the command must not see (IMGSDK_OUTDIR of a CI job). */
  readonly unset?: readonly string[];
  /** Kills the command (SIGKILL) after this long. @default no limit */
  readonly timeoutMs?: number;
}

/**
 * Runs `imgsdk ...args`; resolves when it exits, with its output.
 * @example
 * const r = await runCli(['lock'], { cwd: appDir, env: { IMGSDK_STATE_DIR: state } });
 * assert.is(r.code, 0, r.stderr);
 */
export function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  for (const name of opts.unset ?? []) delete env[name];
  return new Promise((ok) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      ok({ code: code ?? -1, stdout, stderr });
    });
  });
}
