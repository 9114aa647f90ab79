/**
 * What the two paths of one image's deploy share (the cached path in deploy.ts,
 * the build path in build-target.ts): the deploy's context, the built ancestors
 * of an image, the builder images made once per deploy, the image's trace (its
 * log and the time of each step) and what shipping an image needs.
 */
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AccountDef } from '../../contract/assembly';
import { BuildError, CancelledError } from '../../contract/errors';
import { builderKey } from '../../contract/key';
import { shortKey } from '../../contract/names';
import { forPlatform } from '../../contract/platform';
import type { LoadedAssembly } from '../../contract/read';
import type { Engine } from '../engine/engine';
import { DEBUG_BUILDER } from '../image/debug-builder';
import type { ExportImage } from '../image/oci-export';
import type { ShipInput, ShipOptions } from '../image/ship';
import type { BuilderImage } from '../phase1/builders/ensure';
import type { Entry } from '../store/entry';
import type { BuildRecord, CreatedAccount, StateDir } from '../store/state';
import type { RegistryCache } from './cache/registry';
import type { DeployOptions } from './deploy';
import type { DeployEvent, ImageResult, Step } from './events';
import type { PlanFacts } from './plan';
import { builtId, keyOn, type PlatformTarget } from './targets';

/** What deploy keeps of an image it built or found built: its record and its rootfs entries. */
export interface Built {
  readonly record: BuildRecord;
  readonly entries: readonly Entry[];
}

/** One deploy: the assembly, the state directory, the engine, and what its images built so far. */
export interface Ctx {
  readonly asm: LoadedAssembly;
  readonly state: StateDir;
  readonly engine: () => Promise<Engine>;
  readonly opts: DeployOptions;
  readonly ship: ShipOptions;
  readonly emit: (e: DeployEvent) => void;
  readonly built: Map<string, Built>;
  readonly builders: Map<string, Promise<BuilderImage>>;
  readonly epoch: number;
  readonly cache: RegistryCache | null;
}

/** One build of an image (one platform) as a value: the public result, and what it exported (which a multi-platform index lists). */
export interface TargetOutcome {
  readonly result: ImageResult;
  readonly exports: readonly ExportImage[];
}

/** What deploy.ts decided before the build: the plan's facts (the rootfs not yet looked at) and the image's trace. */
export interface BuildJob {
  readonly id: string;
  readonly target: PlatformTarget;
  readonly facts: PlanFacts;
  readonly trace: Trace;
  /** PACKAGES.md, the SBOM and the provenance: where they go. */
  readonly reports: { readonly report: string; readonly sbom: string; readonly provenance: string };
}

/** The log, the timings and the cancellation check of one image's build on one target. */
export interface Trace {
  readonly log: (line: string) => void;
  /** Replaces build.log with `text` (in order with the log lines). */
  readonly restart: (text: string) => void;
  readonly timed: (s: Step, ms: number) => void;
  readonly time: <T>(s: Step, work: () => Promise<T>) => Promise<T>;
  /** Ctrl-C stops at the next step: nothing after it is loaded, tagged, recorded or pushed. */
  readonly step: () => void;
  readonly timings: Readonly<Partial<Record<Step, number>>>;
  /** Resolves when every log line is in build.log. */
  readonly flushed: () => Promise<unknown>;
}

/** The trace of image `id` on `target`: events for the console, build.log for later. */
export function traceOf(ctx: Ctx, id: string, target: PlatformTarget): Trace {
  const { state, emit } = ctx;
  // Log lines reach build.log in order: each write waits for the one before.
  let logged: Promise<unknown> = Promise.resolve();
  const write = (f: () => Promise<unknown>) => (logged = logged.then(f).catch(() => undefined));
  const logPath = target.prefix ? state.reportPath(id, target.prefix + 'build.log') : state.logPath(id);
  // Where the time goes: each step's wall time, as an event and in the result.
  const timings: Partial<Record<Step, number>> = {};
  const timed = (s: Step, ms: number) => {
    timings[s] = (timings[s] ?? 0) + ms;
    emit({ type: 'timing', id, step: s, ms });
  };
  return {
    log: (line) => {
      emit({ type: 'log', id, line });
      write(() => appendFile(logPath, line + '\n'));
    },
    restart: (text) => write(() => writeFile(logPath, text)),
    timed,
    time: async (s, work) => {
      const t = Date.now();
      try {
        return await work();
      } finally {
        timed(s, Date.now() - t);
      }
    },
    step: () => {
      if (ctx.opts.signal?.aborted) throw new CancelledError(`${id}: cancelled`);
    },
    timings,
    flushed: () => logged,
  };
}

/** The users among the accounts an ancestor's install created, as account definitions. */
export function createdUsers(created: readonly CreatedAccount[] = []): AccountDef[] {
  return created.flatMap((c) =>
    c.user && c.uid !== undefined
      ? [
          {
            user: c.user,
            uid: c.uid,
            group: c.group ?? c.user,
            gid: c.gid,
            home: c.home ?? '/nonexistent',
            shell: c.shell ?? '/usr/sbin/nologin',
          },
        ]
      : [],
  );
}

