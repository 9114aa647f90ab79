/**
 * The container engine as the runtime sees it. `docker.ts` implements it with
 * dockerode; tests of other modules may implement it with a fake.
 *
 * Files move in and out only through the API (putArchive, getArchive, load,
 * import), never through bind mounts of host directories, so a remote engine
 * (tcp://, ssh://) works exactly like the local socket.
 */
import type { Readable } from 'node:stream';

/** An image known to the engine. */
export interface ImageInfo {
  /** `sha256:…` */
  readonly id: string;
  /** `repo:tag` names; empty for a dangling image. */
  readonly repoTags: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  /** Bytes. */
  readonly size: number;
  /** Its layers' diff ids, the lowest first (RootFS.Layers), when the engine says. */
  readonly layers?: readonly string[];
}

/** A container known to the engine (for `imgsdk clean`). */
export interface ContainerInfo {
  readonly id: string;
  /** Without the leading `/`. */
  readonly names: readonly string[];
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  /** `created`, `running`, `exited`, … */
  readonly state: string;
}

/** A named volume known to the engine (for `imgsdk clean`). */
export interface VolumeInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** One event of a pull, as the engine reports it. */
export interface PullProgress {
  readonly status?: string;
  readonly id?: string;
  readonly progress?: string;
}

/** A named volume mounted into a container. Host directories are never mounted. */
export interface VolumeMount {
  /** Volume name; the engine creates it when missing. */
  readonly volume: string;
  /** Absolute path in the container. */
  readonly target: string;
  /** @default false */
  readonly readOnly?: boolean;
  /** Labels of the volume when the mount creates it. @default none */
  readonly labels?: Readonly<Record<string, string>>;
}

/** What a build container runs. */
export interface ContainerOptions {
  /** Image reference or id to run. */
  readonly image: string;
  readonly cmd: readonly string[];
  /** @default {} */
  readonly env?: Readonly<Record<string, string>>;
  /** @default the image's */
  readonly workdir?: string;
  /** @default the image's (root for builders) */
  readonly user?: string;
  /** Extra labels; `org.imgsdk=1` is always added. @default {} */
  readonly labels?: Readonly<Record<string, string>>;
  /** imgsdk image id (`namespace/name`) this container builds; becomes the `org.imgsdk.image` label. */
  readonly forImage?: string;
  /** Replaces the image's entrypoint (`cmd` becomes its arguments). @default the image's */
  readonly entrypoint?: readonly string[];
  /** Network mode (`bridge`, `none`, `host`, a network name). @default the engine's default */
  readonly network?: string;
  /** Named volumes (Portage snapshot, distfiles, binpkgs). @default [] */
  readonly mounts?: readonly VolumeMount[];
  /**
   * Aborting removes the container at once and makes the operation reject
   * with a CancelledError.
   */
  readonly signal?: AbortSignal;
}

/** What `ContainerHandle.state` reports of a started container. */
export interface ContainerState {
  readonly running: boolean;
  /** Exit code once it stopped, else null. */
  readonly exitCode: number | null;
  /** `starting`, `healthy`, `unhealthy`, or null without a health check. */
  readonly health: string | null;
  /** Output of the last health probes, for error messages. */
  readonly healthLog: string;
  /** The container's IP address on its network, when it has one (a started check connects to it). */
  readonly address?: string;
}

/** Credentials for a registry, sent as X-Registry-Auth. */
export interface RegistryAuth {
  readonly serveraddress: string;
  readonly username?: string;
  readonly password?: string;
  readonly identitytoken?: string;
}

/** Receives the demultiplexed output of a container as it comes. */
export type OutputHandler = (chunk: Buffer, stream: 'stdout' | 'stderr') => void;

/** A created container, valid inside `withContainer` only. */
export interface ContainerHandle {
  readonly id: string;
  readonly name: string;
  /**
   * Extracts a tar archive at `path` in the container, creating `path` (and
   * its parents) as directories first when missing. Works before start.
   */
  putArchive(path: string, tar: Buffer | Readable): Promise<void>;
  /**
   * A tar stream of `path` (a file gives one entry named by its basename, a
   * directory its tree under its basename). Read it to the end inside the
   * `withContainer` callback: the container is removed right after.
   */
  getArchive(path: string): Promise<Readable>;
  /** The container's whole filesystem as a tar stream (`docker export`). */
  exportFilesystem(): Promise<Readable>;
  /** Starts the container; output goes to `onOutput` until it exits. */
  start(opts?: { readonly onOutput?: OutputHandler }): Promise<void>;
  /** Waits for the started container to exit and all its output to arrive; the exit code. */
  wait(): Promise<number>;
  /** `start` then `wait`. */
  run(opts?: { readonly onOutput?: OutputHandler }): Promise<number>;
  /** The last lines of output seen so far (stdout and stderr mixed), for error messages. */
  tail(): string;
  /** Running or not, exit code, health (`docker inspect`'s State). */
  state(): Promise<ContainerState>;
}

