/**
 * The public API of imgsdk: every name a user may import from 'imgsdk', listed by
 * name (no `export *`, so a helper exported between modules does not leak here).
 * Declarations marked `@internal` are stripped from dist/*.d.ts (stripInternal).
 */
export {
  ERROR_CODES,
  exitCodeOf,
  formatProblem,
  isRetryable,
  EX_TEMPFAIL,
  ImgsdkError,
  ValidationError,
  UsageError,
  AssemblyError,
  EngineError,
  BuildError,
  RootfsError,
  LockError,
  CancelledError,
  FetchError,
  VerifyError,
  UnavailableError,
  type ErrorCode,
  type Problem,
} from './contract/errors';
export {
  ASSEMBLY_VERSION,
  BUILDER_VERSION,
  BUILD_SCRIPT_VERSION,
  DEBIAN_BOOTSTRAP_VERSION,
  GENTOO_SETUP_VERSION,
  INIT_ENTRYPOINT,
  INIT_PACKAGE,
  phase1View,
  type AccountDef,
  type AtomFlags,
  type BuilderDef,
  type BuilderKind,
  type DebianBuilderOptions,
  type DebianSource,
  type DownloadDef,
  type DirDef,
  type FileDef,
  type GentooBuilderOptions,
  type HealthcheckDef,
  type HooksDef,
  type ReadyDef,
  type ImageConfigDef,
  type ImageDef,
  type Libc,
  type Manifest,
  type ManifestBuilder,
  type ManifestImage,
  type ManifestPlatform,
  type OverlayDef,
  type PackageEnvDef,
  type PatchDef,
  type Phase1View,
  type PortageDef,
  type RecordDef,
} from './contract/assembly';
export {
  Image,
  image,
  KEEP_CATEGORIES,
  type AccountProps,
  type ClosureProps,
  type CopyProps,
  type DirProps,
  type FileContent,
  type FileOptions,
  type HealthcheckProps,
  type ReadyProps,
  type KeepCategory,
  type OverlayProps,
} from './sdk/image';
export { Builder, debian, gentoo, forPlatform, STAGE3_FLAVOURS, type DebianBuilderProps, type GentooBuilderProps } from './sdk/builder';
export { App, app, type AppInput, type Policy, type PolicyContext } from './sdk/app';
export { nonRoot, noShell } from './sdk/policy';
export { markLibrary } from './sdk/site';
export { synth, assemble, type Assembly, type AssembleOptions, type SynthOptions } from './sdk/synth';
export { keyInputs, imageKey, builderKey } from './contract/key';
export {
  PLATFORMS,
  DEFAULT_PLATFORM,
  normalizePlatform,
  platformInfo,
  hostPlatform,
  checkPlatforms,
  ociPlatform,
  type PlatformInfo,
} from './contract/platform';
export { emulation } from './runtime/deploy/targets';
export { Atom, checkUseFlag, checkKeyword } from './sdk/portage/atom';
export { checkDebianPackage, DebianVersion } from './sdk/debian/package';
export { loadApp, lockFileOf } from './sdk/load';
export {
  LOCK_FILE,
  LOCK_VERSION,
  emptyLock,
  parseLock,
  renderLock,
  readLockFile,
  lockStates,
  lockChanges,
  dependents,
  type Lock,
  type LockedPackage,
  type ImageLock,
  type BuilderLock,
  type DebianBuilderLock,
  type GentooBuilderLock,
  type LockStatus,
  type ImageLockState,
  type PackageChange,
} from './sdk/lock';
export { parsePretend, pretendToLocked, lockedAtom, type PretendPackage } from './sdk/portage/lock';
export { debianSources, debianSuites } from './contract/apt';
export { readAssembly } from './contract/read';
export { deploy, deployApp, type AppDeployOptions, type DeployAppOptions, type DeployResult } from './app/deploy';
export { locate, type Where, type Located } from './app/open';
export { nodeApp, type NodeOptions, type NodeResult } from './app/node';
export { runNode } from './runtime/deploy/node';
export { OUT_DIR_NAME, STATE_DIR_NAME, ENV_OUT_DIR, ENV_STATE_DIR, ENV_SIGN_KEY, ENV_SIGN_KEY_PASSPHRASE } from './contract/defaults';
export type { VerifyAppOptions, VerifyResult, VerifiedManifest } from './app/verify';
export type { Signer, SignatureMaterial, TrustedKey } from './runtime/image/sign/keys';
export { deployAssembly, type DeployEvent, type DeployOptions, type ImageResult, type Step } from './runtime/deploy/deploy';
export { diff, type DiffEntry, type DiffOptions } from './runtime/deploy/diff';
export { lock, outdated, ensureLocked, type LockOptions, type LockResult, type OutdatedResult } from './app/lockfile';
export type { Pushed } from './runtime/image/push';
export { LABEL_SBOM, SBOM_FILE, PROVENANCE_FILE, BUILD_ARTIFACT_TYPE } from './contract/labels';
export type { UpdateResult, Stage3Update } from './app/update-lock';
export type { CleanPlan, CleanOptions, CleanResult } from './runtime/deploy/clean';
export type { GcOptions, GcPlan, LiveKeys } from './runtime/store/gc';
export { resolveUser, type ResolvedUser, type UserAccount, type PolicyRule } from './contract/assembly';
export type { ExportImage } from './runtime/image/oci-export';
export type { Sbom } from './runtime/reports/sbom';

