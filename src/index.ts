/**
 * The public API of imgsdk: every name a user may import from 'imgsdk', listed by
 * name (no `export *`, so a helper exported between modules does not leak here).
 * Declarations marked `@internal` are stripped from dist/*.d.ts (stripInternal).
 */
export {
  ERROR_CODES, exitCodeOf, formatProblem,
  ImgsdkError, ValidationError, UsageError, AssemblyError, EngineError, BuildError, RootfsError, LockError, CancelledError, FetchError,
  type ErrorCode, type Problem,
} from './contract/errors';
export {
  ASSEMBLY_VERSION, BUILDER_VERSION, BUILD_SCRIPT_VERSION, GENTOO_SETUP_VERSION, phase1View,
  type AccountDef, type AtomFlags, type BuilderDef, type BuilderKind, type DebianBuilderOptions, type DebianSource, type DownloadDef,
  type FileDef, type GentooBuilderOptions, type HealthcheckDef, type HooksDef, type ImageConfigDef, type ImageDef, type Libc,
  type Manifest, type ManifestBuilder, type ManifestImage, type ManifestPlatform, type OverlayDef, type PackageEnvDef, type PatchDef,
  type Phase1View, type PortageDef, type RecordDef,
} from './contract/assembly';
export {
  Image, image, KEEP_CATEGORIES,
  type AccountProps, type ClosureProps, type CopyProps, type FileContent, type FileOptions, type HealthcheckProps, type KeepCategory, type OverlayProps,
} from './sdk/image';
export { Builder, debian, gentoo, forPlatform, STAGE3_FLAVOURS, type DebianBuilderProps, type GentooBuilderProps } from './sdk/builder';
export { App, app, type AppInput, type Policy, type PolicyContext } from './sdk/app';
export { nonRoot, noShell } from './sdk/policy';
export { synth, assemble, type Assembly, type AssembleOptions, type SynthOptions } from './sdk/synth';
export { keyInputs, imageKey, builderKey } from './contract/key';
export { PLATFORMS, DEFAULT_PLATFORM, normalizePlatform, platformInfo, hostPlatform, checkPlatforms, ociPlatform, type PlatformInfo } from './contract/platform';
export { emulation } from './runtime/image/platforms';
export { Atom, checkUseFlag, checkKeyword } from './sdk/portage/atom';
export { checkDebianPackage, DebianVersion } from './sdk/debian/package';
export { loadApp, lockFileOf } from './sdk/load';
export {
  LOCK_FILE, LOCK_VERSION, emptyLock, parseLock, renderLock, readLockFile, lockStates, lockChanges, dependents,
  type Lock, type LockedPackage, type ImageLock, type BuilderLock, type DebianBuilderLock, type GentooBuilderLock,
  type LockStatus, type ImageLockState, type PackageChange,
} from './sdk/lock';
export { parsePretend, pretendToLocked, lockedAtom, type PretendPackage } from './sdk/portage/lock';
export { debianSources, debianSuites } from './contract/apt';
export { readAssembly } from './contract/read';
export { deploy, deployApp, type AppDeployOptions, type DeployAppOptions, type DeployResult } from './app/deploy';
export { locate, type Where, type Located } from './app/open';
export { OUT_DIR_NAME, STATE_DIR_NAME, ENV_OUT_DIR, ENV_STATE_DIR } from './contract/defaults';
export { deployAssembly, type DeployEvent, type DeployOptions, type ImageResult } from './runtime/deploy/deploy';
export { diff, type DiffEntry, type DiffOptions } from './runtime/deploy/diff';
export { lock, outdated, ensureLocked, type LockOptions, type LockResult, type OutdatedResult } from './app/lockfile';
export { update, stage3Updates, type UpdateResult, type Stage3Update } from './app/update-lock';
export { planClean, executeClean, type CleanPlan, type CleanOptions, type CleanResult } from './runtime/deploy/clean';
export { exportOci, exportDockerArchive, type ExportImage } from './runtime/image/oci-export';
export { renderSpdx, LABEL_SBOM, SBOM_FILE, type Sbom } from './runtime/reports/sbom';
export type { Pushed } from './runtime/image/push';
export { BUILD_ARTIFACT_TYPE, buildTag, cacheRepository } from './runtime/deploy/cache/registry';
