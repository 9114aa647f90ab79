/**
 * What happens to an image after phase 2: load it into the engine (under a
 * candidate tag first when it has tests or a health check, so a failing image
 * never gets the tags users see), the `:debug` variant, the OCI layout and
 * docker-archive exports, and the push. Shared by fresh builds and cache hits.
 */
import type { AccountDef, ImageDef } from '../../contract/assembly';
import { BuildError } from '../../contract/errors';
import { splitRepoTag } from '../../contract/names';
import type { Engine, RegistryAuth } from '../engine/engine';
import type { Blob } from './oci';
import type { ExportImage } from './oci-export';
import { pushImage, type Pushed } from './push';
import type { StateDir } from '../store/state';
import type { Signer } from './sign/keys';

/** Where built images go besides the state directory. */
export interface ShipOptions {
  /** Load into the engine. */
  readonly load: boolean;
  /** OCI image layout directory. */
  readonly oci?: string;
  /** Directory for one docker-archive per image. */
  readonly archive?: string;
  readonly push?: {
    readonly registry: string;
    readonly auth: RegistryAuth | null;
    /** Signs every pushed manifest and index, and attaches signed attestations (sign/ship.ts). @default none: the provenance goes unsigned */
    readonly signer?: Signer | null;
    /** An OpenVEX document attested for every pushed image (with a signer). @default none */
    readonly vex?: string | null;
  };
}

/** One image ready to ship. */
export interface ShipInput {
  readonly engine: () => Promise<Engine>;
  /** The diff ids of the layers this deploy has just written and hashed: they are not hashed again on load. */
  readonly freshLayers?: readonly string[];
  readonly state: StateDir;
  readonly def: ImageDef;
  readonly key: string;
  /** `id:tag` names: latest, the key's first 12 hex, the image's own tags. */
  readonly tags: readonly string[];
  readonly config: Blob;
  readonly diffIds: readonly string[];
  readonly arch: string;
  readonly accounts: readonly AccountDef[];
  readonly epoch: number;
  /** Labels phase 2 added (the SBOM's), repeated on the debug variant. */
  readonly extraLabels: Readonly<Record<string, string>>;
  /** The Debian builder the debug variant's busybox comes from (the image's, else DEBUG_BUILDER). */
  readonly builder: { readonly ref: () => Promise<string>; readonly key: string; readonly network?: string } | null;
  /** The image's directory in the assembly (its apt sources). */
  readonly imageDir: string;
  readonly log: (line: string) => void;
  readonly signal?: AbortSignal;
  /** The image's provenance (an in-toto statement), attached in the OCI layout and pushed with it. @default none */
  readonly provenance?: string | null;
  /** The image's SPDX SBOM, attested when pushed signed. @default none */
  readonly sbom?: string | null;
}

/** What shipping did. */
export interface Shipped {
  readonly pushed: readonly Pushed[];
  /** `id:debug` when made. */
  readonly debug: string | null;
  /** Path of the docker-archive, when written. */
  readonly archive: string | null;
  /** The image and its debug variant as exported (what a multi-platform index lists). */
  readonly exports: readonly ExportImage[];
}

/**
 * The rest, for a built or a cached image: the debug variant (made when missing
 * or stale), the exports and the push, in that order.
 */