// Loaded when first called: an images.ts imports 'imgsdk' for the SDK, and a deploy
// of cached images should not pay for the lock updater, clean, the OCI writers, the
// SBOM renderer or the registry cache.
import type * as UpdateLock from './app/update-lock';
import type * as Clean from './runtime/deploy/clean';
import type * as Gc from './runtime/store/gc';
import type * as OciExport from './runtime/image/oci-export';
import type * as SbomModule from './runtime/reports/sbom';
import type * as RegistryCache from './runtime/deploy/cache/registry';
import type * as Verify from './app/verify';
import type * as Keys from './runtime/image/sign/keys';
import type * as Bundles from './runtime/image/sign/bundles';
import type * as CiGithub from './app/ci/github';
import type * as CiArgo from './app/ci/argo';
import type * as CiTasks from './app/ci/tasks';

const updateLock = () => require('./app/update-lock') as typeof UpdateLock;
const clean = () => require('./runtime/deploy/clean') as typeof Clean;
const gc = () => require('./runtime/store/gc') as typeof Gc;
const ociExport = () => require('./runtime/image/oci-export') as typeof OciExport;
const sbom = () => require('./runtime/reports/sbom') as typeof SbomModule;
const registryCache = () => require('./runtime/deploy/cache/registry') as typeof RegistryCache;
const verifying = () => require('./app/verify') as typeof Verify;
const keys = () => require('./runtime/image/sign/keys') as typeof Keys;
const bundles = () => require('./runtime/image/sign/bundles') as typeof Bundles;
const ciGithub = () => require('./app/ci/github') as typeof CiGithub;
const ciArgo = () => require('./app/ci/argo') as typeof CiArgo;
const ciTasking = () => require('./app/ci/tasks') as typeof CiTasks;

export type { CiTask, CiTaskOptions } from './app/ci/tasks';
export type { GithubWorkflowOptions } from './app/ci/github';
export type { ArgoWorkflowOptions, ArgoCommand } from './app/ci/argo';
/**
 * The tasks of a distributed build of a manifest: one `imgsdk node` per image and platform, one publish per image (app/ci/tasks.ts).
 * @example ciTasks(assemble(myApp).manifest, { cache: 'registry.example.com/ci' }).map((t) => [t.name, t.dependencies])
 */
export const ciTasks: typeof CiTasks.ciTasks = (...a) => ciTasking().ciTasks(...a);
/**
 * A GitHub Actions workflow (YAML) running those tasks, as `imgsdk ci github` writes it.
 * @example writeFileSync('.github/workflows/images.yml', githubWorkflow(assemble(myApp).manifest, { cache: 'ghcr.io/acme/cache', app: 'images.ts', runners: { 'linux/arm64': 'ubuntu-24.04-arm' } }))
 */
export const githubWorkflow: typeof CiGithub.githubWorkflow = (...a) => ciGithub().githubWorkflow(...a);
/**
 * An Argo Workflows Workflow (YAML) running those tasks, as `imgsdk ci argo` writes it.
 * @example writeFileSync('images.argo.yaml', argoWorkflow(assemble(myApp).manifest, { cache: 'registry.example.com/ci', runnerImage: 'registry.example.com/team/runner:1' }))
 */