/** `runContainer` options: a container plus the files to put in before it starts. */
export interface RunOptions extends ContainerOptions {
  /** Tar archives extracted before the start, in order. @default [] */
  readonly put?: readonly { readonly path: string; readonly tar: Buffer | Readable }[];
  readonly onOutput?: OutputHandler;
}

/** The result of `runContainer`; the container is already gone. */
export interface RunResult {
  readonly exitCode: number;
  /** The last lines of output, for error messages. */
  readonly tail: string;
}

/** Which engine serves the API: Docker, or Podman's Docker-compatible service. */
export type EngineKind = 'docker' | 'podman';

/**
 * Which engine answers, from its version answer: Podman's Docker-compatible
 * service lists a component named `Podman Engine`; anything else is Docker.
 * @example engineKindOf(await docker.version()) // 'podman'
 */
export function engineKindOf(version: { readonly Components?: readonly { readonly Name?: string }[] | null }): EngineKind {
  return (version.Components ?? []).some((c) => /podman/i.test(c.Name ?? '')) ? 'podman' : 'docker';
}

/** The operations the runtime needs from a container engine. */
export interface Engine {
  /** Where the engine was found, e.g. `unix:///var/run/docker.sock`. */
  readonly host: string;
  ping(): Promise<void>;
  /**
   * Docker or Podman, from the engine's version answer (asked once). Names come
   * back as Docker spells them (`imgsdk/nginx:latest`) from either.
   * @default 'docker' when an engine (a test's fake) does not say
   */
  kind?(): Promise<EngineKind>;

  /** The image, or null when the engine has no such image. */
  inspectImage(ref: string): Promise<ImageInfo | null>;
  imageExists(ref: string): Promise<boolean>;
  /** Removes an image; false when there was no such image. */
  removeImage(ref: string, opts?: { readonly force?: boolean; readonly noprune?: boolean }): Promise<boolean>;
  tagImage(ref: string, repo: string, tag: string): Promise<void>;
  /** `docker load` of a docker-archive tar; the `repo:tag` names (or ids) it loaded. */
  loadImage(tar: Readable): Promise<string[]>;
  /**
   * `docker import` of a root filesystem tar as a one-layer image, tagged
   * `repoTag` (untagged when null). `changes` are Dockerfile instructions
   * (`ENV PATH=…`, `CMD ["sh"]`, `LABEL k=v`). If the tar stream errors, the
   * request is aborted and nothing is imported or tagged. Returns the image id.
   */
  importImage(
    tar: Readable,
    repoTag: string | null,
    opts?: {
      readonly changes?: readonly string[];
      /** `linux/arm64`: the image config's platform. @default the engine's */ readonly platform?: string;
    },
  ): Promise<string>;
  pullImage(ref: string, onProgress?: (event: PullProgress) => void): Promise<void>;
  /**
   * `docker push` of `ref` (`registry/repo:tag`), the progress stream read to the
   * end; an error event rejects. Returns the manifest digest the registry reported.
   */
  pushImage(
    ref: string,
    opts?: { readonly auth?: RegistryAuth; readonly onProgress?: (event: PullProgress) => void },
  ): Promise<{ readonly digest: string | null }>;
  /** Images, optionally only those with `label` (`key` or `key=value`). */
  listImages(opts?: { readonly label?: string }): Promise<ImageInfo[]>;
  /** Containers, optionally only those with `label`; running ones only unless `all`. */
  listContainers(opts?: { readonly label?: string; readonly all?: boolean }): Promise<ContainerInfo[]>;
  /** Removes a container (force kills it); false when there was no such container. */
  removeContainer(id: string): Promise<boolean>;
  /**
   * Named volumes whose name starts with `prefix`, sorted by name; with `unused`,
   * only those no container (running or stopped) mounts.
   */
  listVolumes(opts?: { readonly prefix?: string; readonly unused?: boolean }): Promise<VolumeInfo[]>;
  /** Removes a named volume; false when there was no such volume. One in use is an EngineError. */
  removeVolume(name: string): Promise<boolean>;

  /**
   * Creates a container, hands it to `fn`, and removes it afterwards: after
   * success, after failure, after an abort of `opts.signal`, and on
   * SIGINT/SIGTERM of the process (see cleanup.ts).
   */
  withContainer<T>(opts: ContainerOptions, fn: (c: ContainerHandle) => Promise<T>): Promise<T>;
  /** Puts `opts.put` in, runs to the end, removes the container. */
  runContainer(opts: RunOptions): Promise<RunResult>;
}
