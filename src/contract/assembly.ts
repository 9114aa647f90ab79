/**
 * The assembly (`imgsdk.out/`): the only contract between the SDK, which writes it,
 * and the runtime, which executes it. Everything here is plain JSON data.
 */

/** Semver of the assembly format. A reader refuses a newer major version. */
export const ASSEMBLY_VERSION = '1.0.0';

/**
 * Version of the builder-side scripts and rootfs pipeline. Part of every key, so a
 * change in how images are built rebuilds them.
 */
export const BUILD_SCRIPT_VERSION = '12';

/**
 * Version of how builder images are made (bootstrap, import, set-up). Part of every
 * builder key; kept apart from BUILD_SCRIPT_VERSION because the build scripts are put
 * into builder containers at phase 1, so changing them need not re-bootstrap builders.
 */
export const BUILDER_VERSION = '1';

/**
 * Version of the Gentoo builder set-up (the make.conf knobs of builders/gentoo.ts).
 * Part of the key of Gentoo builders only, so changing it does not re-bootstrap
 * Debian builders. 2: EMERGE_DEFAULT_OPTS without --buildpkg.
 */
export const GENTOO_SETUP_VERSION = '2';

/**
 * Version of how mmdebstrap lays out a Debian builder. Part of the key of bootstrapped
 * Debian builders only (pulled and imported ones are what they are). 2: merged-/usr
 * with `usr-is-merged`, as the official images are, instead of `usrmerge` (and its Perl).
 */
export const DEBIAN_BOOTSTRAP_VERSION = '2';

export type BuilderKind = 'gentoo' | 'debian';
export type Libc = 'glibc' | 'musl';

export interface GentooBuilderOptions {
  /** Stage3 flavour, e.g. `amd64-hardened-nomultilib`, `amd64-musl-hardened`. */
  readonly stage3: string;
  /** Stage3 date (`20240101T170000Z`), or `latest`. */
  readonly date: string;
  /** Portage profile to select with eselect, if any. */
  readonly profile: string | null;
  /** make.conf lines for the builder (BOB_* knobs end up here). */
  readonly makeConf: Readonly<Record<string, string>>;
  /** Base URL of the Gentoo mirror to fetch the stage3 from. */
  readonly mirror: string;
  /** Pull this image instead of downloading (e.g. `gentoo/stage3:20240101`). */
  readonly from: string | null;
  /** Armored GPG key (or key file path) to verify the DIGESTS signature with. */
  readonly gpgKey: string | null;
  /** Portage snapshot: `latest`, a date, or an image to take `/var/db/repos/gentoo` from. */
  readonly portage: string;
}

export type DebianSource =
  | { readonly kind: 'mmdebstrap'; readonly variant: string; readonly include: readonly string[] }
  | { readonly kind: 'rootfs'; readonly path: string; readonly sha256: string }
  | { readonly kind: 'pull'; readonly image: string };

export interface DebianBuilderOptions {
  readonly suite: string;
  /** The Debian archive, or the snapshot of it when `snapshot` is set. */
  readonly mirror: string;
  /** Whether `<suite>-updates` is a source. */
  readonly updates: boolean;
  /** The security archive (`<suite>-security` is read from it), or null for none. */
  readonly security: string | null;
  /** snapshot.debian.org-style timestamp (`20261130T000000Z`) mirror and security point into, or null. */
  readonly snapshot: string | null;
  /** More apt sources, one-line style (`deb [trusted=yes] http://host/ ./`), read in phase 1 and by lock. */
  readonly sources: readonly string[];
  /** Network mode of the builder's phase-1 and lock containers (`host` for a repository on loopback), or null for the engine's default. */
  readonly network: string | null;
  readonly source: DebianSource;
}

/** A builder as data: how to obtain the image builds run in. */
export interface BuilderDef {
  readonly id: string;
  readonly kind: BuilderKind;
  readonly libc: Libc;
  readonly arch: string;
  readonly gentoo: GentooBuilderOptions | null;
  readonly debian: DebianBuilderOptions | null;
  /**
   * Platforms the builder builds for (`linux/amd64`, sorted), when it names them.
   * Absent: the host's. Each platform's builder is this definition without the list
   * and with that platform's `arch` (see ManifestBuilder.platforms).
   */
  readonly platforms?: readonly string[];
}

/** The OpenVEX statuses (https://openvex.dev/ns/v0.2.0). */
export const VEX_STATUSES = ['not_affected', 'affected', 'fixed', 'under_investigation'] as const;

