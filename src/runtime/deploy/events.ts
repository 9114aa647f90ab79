/** What a deploy reports: its progress events and, per image, what it did. */
import type { Pushed } from '../image/push';

export type Phase = 'builder' | 'phase1' | 'pipeline' | 'phase2';

/**
 * The timed steps of a build, in the order they run (docs/performance.md):
 * `lock` (resolving imgsdk.lock in a builder container, id '-'), `builder`
 * (bootstrap or reuse), `container` (phase-1 container created, inputs put,
 * started, until its script runs), the script's own steps (`setup`, `apt-update`,
 * `apt-download`, `apt-install`, `files`: snapshots, closure and the copy into the
 * root, `rootfs-tar`), `stream` (the rootfs tar streamed out, hashed and stored),
 * `finish` (package database read, container removed), `pipeline` (filter, purge,
 * slim, privileges, link check), `sbom`, `layer` (layer tars and config written),
 * `load` (docker load, with the image's tests), `record` (reports and build
 * record) and `ship` (OCI layout, push, key tags).
 */
export type Step =
  | 'lock'
  | 'builder'
  | 'container'
  | 'setup'
  | 'apt-update'
  | 'apt-download'
  | 'apt-install'
  | 'files'
  | 'rootfs-tar'
  | 'stream'
  | 'finish'
  | 'pipeline'
  | 'sbom'
  | 'layer'
  | 'load'
  | 'record'
  | 'ship';

/** Progress of a deploy, as the CLI renders it. */
export type DeployEvent =
  | { readonly type: 'queued'; readonly id: string }
  /** `platform`: which build of an image that names platforms. */
  | { readonly type: 'building'; readonly id: string; readonly phase: Phase; readonly reason: string; readonly platform?: string }
  | { readonly type: 'log'; readonly id: string; readonly line: string }
  /** Said on the console whatever the verbosity (privileges removed from a file of a package the image names). */
  | { readonly type: 'warning'; readonly id: string; readonly line: string }
  /** A step of the build of `id` took `ms` milliseconds (wall time; concurrent images overlap). */
  | { readonly type: 'timing'; readonly id: string; readonly step: Step; readonly ms: number }
  /** Another deploy holds the state directory's mutex: who, in `holder` (`id` is '-': no image). */
  | { readonly type: 'waiting'; readonly id: '-'; readonly holder: string; readonly line: string }
  | { readonly type: 'cached'; readonly id: string; readonly digest: string }
  | { readonly type: 'done'; readonly id: string; readonly digest: string; readonly size: number; readonly reason: string }
  | { readonly type: 'failed'; readonly id: string; readonly error: string }
  | { readonly type: 'skipped'; readonly id: string; readonly reason: string };

export interface ImageResult {
  readonly id: string;
  readonly status: 'built' | 'cached' | 'failed' | 'skipped';
  /** Image id (config digest). */
  readonly digest?: string;
  /** Bytes of all layers. */
  readonly size?: number;
  readonly tags: readonly string[];
  readonly cached: boolean;
  /** Why it was (re)built, skipped or failed. */
  readonly reason: string;
  readonly error?: unknown;
  /** PACKAGES.md of the image. */
  readonly report?: string;
  /** The SPDX 2.3 SBOM, next to PACKAGES.md. */
  readonly sbom?: string;
  /** The in-toto/SLSA provenance statement, next to the SBOM. */
  readonly provenance?: string;
  /** `id:debug`, when the image has `.debug()`. */
  readonly debug?: string;
  /** What `push` pushed: `registry/id:tag` and the manifest digest (of the image index, for several platforms). */
  readonly pushed?: readonly Pushed[];
  /** The platform of this build, when the image names platforms. */
  readonly platform?: string;
  /** Each platform's build, when the image names platforms. */
  readonly platforms?: readonly ImageResult[];
  /** Milliseconds per step of this build (the `timing` events summed); none for a cached image. */
  readonly timings?: Readonly<Partial<Record<Step, number>>>;
}
