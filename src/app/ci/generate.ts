/**
 * `imgsdk ci github|argo` on an app: opens it (with its lock, as graph and deploy
 * do, so the tasks' keys are the keys the nodes build) and renders the workflow.
 */
import { isAbsolute, relative } from 'node:path';
import { UsageError } from '../../contract/errors';
import { assembleApp, type Where } from '../open';
import { argoWorkflow, type ArgoWorkflowOptions } from './argo';
import { githubWorkflow, type GithubWorkflowOptions } from './github';
import { ciTasks, type CiTask } from './tasks';

/** The workflow kinds imgsdk writes. */
export type CiKind = 'github' | 'argo';

/** The options of either generator, `app` (the nodes' `--app`) defaulting to the app's path from the working directory. */
export type CiOptions<K extends CiKind> = Omit<K extends 'github' ? GithubWorkflowOptions : ArgoWorkflowOptions, 'app'> & {
  readonly app?: string;
};

/**
 * The workflow of an app, and the tasks it runs.
 * @example const { text } = ciWorkflow('github', { app: 'images.ts' }, { cache: 'ghcr.io/acme/cache' })
 */
export function ciWorkflow<K extends CiKind>(
  kind: K,
  where: Where,
  opts: CiOptions<K>,
  cwd = process.cwd(),
): { readonly text: string; readonly tasks: CiTask[] } {
  const {
    assembly: { manifest },
    appFile,
  } = assembleApp(where);
  const app = opts.app ?? nodeAppPath(appFile, cwd);
  const full = { ...opts, app };
  const text =
    kind === 'github' ? githubWorkflow(manifest, full as GithubWorkflowOptions) : argoWorkflow(manifest, full as ArgoWorkflowOptions);
  return { text, tasks: ciTasks(manifest, full) };
}

/**
 * The app's path as the nodes name it: relative to where the generator runs (the
 * repository's root, which a GitHub job checks out and an Argo runner image holds).
 */
function nodeAppPath(appFile: string, cwd: string): string {
  const rel = relative(cwd, appFile);
  if (!rel || rel.startsWith('..') || isAbsolute(rel)) {
    throw new UsageError(
      `the app ${appFile} is not inside ${cwd}: run imgsdk ci from the repository's root, or name the nodes' app with --node-app`,
    );
  }
  return rel.split('\\').join('/');
}