export async function shipImage(input: ShipInput, opts: ShipOptions): Promise<Shipped> {
  const { def } = input;
  const exports: ExportImage[] = [
    {
      config: input.config,
      diffIds: input.diffIds,
      repoTags: input.tags,
      ...(input.provenance ? { attestation: input.provenance } : {}),
      ...(input.sbom ? { sbom: input.sbom } : {}),
      ...(def.vex?.length ? { vex: { statements: def.vex, epoch: input.epoch } } : {}),
    },
  ];
  let debug: string | null = null;
  // The writers are loaded when there is something to write: a cached image that is
  // only loaded needs none of them.
  if (def.debug) {
    const w = await import('./debug');
    if (!input.builder)
      throw new BuildError(def.id, '.debug() needs a Debian builder for busybox-static; this image has none', { phase: 'debug' });
    const engine = await input.engine();
    const busybox = await w.ensureBusyboxLayer(engine, input.state, {
      builderRef: await input.builder.ref(),
      builderKey: input.builder.key,
      network: input.builder.network,
      imageDir: input.imageDir,
      epoch: input.epoch,
      forImage: def.id,
      log: input.log,
      signal: input.signal,
    });
    const config = w.debugConfig(def, {
      key: input.key,
      diffIds: input.diffIds,
      busybox,
      epoch: input.epoch,
      arch: input.arch,
      accounts: input.accounts,
      extraLabels: input.extraLabels,
    });
    debug = `${def.id}:${w.DEBUG_TAG}`;
    const diffIds = [...input.diffIds, busybox.diffId];
    if (opts.load && (await engine.inspectImage(debug))?.id !== config.digest) {
      await (
        await import('./load')
      ).loadArchive(
        engine,
        def.id,
        config,
        diffIds.map((d) => ({ diffId: d, path: input.state.layerPath(d) })),
        [debug],
      );
      input.log(`loaded ${debug}`);
    }
    exports.push({ config, diffIds, repoTags: [debug] });
  }
  const layerPath = (d: string) => input.state.layerPath(d);
  if (opts.oci) {
    await (await import('./oci-export')).exportOci(opts.oci, exports, layerPath);
    input.log(`wrote ${exports.flatMap((e) => e.repoTags).join(', ')} to the OCI layout ${opts.oci}`);
  }
  let archive: string | null = null;
  if (opts.archive) {
    const { exportDockerArchive } = await import('./oci-export');
    archive = await exportDockerArchive(opts.archive, def.id, exports[0], layerPath);
    if (exports[1] && debug) await exportDockerArchive(opts.archive, `${def.id}-${splitRepoTag(debug).tag}`, exports[1], layerPath);
    input.log(`wrote ${archive}`);
  }
  const pushed = opts.push ? await pushExports(input, opts.push, exports) : [];
  return { pushed, debug, archive, exports };
}

/** Pushes each export (the image, then its debug variant) with its signatures or provenance. */
async function pushExports(input: ShipInput, push: NonNullable<ShipOptions['push']>, exports: readonly ExportImage[]): Promise<Pushed[]> {
  const { def } = input;
  const pushed: Pushed[] = [];
  const engine = await input.engine();
  for (const e of exports) {
    const tags = e.repoTags.map((t) => splitRepoTag(t).tag);
    const refs = await pushImage(engine, push.registry, def.id, e.config.digest, tags, { auth: push.auth, log: input.log });
    pushed.push(...refs);
    const digests = [...new Set(refs.map((r) => r.digest).filter((d): d is string => !!d))];
    if (push.signer) {
      await signEach(
        def.id,
        digests,
        (digest) =>
          signPushed(
            push,
            def.id,
            digest,
            e === exports[0]
              ? { provenance: e.attestation, sbom: e.sbom, vex: push.vex, vexStatements: e.vex?.statements, epoch: e.vex?.epoch }
              : null,
          ),
        input.log,
      );
      continue;
    }
    if (!e.attestation) continue;
    // The provenance goes with the image: attached to the manifest the registry now has.
    for (const digest of digests) {
      try {
        const tag = await (await import('./attest')).pushAttestation(push.registry, def.id, digest, e.attestation, push.auth);
        input.log(`pushed the provenance as ${push.registry}/${def.id}:${tag}`);
      } catch (err) {
        throw new BuildError(def.id, `push of the provenance failed: ${(err as Error).message}`, { cause: err, phase: 'push' });
      }
    }
  }
  return pushed;
}

/** Signs each pushed digest of image `id` with `sign` (sign/ship.ts); a failure names the image. */
export async function signEach(
  id: string,
  digests: readonly string[],
  sign: (digest: string) => Promise<string[]>,
  log: (line: string) => void,
): Promise<void> {
  for (const digest of digests) {
    try {
      const tags = await sign(digest);
      log(`signed ${digest.slice(0, 19)}: ${tags.join(', ')}`);
    } catch (err) {
      throw new BuildError(id, `signing ${digest} failed: ${(err as Error).message}`, { cause: err, phase: 'push' });
    }
  }
}

/** Signs `registry/id@digest` and attests it (loaded with the signing modules only when signing). */
export async function signPushed(
  push: NonNullable<ShipOptions['push']>,
  id: string,
  digest: string,
  attestations: import('./sign/ship').ImageAttestations | null,
): Promise<string[]> {
  const { signPushed: sign } = await import('./sign/ship');
  return sign(push.registry, push.auth, id, digest, push.signer!, attestations);
}

/** The labels phase 2 added to a recorded config (to rebuild the debug variant of a cache hit). */
export function recordedLabels(configJson: string, keys: readonly string[]): Record<string, string> {
  const labels = ((JSON.parse(configJson) as { config?: { Labels?: Record<string, string> } }).config?.Labels ?? {}) as Record<
    string,
    string
  >;
  return Object.fromEntries(keys.filter((k) => k in labels).map((k) => [k, labels[k]]));
}
