/**
 * Every `org.imgsdk.*` label and annotation, written once: on images (config and
 * builder images), containers, volumes and registry cache entries; and the names
 * of the report files of an image's state directory.
 */

/** Put on everything imgsdk creates (containers, volumes, builder images), so `imgsdk clean` can find leftovers. */
export const LABEL_OWNED = 'org.imgsdk';

/** The imgsdk image id (`namespace/name`) in a built image's config. */
export const LABEL_ID = 'org.imgsdk.id';

/** The cache key an image (or builder image, or phase-1 container) was built for; also a registry cache annotation. */
export const LABEL_KEY = 'org.imgsdk.key';

/** The imgsdk image a container works for; also a registry cache annotation. */
export const LABEL_IMAGE = 'org.imgsdk.image';

/** The builder id of a builder image. */
export const LABEL_BUILDER = 'org.imgsdk.builder';

/** The id of the image a builder's `from:` tag named when it was set up. */
export const LABEL_BUILDER_FROM = 'org.imgsdk.builder.from';

/** The state directory (its identity, deploy/leftovers.ts) a deploy's container works for. */
export const LABEL_STATE = 'org.imgsdk.state';

/** The process that made a container (`pid:start:boot`, see store/mutex.ts): a sweep for leftovers removes a labelled container only once that process is gone, so a running `imgsdk lock` keeps its container while a deploy sweeps the same state. */
export const LABEL_OWNER = 'org.imgsdk.owner';

/** What a check container runs: `test`, `healthcheck`, `ready` or `debug`. */
export const LABEL_CHECK = 'org.imgsdk.check';

/** The builder a container resolving imgsdk.lock works in. */
export const LABEL_LOCK = 'org.imgsdk.lock';

/** On a `:debug` variant: the busybox-static it adds. */
export const LABEL_DEBUG = 'org.imgsdk.debug';

/** The stage3 flavour a stage3 image was imported from. */
export const LABEL_STAGE3 = 'org.imgsdk.stage3';

/** The stage3 date a stage3 or builder image was set up from. */
export const LABEL_STAGE3_DATE = 'org.imgsdk.stage3.date';

/** The SHA512 of the tarball a stage3 image was imported from. */
export const LABEL_STAGE3_SHA512 = 'org.imgsdk.stage3.sha512';

/** Image label holding the SBOM's `sha256:` digest. */
export const LABEL_SBOM = 'org.imgsdk.sbom';

/** The SPDX SBOM beside PACKAGES.md in an image's state directory. */
export const SBOM_FILE = 'sbom.spdx.json';

/** The in-toto provenance statement beside it. */
export const PROVENANCE_FILE = 'provenance.intoto.json';

/** artifactType of a build entry in the registry cache (runtime/deploy/cache/registry.ts). */
export const BUILD_ARTIFACT_TYPE = 'application/vnd.imgsdk.build.v1+json';