/** One OpenVEX statement as `.vex()` records it; `products` default to the image when attested. */
export interface VexStatementDef {
  readonly vulnerability: { readonly name: string; readonly aliases?: readonly string[] };
  readonly status: (typeof VEX_STATUSES)[number];
  readonly justification?: string;
  readonly impact_statement?: string;
  readonly action_statement?: string;
  readonly status_notes?: string;
  readonly products?: readonly { readonly '@id': string }[];
}

/** A file, directory or symlink added to an image with `.file()`. */
export interface FileDef {
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink';
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** sha256 of the content (files only); the bytes are in `files/<sha256>` of the image dir. */
  readonly sha256: string | null;
  readonly size: number;
  /** Target of a symlink. */
  readonly target: string | null;
  /**
   * The owner as written (`postgres`, `postgres:postgres`) when it names an account
   * no `.account()` declares: one a package's install creates, so `uid`/`gid` (0 here)
   * are resolved at build from the accounts the install created. @default absent
   */
  readonly owner?: string;
}

/**
 * A host directory added with `.dir()`: its entries with absolute image paths
 * (the destination itself first), sorted; file bodies are in `files/<sha256>` of the
 * image dir, as `.file()`s' are. Each is a layer of its own.
 */
export interface DirDef {
  readonly dest: string;
  readonly entries: readonly FileDef[];
}

export interface AccountDef {
  readonly user: string;
  readonly uid: number;
  readonly group: string;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
}

export interface HealthcheckDef {
  readonly cmd: readonly string[];
  /** Seconds. */
  readonly interval: number;
  readonly timeout: number;
  readonly retries: number;
  readonly startPeriod: number;
}

/**
 * How deploy tells that a server image is up (`.ready()`): a TCP port of the running
 * container accepts a connection, or a command run beside it (in its network
 * namespace) exits 0, within `timeout` seconds.
 */
export interface ReadyDef {
  /** A TCP port the container listens on. */
  readonly port?: number;
  /** argv of a probe, run in a container of the image sharing the server's network. */
  readonly cmd?: readonly string[];
  /** Seconds. */
  readonly timeout: number;
}

/** What ends up in the OCI image config. */
export interface ImageConfigDef {
  readonly entrypoint: readonly string[] | null;
  readonly cmd: readonly string[] | null;
  readonly env: Readonly<Record<string, string>>;
  readonly workdir: string | null;
  /** `8080/tcp` style. */
  readonly expose: readonly string[];
  readonly volumes: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  /** User name or numeric uid, resolved against accounts at build time. */
  readonly user: string | null;
  readonly healthcheck: HealthcheckDef | null;
  /** `.init()`: the entrypoint starts with {@link INIT_ENTRYPOINT} (tini). @default absent (no init) */
  readonly init?: true;
}

/** What `.init()` puts before an image's entrypoint: tini, which forwards signals and reaps children. */
export const INIT_ENTRYPOINT: readonly string[] = ['/usr/bin/tini', '--'];

/** The package that brings {@link INIT_ENTRYPOINT}, per builder kind. */
export const INIT_PACKAGE: Readonly<Record<BuilderKind, string>> = { debian: 'tini', gentoo: 'sys-process/tini' };

/**
 * The root rule: a config's user is root when it is unset (the engine's default),
 * `root`, uid 0 or `0:<gid>`.
 * @example isRootUser('0:1000') // true; isRootUser('nginx') // false
 */
export function isRootUser(user: string | null): boolean {
  return user === null || user === 'root' || /^0(:|$)/.test(user);
}

/** A built-in policy the runtime checks after the build as well (see sdk/policy.ts). */
export type PolicyRule = 'nonRoot' | 'noShell';

/** A uid and gid a config's user runs as. */
export interface ResolvedUser {
  readonly uid: number;
  readonly gid: number;
}

/** What a user name resolves against: accounts (declared, or created by a package's maintainer scripts). */
export interface UserAccount {
  readonly user?: string;
  readonly uid?: number;
  readonly group?: string;
  readonly gid: number;
}

/**
 * The uid and gid a config's `user` runs as, the way the engine resolves it against
 * the image's /etc/passwd and /etc/group: unset is root (0:0); a name or uid takes
 * its account's primary group, and a uid without an account gets gid 0 (runc's
 * default); `user:group` names both. Null when a name has no account here (a
 * package may create it: resolved at build).
 * @example resolveUser('web', [{ user: 'web', uid: 0, gid: 0 }]) // { uid: 0, gid: 0 }
 */
