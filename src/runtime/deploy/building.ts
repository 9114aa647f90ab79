/**
 * What only a build needs, loaded by deploy.ts when a build starts: the builders,
 * phase 1, the rootfs pipeline, phase 2 and the reports. A deploy whose images are
 * all cached loads none of it.
 */
export { ensureDebianBuilder } from '../phase1/builders/debian';
export { ensureBuilder as ensureBuilderImage } from '../phase1/builders/ensure';
export { parentPackageLine } from '../phase1/builders/gentoo';
export { runPhase1 } from '../phase1/run';
export { runPhase2 } from '../image/phase2';
export { renderPackagesMd } from '../reports/packages';
export { renderSpdx } from '../reports/sbom';
export { renderProvenance } from '../reports/provenance';
export { runPipeline } from '../rootfs/pipeline';
export { rootfsInput } from '../rootfs/input';
export { normalizeEntries } from '../rootfs/tar';
export { packageDbEntries } from '../rootfs/pkgdb';
