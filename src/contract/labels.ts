/**
 * Names deploy, the reports and the image config share: the label that carries the
 * SBOM's digest and the report files of an image's state directory.
 */

/** Image label holding the SBOM's `sha256:` digest. */
export const LABEL_SBOM = 'org.imgsdk.sbom';

/** The SPDX SBOM beside PACKAGES.md in an image's state directory. */
export const SBOM_FILE = 'sbom.spdx.json';

/** The in-toto provenance statement beside it. */
export const PROVENANCE_FILE = 'provenance.intoto.json';

/** artifactType of a build entry in the registry cache (runtime/deploy/cache/registry.ts). */
export const BUILD_ARTIFACT_TYPE = 'application/vnd.imgsdk.build.v1+json';