export const argoWorkflow: typeof CiArgo.argoWorkflow = (...a) => ciArgo().argoWorkflow(...a);
/**
 * The processes a Workflow's DAG tasks run, parameters substituted, with their dependencies: what a stand-in for Argo executes.
 * @example for (const c of argoCommands(readFileSync('images.argo.yaml', 'utf8'))) console.log(c.name, c.dependencies, c.argv.join(' '))
 */
export const argoCommands: typeof CiArgo.argoCommands = (...a) => ciArgo().argoCommands(...a);

/**
 * Verifies a pushed image or index offline with public keys: signatures, attestations, SBOM = package database (app/verify.ts).
 * @example await verify('registry.example.com/team/acme/web:latest', { keys: ['imgsdk.pub'] });
 */
export const verify: typeof Verify.verify = (...a) => verifying().verify(...a);
/**
 * Writes an ECDSA P-256 key pair, `<prefix>.key` and `<prefix>.pub`.
 * @example await keygen('ci'); // ci.key, ci.pub
 */
export const keygen: typeof Verify.keygen = (...a) => verifying().keygen(...a);
/**
 * A Signer from a PEM private key (file or text), for deploy's signing or your own.
 * @example const s = await keySigner('imgsdk.key'); (await s.sign(Buffer.from('x'))).keyHint
 */
export const keySigner: typeof Keys.keySigner = (...a) => keys().keySigner(...a);
/**
 * Checks a serialized Sigstore bundle with trusted public keys (offline), as verify does.
 * @example verifyBundle(bundleJson, await trustedKeys(['imgsdk.pub']), payload)
 */
export const verifyBundle: typeof Bundles.verifyBundle = (...a) => bundles().verifyBundle(...a);
/**
 * Trusted keys from PEM public keys (files or text).
 * @example const keys = await trustedKeys(['imgsdk.pub', 'old.pub']);
 */
export const trustedKeys: typeof Keys.trustedKeys = (...a) => keys().trustedKeys(...a);

/** Updates the lock to the archives now and looks up newer stage3 dates (app/update-lock.ts). */
export const update: typeof UpdateLock.update = (...a) => updateLock().update(...a);
/** Newer stage3 dates of Gentoo builders, with the images that rebuild (app/stage3-updates.ts). */
export const stage3Updates: typeof UpdateLock.stage3Updates = (...a) => updateLock().stage3Updates(...a);
/** What `imgsdk clean` would remove (runtime/deploy/clean.ts). */
export const planClean: typeof Clean.planClean = (...a) => clean().planClean(...a);
/** Removes what a clean plan lists. */
export const executeClean: typeof Clean.executeClean = (...a) => clean().executeClean(...a);
/**
 * What a garbage collection of a state directory would remove (runtime/store/gc.ts); hold its lock while planning and running.
 * @example const plan = await planGc('.imgsdk', liveKeysOf(manifest.images), { keep: 3 });
 */
export const planGc: typeof Gc.planGc = (...a) => gc().planGc(...a);
/**
 * Removes what a GC plan lists, records first; the bytes freed.
 * @example const freed = await runGc(plan);
 */
export const runGc: typeof Gc.runGc = (...a) => gc().runGc(...a);
/**
 * The current keys of a manifest's images, as GC keeps them.
 * @example liveKeysOf((await readAssembly('imgsdk.out')).manifest.images)
 */
export const liveKeysOf: typeof Gc.liveKeysOf = (...a) => gc().liveKeysOf(...a);
/** Writes images into an OCI image layout (runtime/image/oci-export.ts). */
export const exportOci: typeof OciExport.exportOci = (...a) => ociExport().exportOci(...a);
/** Writes an image as a docker-archive. */
export const exportDockerArchive: typeof OciExport.exportDockerArchive = (...a) => ociExport().exportDockerArchive(...a);
/** An image's SPDX 2.3 SBOM (runtime/reports/sbom.ts). */
export const renderSpdx: typeof SbomModule.renderSpdx = (...a) => sbom().renderSpdx(...a);
/** The tag of a key's build artifact in the registry cache. */
export const buildTag: typeof RegistryCache.buildTag = (...a) => registryCache().buildTag(...a);
/** The repository of an image in the registry cache. */
export const cacheRepository: typeof RegistryCache.cacheRepository = (...a) => registryCache().cacheRepository(...a);
