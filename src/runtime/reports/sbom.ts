/**
 * The SPDX 2.3 JSON SBOM of an image: the image as the described package, every
 * installed and inherited package (packages.json), and every regular file of the
 * final filesystem with its SHA1 and SHA256. Deterministic: the time is the
 * build's SOURCE_DATE_EPOCH and every list is sorted, so the document's digest
 * can go into an image label without making builds irreproducible.
 */
import type { ImageDef } from '../../contract/assembly';
import { canonicalJson } from '../../contract/json';
import { sha256Digest } from '../../util/hash';
import type { BlobStore } from '../store/blobs';
import type { Entry } from '../store/entry';
import type { PackageInfo } from '../store/state';
import { SDK_VERSION } from '../../contract/version';
import { SBOM_FILE } from '../../contract/labels';
import { shortKey } from '../../contract/names';

export { SBOM_FILE };

/** What the SBOM is made from. */
export interface SbomInput {
  readonly def: ImageDef;
  readonly key: string;
  /** Packages this image installed. */
  readonly packages: readonly PackageInfo[];
  /** Packages of every ancestor, nearest first. */
  readonly inherited: readonly { readonly id: string; readonly packages: readonly PackageInfo[] }[];
  /** Entries of every layer, the oldest ancestor's first, this image's last (a later path wins). */
  readonly layers: readonly (readonly Entry[])[];
  readonly blobs: BlobStore;
  /** Creation time, epoch seconds. */
  readonly epoch: number;
}

/** The SBOM document and the digest of exactly its bytes. */
export interface Sbom {
  readonly json: string;
  readonly digest: string;
  /** Package count (the image itself not included) and regular-file count. */
  readonly packages: number;
  readonly files: number;
}

/**
 * Renders the SPDX 2.3 document of one image.
 * @example const sbom = await renderSpdx({ def, key, packages, inherited, layers, blobs, epoch: 0 });
 */
export async function renderSpdx(input: SbomInput): Promise<Sbom> {
  const { def, key } = input;
  const created = new Date(input.epoch * 1000).toISOString().replace(/\.000Z$/, 'Z');
  const imageSpdxId = 'SPDXRef-Image';
  const relationships: Record<string, string>[] = [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: imageSpdxId },
  ];

  const all: { pkg: PackageInfo; from: string | null }[] = [
    ...input.packages.map((pkg) => ({ pkg, from: null })),
    ...input.inherited.flatMap((a) => a.packages.map((pkg) => ({ pkg, from: a.id }))),
  ];
  // One SPDX package per name; the image's own install wins over an ancestor's.
  const byName = new Map<string, { pkg: PackageInfo; from: string | null }>();
  for (const p of all) if (!byName.has(p.pkg.name)) byName.set(p.pkg.name, p);
  const names = [...byName.keys()].sort();
  const pkgId = new Map(names.map((n, i) => [n, `SPDXRef-Package-${i + 1}-${n.replace(/[^A-Za-z0-9.-]/g, '-')}`]));
  const packages: Record<string, unknown>[] = [
    {
      name: def.id,
      SPDXID: imageSpdxId,
      versionInfo: shortKey(key),
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      primaryPackagePurpose: 'CONTAINER',
      comment: `imgsdk image key ${key}`,
    },
  ];
  for (const n of names) {
    const { pkg, from } = byName.get(n)!;
    const purl = purlOf(pkg);
    packages.push({
      name: pkg.name,
      SPDXID: pkgId.get(n),
      versionInfo: pkg.version,
      supplier: pkg.origin === 'debian' ? 'Organization: Debian' : 'NOASSERTION',
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      ...(pkg.source && pkg.source !== pkg.name ? { sourceInfo: `built from source package ${pkg.source}` } : {}),
      ...(purl ? { externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl }] } : {}),
      ...(from ? { comment: `inherited from ${from}` } : pkg.use?.length ? { comment: `USE="${pkg.use.join(' ')}"` } : {}),
    });
    relationships.push({ spdxElementId: imageSpdxId, relationshipType: 'CONTAINS', relatedSpdxElement: pkgId.get(n)! });
  }

  const final = new Map<string, Entry>();
  for (const layer of input.layers) for (const e of layer) final.set(e.path, e);
  const regular = [...final.values()]
    .filter((e) => e.type === 'file' && e.sha256)
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const files: Record<string, unknown>[] = [];
  for (const [i, e] of regular.entries()) {
    const id = `SPDXRef-File-${i + 1}`;
    const sha1 = await input.blobs.digest(e.sha256!, 'sha1');
    files.push({
      fileName: `./${e.path}`,
      SPDXID: id,
      checksums: [
        { algorithm: 'SHA1', checksumValue: sha1 },
        { algorithm: 'SHA256', checksumValue: e.sha256 },
      ],
      licenseConcluded: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
    });
    const owner = e.origin && pkgId.get(e.origin);
    relationships.push({ spdxElementId: owner || imageSpdxId, relationshipType: 'CONTAINS', relatedSpdxElement: id });
  }

  const doc = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `${def.id}:${shortKey(key)}`,
    // Unique per image key and stable across rebuilds of it; not meant to resolve.
    documentNamespace: `https://imgsdk.invalid/spdx/${def.id}/${key}`,
    creationInfo: { created, creators: [`Tool: imgsdk-${SDK_VERSION}`] },
    packages,
    files,
    relationships,
  };
  const json = canonicalJson(doc);
  return { json, digest: sha256Digest(json), packages: names.length, files: files.length };
}

/** Package URL of a package: `pkg:deb/debian/…` or `pkg:ebuild/<category>/…`; null when unknown. */
export function purlOf(p: PackageInfo): string | null {
  const v = encodeURIComponent(p.version);
  if (p.origin === 'debian') return `pkg:deb/debian/${encodeURIComponent(p.name)}@${v}${p.arch ? `?arch=${p.arch}` : ''}`;
  if (p.name.includes('/')) {
    const [cat, name] = p.name.split('/');
    return `pkg:ebuild/${encodeURIComponent(cat)}/${encodeURIComponent(name)}@${v}`;
  }
  return null;
}
