/* eslint-disable @typescript-eslint/no-require-imports */
export type Command = (argv: readonly string[]) => Promise<number>;

interface CommandModule {
  readonly run: Command;
  readonly usage: string;
}

/**
 * Each command's module is loaded only when that command runs: start-up time is
 * part of every deploy, and a no-op deploy must not pay for diff, shell or update.
 */
const LOADERS: Record<string, () => CommandModule> = {
  synth: () => ((m) => ({ run: m.synthCommand, usage: m.SYNTH_USAGE }))(require('./synth') as typeof import('./synth')),
  ls: () => ((m) => ({ run: m.lsCommand, usage: m.LS_USAGE }))(require('./ls') as typeof import('./ls')),
  graph: () => ((m) => ({ run: m.graphCommand, usage: m.GRAPH_USAGE }))(require('./graph') as typeof import('./graph')),
  deploy: () => ((m) => ({ run: m.deployCommand, usage: m.DEPLOY_USAGE }))(require('./deploy') as typeof import('./deploy')),
  node: () => ((m) => ({ run: m.nodeCommand, usage: m.NODE_USAGE }))(require('./node') as typeof import('./node')),
  ci: () => ((m) => ({ run: m.ciCommand, usage: m.CI_USAGE }))(require('./ci') as typeof import('./ci')),
  diff: () => ((m) => ({ run: m.diffCommand, usage: m.DIFF_USAGE }))(require('./diff') as typeof import('./diff')),
  clean: () => ((m) => ({ run: m.cleanCommand, usage: m.CLEAN_USAGE }))(require('./clean') as typeof import('./clean')),
  shell: () => ((m) => ({ run: m.shellCommand, usage: m.SHELL_USAGE }))(require('./shell') as typeof import('./shell')),
  lock: () => ((m) => ({ run: m.lockCommand, usage: m.LOCK_USAGE }))(require('./lock') as typeof import('./lock')),
  outdated: () => ((m) => ({ run: m.outdatedCommand, usage: m.OUTDATED_USAGE }))(require('./outdated') as typeof import('./outdated')),
  verify: () => ((m) => ({ run: m.verifyCommand, usage: m.VERIFY_USAGE }))(require('./verify') as typeof import('./verify')),
  keygen: () => ((m) => ({ run: m.keygenCommand, usage: m.KEYGEN_USAGE }))(require('./verify') as typeof import('./verify')),
  update: () => ((m) => ({ run: m.updateCommand, usage: m.UPDATE_USAGE }))(require('./update') as typeof import('./update')),
};

/** The command of that name, or undefined. */
export function command(name: string): Command | undefined {
  return Object.hasOwn(LOADERS, name) ? LOADERS[name]().run : undefined;
}

/** The usage text of one command (`imgsdk <command> --help`), or undefined. */
export function commandUsage(name: string): string | undefined {
  return Object.hasOwn(LOADERS, name) ? LOADERS[name]().usage : undefined;
}

/** The whole usage text (loads every command module). */
export function usage(): string {
  return `imgsdk: minimal container images from distribution packages, as typed TypeScript values

Usage: imgsdk <command> [options]

${Object.values(LOADERS)
  .map((load) => load().usage)
  .join('\n')}
imgsdk --help | --version

Exit codes: 0 ok, 1 error, 2 usage, 75 retryable (node). diff: 3 when something would rebuild; outdated: 3 when the lock is outdated.
`;
}
