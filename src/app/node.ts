/**
 * `imgsdk node` for an app or an assembly on disk: opens it as every command does
 * (synthesized with the app's imgsdk.lock, never resolving it: every node of a
 * workflow must compute the keys of the plan), then runs the runtime's node.
 */
import { describeFailure, runNode, type NodeOptions, type NodeResult } from '../runtime/deploy/node';
import { openAssembly, type Where } from './open';

export type { NodeOptions, NodeResult } from '../runtime/deploy/node';

/**
 * Builds (or with `publish`, publishes) image `id` of the app `where` names as one
 * node of a distributed build. Never throws: a failure is a result with `error`.
 * @example const r = await nodeApp({ app: '.' }, 'acme/web', { cache: 'registry:5000/ci', platform: 'linux/amd64' });
 */
export async function nodeApp(where: Where, id: string, opts: Omit<NodeOptions, 'stateDir'>): Promise<NodeResult> {
  try {
    const { assembly, stateDir } = await openAssembly(where);
    return await runNode(assembly, id, { ...opts, stateDir });
  } catch (err) {
    return {
      image: id,
      platform: opts.publish ? null : (opts.platform ?? null),
      key: '',
      digest: null,
      status: 'failed',
      error: describeFailure(err),
    };
  }
}
