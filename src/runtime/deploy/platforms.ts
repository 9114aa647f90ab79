/**
 * The deploy of a multi-platform image: each platform's build one after the
 * other (through deploy's own build of one target), then one image index per tag
 * in the OCI layout and the registry. An image that names no platform goes
 * straight to its one build, as before platforms existed.
 */
import { appendFile } from 'node:fs/promises';
import { hostPlatform } from '../../contract/platform';
import type { LoadedAssembly } from '../../contract/read';
import type { DeployEvent, ImageResult } from './events';
import { imageTagsOf, platformTargets, type PlatformTarget } from './targets';
import type { ShipOptions } from '../image/ship';
import type { TargetOutcome } from './context';
import type { StateDir } from '../store/state';

/** What of deploy's context a multi-platform image needs. */
export interface PlatformsContext {
  readonly asm: LoadedAssembly;
  readonly state: StateDir;
  readonly ship: ShipOptions;
  readonly emit: (e: DeployEvent) => void;
  readonly opts: { readonly platform?: string };
}

/**
 * Builds image `id` on each of its platforms with `run`, then writes and pushes
 * its image indexes. The result is the engine platform's, with every platform's
 * under `platforms` and the index's digests under `pushed`.
 */
export async function buildPlatforms<C extends PlatformsContext>(
  ctx: C,
  id: string,
  run: (ctx: C, target: PlatformTarget) => Promise<TargetOutcome>,
): Promise<ImageResult> {
  const targets = platformTargets(ctx.asm, id, ctx.opts.platform ?? hostPlatform());
  if (targets.length === 1 && targets[0].platform === null) return (await run(ctx, targets[0])).result;
  const outcomes: TargetOutcome[] = [];
  for (const t of targets) {
    // One 'done' per image: a platform's own end is a log line.
    const emit = (e: DeployEvent) =>
      e.type === 'done' || e.type === 'cached'
        ? ctx.emit({
            type: 'log',
            id,
            line: `${t.platform}: ${e.type === 'done' ? 'built' : 'cached'} ${e.digest.slice(0, 19)}${t.engine && ctx.ship.load ? ` (loaded as ${t.tags.join(', ')})` : ''}`,
          })
        : e.type === 'log'
          ? ctx.emit({ ...e, line: `[${t.platform}] ${e.line}` })
          : e.type === 'building' && t.platform
            ? ctx.emit({ ...e, platform: t.platform })
            : ctx.emit(e);
    outcomes.push(await run({ ...ctx, emit }, t));
  }
  const log = (line: string) => {
    ctx.emit({ type: 'log', id, line });
    void appendFile(ctx.state.logPath(id), line + '\n').catch(() => undefined);
  };
  const results = outcomes.map((o) => o.result);
  const builds = outcomes.map((o) => ({ platform: o.result.platform!, exports: o.exports }));
  const { shipIndex } = await import('../image/platform-index');
  const pushed = await shipIndex(id, imageTagsOf(ctx.asm, id), builds, ctx.ship, (d) => ctx.state.layerPath(d), log);
  const main = results[targets.findIndex((t) => t.engine)];
  const cached = results.every((r) => r.cached);
  const built = results.filter((r) => !r.cached).map((r) => r.platform);
  const reason = cached ? main.reason : `${built.join(', ')}: ${results.find((r) => !r.cached)!.reason}`;
  ctx.emit(
    cached ? { type: 'cached', id, digest: main.digest! } : { type: 'done', id, digest: main.digest!, size: main.size ?? 0, reason },
  );
  return {
    ...main,
    status: cached ? 'cached' : 'built',
    cached,
    reason,
    tags: imageTagsOf(ctx.asm, id),
    pushed: pushed.length ? pushed : main.pushed,
    platforms: results.map((r) => ({ ...r })),
  };
}