/** Declared accounts and those installs created (a `.user('postgres')` a package made), ancestors first. */
export function accountsOf(asm: LoadedAssembly, id: string, chain: readonly Built[], own: readonly CreatedAccount[] = []): AccountDef[] {
  return [
    ...[...chain].reverse().flatMap((a) => [...createdUsers(a.record.createdAccounts), ...asm.images.get(a.record.id)!.accounts]),
    ...createdUsers(own),
    ...asm.images.get(id)!.accounts,
  ];
}

/** Built ancestors of an image (on a platform), nearest first. */
export async function ancestors(ctx: Ctx, id: string, platform: string | null = null): Promise<Built[]> {
  const out: Built[] = [];
  for (let p = ctx.asm.images.get(id)!.parent; p; p = ctx.asm.images.get(p)!.parent)
    out.push(ctx.built.get(builtId(ctx.asm, p, platform)) ?? (await loadBuilt(ctx, p, platform)));
  return out;
}

/** A dependency outside this deploy's selection (`--exclusively`): it must be built already. */
export async function loadBuilt(ctx: Ctx, id: string, platform: string | null = null): Promise<Built> {
  const key = keyOn(ctx.asm, id, platform);
  const record = await ctx.state.readBuild(id, key);
  const entries = record ? await ctx.state.readEntries(id, key) : null;
  if (!record || !entries)
    throw new BuildError(id, `is needed but not built at key ${shortKey(key)}; deploy it first or drop --exclusively`);
  const b = { record, entries };
  ctx.built.set(builtId(ctx.asm, id, platform), b);
  return b;
}

/**
 * The builder image of a build (one per builder and platform), made once per
 * deploy. Builders of one key under several ids are made once: the others wait
 * for it, then find it and tag it as theirs.
 */
export function ensureBuilder(ctx: Ctx, target: PlatformTarget, log: (l: string) => void): Promise<BuilderImage> {
  const def = target.builder;
  const at = target.platform ? `@${target.platform}` : '';
  const slot = def.id + at;
  let p = ctx.builders.get(slot);
  if (!p) {
    const same = `key:${target.builderKey}${at}`;
    const first = ctx.builders.get(same);
    const ensure = () =>
      Promise.all([ctx.engine(), import('../phase1/builders/ensure')]).then(([e, b]) =>
        b.ensureBuilder(e, def, target.builderKey, {
          log,
          signal: ctx.opts.signal,
          stateRoot: ctx.state.root,
          ...(target.platform ? { platform: target.platform } : {}),
        }),
      );
    p = first ? first.then(ensure, ensure) : ensure();
    if (!first) ctx.builders.set(same, p);
    ctx.builders.set(slot, p);
  }
  return p;
}

/** Where a Gentoo image's `.debug()` takes busybox-static from: the fallback Debian builder (of the image's platform). */
function debugBuilder(ctx: Ctx, log: (l: string) => void, platform: string | null = null): ShipInput['builder'] {
  const variant = platform ? forPlatform(DEBUG_BUILDER, platform) : DEBUG_BUILDER;
  const def = typeof variant === 'string' ? DEBUG_BUILDER : variant;
  const key = builderKey(def);
  const slot = platform ? `${def.id}@${platform}` : def.id;
  const ref = async () => {
    let p = ctx.builders.get(slot);
    if (!p) {
      p = Promise.all([ctx.engine(), import('../phase1/builders/debian')]).then(async ([e, b]) => ({
        ref: await b.ensureDebianBuilder(e, def, { log, signal: ctx.opts.signal, force: false, ...(platform ? { platform } : {}) }),
        mounts: [],
      }));
      ctx.builders.set(slot, p);
    }
    return (await p).ref;
  };
  return { key, ref };
}

/** What shipping one image needs beside the image itself: everything but its config, layers, accounts, attestations and labels. */
export type ShipSite = Pick<
  ShipInput,
  'engine' | 'state' | 'def' | 'key' | 'tags' | 'arch' | 'epoch' | 'builder' | 'imageDir' | 'log' | 'signal'
>;

/** Where image `id` on `target` ships from: its engine, its state, and the Debian builder its `:debug` variant's busybox comes from. */
export function shipSite(ctx: Ctx, id: string, target: PlatformTarget, arch: string, log: (line: string) => void): ShipSite {
  const builder = target.builder;
  return {
    engine: ctx.engine,
    state: ctx.state,
    def: ctx.asm.images.get(id)!,
    key: target.key,
    tags: target.tags,
    arch,
    epoch: ctx.epoch,
    imageDir: join(ctx.asm.dir, ctx.asm.manifest.images[id].dir),
    log,
    signal: ctx.opts.signal,
    builder:
      builder.kind === 'debian'
        ? {
            key: target.builderKey,
            network: builder.debian?.network ?? undefined,
            ref: () => ensureBuilder(ctx, target, log).then((b) => b.ref),
          }
        : debugBuilder(ctx, log, target.platform),
  };
}
