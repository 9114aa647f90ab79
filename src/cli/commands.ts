import { CLEAN_USAGE, cleanCommand } from './clean';
import { DEPLOY_USAGE, deployCommand } from './deploy';
import { DIFF_USAGE, diffCommand } from './diff';
import { GRAPH_USAGE, graphCommand } from './graph';
import { LS_USAGE, lsCommand } from './ls';
import { SHELL_USAGE, shellCommand } from './shell';
import { SYNTH_USAGE, synthCommand } from './synth';
import { UPDATE_USAGE, updateCommand } from './update';

export type Command = (argv: readonly string[]) => Promise<number>;

export const COMMANDS: Record<string, Command> = {
  synth: synthCommand,
  ls: lsCommand,
  graph: graphCommand,
  deploy: deployCommand,
  diff: diffCommand,
  clean: cleanCommand,
  shell: shellCommand,
  update: updateCommand,
};

export const USAGE = `imgsdk: minimal container images from distribution packages, as typed TypeScript values

Usage: imgsdk <command> [options]

${SYNTH_USAGE}
${LS_USAGE}
${GRAPH_USAGE}
${DEPLOY_USAGE}
${DIFF_USAGE}
${CLEAN_USAGE}
${SHELL_USAGE}
${UPDATE_USAGE}
imgsdk --help | --version

Exit codes: 0 ok, 1 error, 2 usage. diff: 3 when something would rebuild.
`;