export function resolveUser(user: string | null, accounts: readonly UserAccount[]): ResolvedUser | null {
  if (user === null || user === '') return { uid: 0, gid: 0 };
  const known: Readonly<Record<string, ResolvedUser>> = { root: { uid: 0, gid: 0 }, nobody: { uid: 65534, gid: 65534 } };
  const colon = user.indexOf(':');
  const [u, g] = colon < 0 ? [user, undefined] : [user.slice(0, colon), user.slice(colon + 1)];
  let uid: number;
  let gid: number;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    // The last account with a uid wins in a later layer's /etc/passwd; the first in one file: take the first.
    gid = accounts.find((a) => a.uid === uid && a.user !== undefined)?.gid ?? 0;
  } else {
    const a = [...accounts].reverse().find((x) => x.user === u && x.uid !== undefined);
    const k = a ? { uid: a.uid!, gid: a.gid } : known[u];
    if (!k) return null;
    uid = k.uid;
    gid = k.gid;
  }
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const grp = [...accounts].reverse().find((x) => x.group === g)?.gid ?? known[g]?.gid;
      if (grp === undefined) return null;
      gid = grp;
    }
  }
  return { uid, gid };
}

/**
 * What the nonRoot policy says of `user` resolved to `r`, or null when it passes:
 * uid 0 is root; gid 0 (the root group) is refused too, because what the root group
 * may write (root-group-writable files and directories) is root's to a process of it.
 * @example nonRootProblem('web', { uid: 1000, gid: 0 }) // 'runs with the root group (user web is uid 1000, gid 0)'
 */
export function nonRootProblem(user: string | null, r: ResolvedUser): string | null {
  if (r.uid === 0) return user === null || isRootUser(user) ? 'runs as root' : `runs as root (user ${user} is uid 0)`;
  if (r.gid === 0) return `runs with the root group (user ${user} is uid ${r.uid}, gid 0)`;
  return null;
}

/** Whether a config starts a process (an entrypoint or a command): only then does its user matter. */
export function runsSomething(config: Pick<ImageConfigDef, 'entrypoint' | 'cmd'>): boolean {
  return config.entrypoint !== null || config.cmd !== null;
}

export interface AtomFlags {
  readonly atom: string;
  readonly values: readonly string[];
}

export interface OverlayDef {
  readonly name: string;
  readonly uri: string;
  readonly type: string;
  readonly branch: string | null;
}

export interface PackageEnvDef {
  readonly atom: string;
  /** File name under /etc/portage/env. */
  readonly name: string;
  readonly vars: Readonly<Record<string, string>>;
}

export interface PatchDef {
  readonly atom: string;
  readonly name: string;
  readonly sha256: string;
}

export interface DownloadDef {
  readonly url: string;
  readonly sha256: string;
  readonly name: string;
}

export interface RecordDef {
  readonly group: string;
  readonly name: string;
}

/** Portage-only parts of a definition. Empty on Debian images. */
export interface PortageDef {
  readonly use: readonly AtomFlags[];
  readonly keywords: readonly AtomFlags[];
  readonly mask: readonly string[];
  readonly unmask: readonly string[];
  readonly unmaskUse: readonly AtomFlags[];
  readonly makeConf: Readonly<Record<string, string>>;
  readonly packageEnv: readonly PackageEnvDef[];
  readonly overlays: readonly OverlayDef[];
  readonly provide: readonly string[];
  readonly unprovide: readonly string[];
  readonly patches: readonly PatchDef[];
  readonly uninstall: readonly string[];
  readonly noBinpkgCache: readonly string[];
  readonly runtimeLibs: readonly string[];
  readonly downloads: readonly DownloadDef[];
  readonly record: readonly RecordDef[];
  readonly locales: readonly string[];
}

export interface HooksDef {
  readonly configureBuilder: readonly string[];
  readonly configureRootfs: readonly string[];
  readonly finishRootfs: readonly string[];
}

/** One image as data: `<ns>/<name>/image.json`. */
export interface ImageDef {
  readonly id: string;
  /** Parent image id, or null for scratch. */
  readonly parent: string | null;
  /** Builder id (inherited from the parent when not set). */
  readonly builder: string;
  readonly packages: readonly string[];
  readonly portage: PortageDef;
  /** Categories kept despite the purge: headers, static-libs, docs, man, info, locales, pkgconfig, ... */
  readonly keep: readonly string[];
  /** Extra globs purged from the rootfs. */
  readonly purge: readonly string[];
  readonly closure: { readonly roots: readonly string[]; readonly keep: readonly string[] } | null;
  readonly copies: readonly { readonly from: string; readonly paths: readonly string[] }[];
  readonly files: readonly FileDef[];
  /** `.dir()` sources in the order they were added (each a layer, later ones above). Absent: none. */
  readonly dirs?: readonly DirDef[];
  readonly accounts: readonly AccountDef[];
  readonly needs: readonly string[];
  readonly hooks: HooksDef;
  readonly config: ImageConfigDef;
  readonly allowRoot: boolean;
  readonly tags: readonly string[];
  readonly tests: readonly string[];
  /** The started check (`.ready()`), when the image declares one. */
  readonly ready?: ReadyDef;
  readonly debug: boolean;
  /** Globs that must not exist in the final image (set by policies such as noShell). */
  readonly forbid: readonly string[];
  /**
   * Built-in policies the runtime enforces again on what the build resolved (a user
   * a package created, the shells of every layer): sorted. @default []
   */
  readonly rules?: readonly PolicyRule[];
  /**
   * Platforms the image is built for (sorted), when it or what it inherits names
   * them; absent: the host's platform, as before platforms existed.
   */
  readonly platforms?: readonly string[];
  /**
   * OpenVEX statements about the image (`.vex()`), attested with it when pushed
   * signed. Not part of the key: they describe the image, they do not change it.
   */
  readonly vex?: readonly VexStatementDef[];
}

