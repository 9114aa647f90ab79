/**
 * The provenance of an image: an in-toto Statement v1 with a SLSA Provenance v1
 * predicate, saying what the image was built from (the app's sources, its key and
 * the key's inputs, the builder image, the parent images, the packages and their
 * versions) and by what (imgsdk and its version). Written next to the SBOM,
 * attached to the image in the OCI layout and pushed with it (attest.ts).
 *
 * The subject is the image config's digest (the image id): the one digest the
 * image has everywhere, while the manifest digest differs between the OCI layout
 * (uncompressed layers) and a registry the engine pushed to (compressed ones).
 * No time stamps: the same build gives the same bytes.
 */
import type { ImageDef } from '../../contract/assembly';
import { canonicalJson } from '../../contract/json';
import { sha256Digest } from '../../util/hash';
import { SDK_VERSION } from '../../contract/version';
import { purlOf } from './sbom';
import type { PackageInfo } from '../store/state';
import { LABEL_KEY, PROVENANCE_FILE } from '../../contract/labels';

export { PROVENANCE_FILE };

/** Media type of an in-toto statement (the attestation's layer). */
export const IN_TOTO_MEDIA_TYPE = 'application/vnd.in-toto+json';
/** What imgsdk builds are, as SLSA's buildType. */
export const BUILD_TYPE = 'https://imgsdk.invalid/buildtypes/deploy/v1';

/** What the statement is made from. */
export interface ProvenanceInput {
  readonly def: ImageDef;
  readonly key: string;
  /** The named inputs of the key (manifest `inputs`). */
  readonly keyInputs?: Readonly<Record<string, string>>;
  /** The app's source files and their sha256 (manifest `sources`). */
  readonly sources?: Readonly<Record<string, string>>;
  /** The imgsdk version that synthesized the assembly. */
  readonly synthVersion: string;
  /** `sha256:…` of the image config: the subject. */
  readonly imageId: string;
  /** `sha256:…` of the SBOM. */
  readonly sbom: string;
  readonly epoch: number;
  /** The builder image phase 1 ran in, when one did. */
  readonly builder: { readonly id: string; readonly key: string; readonly ref?: string; readonly imageId?: string } | null;
  /** Parent images, nearest first, and images files were copied from. */
  readonly images: readonly { readonly id: string; readonly imageId: string; readonly role: 'parent' | 'copy' }[];
  /** Packages this image installed (versions as locked and resolved). */
  readonly packages: readonly PackageInfo[];
}

/** The statement and the digest of exactly its bytes. */
export interface Provenance {
  readonly json: string;
  readonly digest: string;
}

/**
 * Renders the statement of one image.
 * @example const p = renderProvenance({ def, key, synthVersion, imageId, sbom, epoch: 0, builder: null, images: [], packages: [] });
 */
export function renderProvenance(input: ProvenanceInput): Provenance {
  const hex = (d: string) => d.replace(/^sha256:/, '');
  const deps: Record<string, unknown>[] = [];
  if (input.builder) {
    deps.push({
      name: `builder ${input.builder.id}`,
      ...(input.builder.ref ? { uri: `docker-image://${input.builder.ref}` } : {}),
      ...(input.builder.imageId ? { digest: { sha256: hex(input.builder.imageId) } } : {}),
      annotations: { [LABEL_KEY]: input.builder.key },
    });
  }
  for (const i of input.images) deps.push({ name: `${i.role} ${i.id}`, uri: `docker-image://${i.id}`, digest: { sha256: hex(i.imageId) } });
  for (const p of [...input.packages].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const purl = purlOf(p);
    deps.push({
      name: p.name,
      uri: purl ?? `imgsdk:package/${encodeURIComponent(p.name)}@${encodeURIComponent(p.version)}`,
      annotations: { version: p.version },
    });
  }
  const sources = Object.entries(input.sources ?? {}).map(([path, sha]) => ({ uri: `file:${path}`, digest: { sha256: sha } }));
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: input.def.id, digest: { sha256: hex(input.imageId) } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          image: input.def.id,
          key: input.key,
          sourceDateEpoch: input.epoch,
          definition: { sha256: hex(sha256Digest(canonicalJson(input.def))) },
          ...(sources.length ? { sources } : {}),
        },
        internalParameters: {
          ...(input.keyInputs ? { keyInputs: input.keyInputs } : {}),
          sbom: input.sbom,
          synthesizedBy: `imgsdk ${input.synthVersion}`,
        },
        resolvedDependencies: deps,
      },
      runDetails: {
        builder: { id: `https://imgsdk.invalid/imgsdk@${SDK_VERSION}`, version: { imgsdk: SDK_VERSION } },
        metadata: { invocationId: `${input.def.id}@${input.key}` },
      },
    },
  };
  const json = canonicalJson(statement);
  return { json, digest: sha256Digest(json) };
}
