export * from './contract/errors';
export * from './contract/assembly';
export * from './sdk/image';
export * from './sdk/builder';
export * from './sdk/app';
export * from './sdk/policy';
export * from './sdk/synth';
export * from './sdk/graph';
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