/** One platform of a multi-platform image: its key and the key's inputs. */
export interface ManifestPlatform {
  readonly key: string;
  /** The builder of that platform (`ManifestBuilder.platforms[platform]`). */
  readonly builderKey: string;
  readonly inputs: Readonly<Record<string, string>>;
  /** What phase 1 of this platform's build reads (ManifestImage.phase1Key, per platform). */
  readonly phase1Key?: string;
  readonly phase1Inputs?: Readonly<Record<string, string>>;
}

/** What phase 1 reads of an image's definition: the image.json its builder container gets. */
export interface Phase1View {
  readonly id: string;
  readonly packages: readonly string[];
  readonly portage: PortageDef;
  readonly hooks: HooksDef;
  /** Gentoo only: portage.sh creates them in the builder before emerging. */
  readonly accounts?: readonly AccountDef[];
}

/**
 * The part of a definition phase 1 reads (handed to the builder container as its
 * image.json): packages, Portage configuration (downloads, patches, overlays…), hooks,
 * and on Gentoo the accounts, which portage.sh creates in the builder before emerging.
 * The id comes along for log lines only; it is in no key.
 */
export function phase1View(def: ImageDef, kind: BuilderKind): Phase1View {
  return {
    id: def.id,
    packages: def.packages,
    portage: def.portage,
    hooks: def.hooks,
    ...(kind === 'gentoo' ? { accounts: def.accounts } : {}),
  };
}

export interface ManifestImage {
  readonly key: string;
  /**
   * Key of phase 1's output (rootfs tar and package list): only what phase 1 reads
   * (`phase1Inputs`). Images whose phase-1 key did not change rerun only the rootfs
   * pipeline and phase 2. Absent in assemblies written by older versions (the image
   * key stands in).
   */
  readonly phase1Key?: string;
  /** The named inputs of the phase-1 key, so `imgsdk diff` can say which one changed. */
  readonly phase1Inputs?: Readonly<Record<string, string>>;
  readonly parent: string | null;
  readonly builder: string;
  /** Images this one needs built first (parent and copy sources), sorted. */
  readonly dependsOn: readonly string[];
  readonly tags: readonly string[];
  /** Directory of the image, relative to the assembly root. */
  readonly dir: string;
  /**
   * The named inputs of the key (`keyInputs`: packages, portage, files, hooks, …,
   * builder and parent keys), so `imgsdk diff` can say which one changed.
   * Absent in assemblies written by older versions.
   */
  readonly inputs?: Readonly<Record<string, string>>;
  /**
   * Per platform (`linux/amd64`, `linux/arm64`), when the image names platforms; the
   * image's `key` and `inputs` are then those of the first one. Absent: one build
   * for the host's platform with `key`.
   */
  readonly platforms?: Readonly<Record<string, ManifestPlatform>>;
}

export interface ManifestBuilder {
  readonly key: string;
  readonly kind: BuilderKind;
  readonly libc: Libc;
  readonly def: BuilderDef;
  /** Per platform, when the builder names platforms: that platform's definition and key. */
  readonly platforms?: Readonly<Record<string, { readonly key: string; readonly def: BuilderDef }>>;
}

/** `manifest.json`. */
export interface Manifest {
  readonly version: string;
  readonly sdkVersion: string;
  readonly images: Readonly<Record<string, ManifestImage>>;
  readonly builders: Readonly<Record<string, ManifestBuilder>>;
  /** Build levels: the images of one level can build in parallel. */
  readonly order: readonly (readonly string[])[];
  /** SOURCE_DATE_EPOCH the keys were made with; absent means 0. */
  readonly epoch?: number;
  /** The app's source files (path → sha256), when synth loaded them from disk; for the provenance. */
  readonly sources?: Readonly<Record<string, string>>;
}
