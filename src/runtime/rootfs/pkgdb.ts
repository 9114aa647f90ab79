/**
 * The package database scanners read (Trivy, Grype, Syft), written into each
 * image's own layer for the packages that layer installed, after the purge (which
 * drops the builder's database): Debian's per-package status files as distroless
 * writes them, `/var/lib/dpkg/status.d/<name>` holding the package's control
 * stanza; for Gentoo, the `/var/db/pkg/<category>/<name>-<version>/` entries
 * Portage itself keeps (CATEGORY, PF, SLOT, USE, repository, CONTENTS).
 */
import type { BuilderKind } from '../../contract/assembly';
import type { BlobStore } from '../store/blobs';
import type { Entry } from '../store/entry';
import type { PackageInfo } from '../store/state';
import { hashHex } from '../../util/hash';

/** Where Debian's per-package status files go (distroless's layout). */
export const DPKG_STATUS_D = 'var/lib/dpkg/status.d';
/** Where Portage keeps its installed-package database. */
export const PORTAGE_DB = 'var/db/pkg';

export interface PackageDbInput {
  readonly kind: BuilderKind;
  /** Packages this layer installed. */
  readonly packages: readonly PackageInfo[];
  /** Debian: each package's stanza from the builder's /var/lib/dpkg/status, when phase 1 kept them. */
  readonly control?: Readonly<Record<string, string>>;
  /** The layer's entries (Gentoo: the files each package owns, for CONTENTS). */
  readonly entries: readonly Entry[];
  readonly blobs: BlobStore;
  /** SOURCE_DATE_EPOCH, the mtime CONTENTS records. */
  readonly epoch: number;
}

/**
 * The database files of one layer, as entries whose bodies are in `blobs`.
 * @example const db = await packageDbEntries({ kind: 'debian', packages, control, entries, blobs, epoch: 0 });
 */
export async function packageDbEntries(input: PackageDbInput): Promise<Entry[]> {
  const files = input.kind === 'debian' ? debianStatus(input) : await portageDb(input);
  const out: Entry[] = [];
  for (const [path, text] of files) {
    const data = Buffer.from(text);
    out.push({
      path,
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: data.length,
      linkname: null,
      sha256: await input.blobs.put(data),
      elf: null,
    });
  }
  return out;
}

function debianStatus(input: PackageDbInput): [string, string][] {
  return input.packages
    .filter((p) => p.origin === 'debian')
    .map((p) => [`${DPKG_STATUS_D}/${p.name}`, input.control?.[p.name] ?? minimalStanza(p)]);
}

/** What a stanza needs for a scanner when the builder's status was not kept (an older rootfs cache). */
function minimalStanza(p: PackageInfo): string {
  const lines = [`Package: ${p.name}`, 'Status: install ok installed'];
  if (p.priority) lines.push(`Priority: ${p.priority}`);
  if (p.section) lines.push(`Section: ${p.section}`);
  if (p.source && p.source !== p.name) lines.push(`Source: ${p.source}`);
  lines.push("Maintainer: unknown (the builder's control data was not kept)");
  lines.push(`Version: ${p.version}`);
  if (p.arch) lines.push(`Architecture: ${p.arch}`);
  lines.push(`Description: ${p.name}, installed by imgsdk`);
  return lines.join('\n') + '\n';
}

async function portageDb(input: PackageDbInput): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const p of input.packages) {
    if (p.origin !== 'gentoo' || !p.name.includes('/')) continue;
    const [category, name] = p.name.split('/');
    const pf = `${name}-${p.version}`;
    const dir = `${PORTAGE_DB}/${category}/${pf}`;
    out.push([`${dir}/CATEGORY`, `${category}\n`], [`${dir}/PF`, `${pf}\n`], [`${dir}/SLOT`, `${p.slot ?? '0'}\n`]);
    out.push([`${dir}/USE`, `${(p.use ?? []).filter((u) => !u.startsWith('-')).join(' ')}\n`]);
    if (p.repository) out.push([`${dir}/repository`, `${p.repository}\n`]);
    out.push([`${dir}/CONTENTS`, await contents(input, p.name)]);
  }
  return out;
}

/** Portage's CONTENTS: `dir /d`, `obj /f <md5> <mtime>`, `sym /l -> target <mtime>`, for what the layer kept of the package. */
async function contents(input: PackageDbInput, pkg: string): Promise<string> {
  const lines: string[] = [];
  for (const e of input.entries) {
    if (e.origin !== pkg) continue;
    if (e.type === 'dir') lines.push(`dir /${e.path}`);
    else if (e.type === 'symlink') lines.push(`sym /${e.path} -> ${e.linkname} ${input.epoch}`);
    else if (e.type === 'file' || e.type === 'hardlink') {
      const sha = e.type === 'file' ? e.sha256 : input.entries.find((t) => t.path === e.linkname)?.sha256;
      const md5 = sha ? await input.blobs.digest(sha, 'md5') : hashHex('md5', '');
      lines.push(`obj /${e.path} ${md5} ${input.epoch}`);
    }
  }
  return lines.map((l) => l + '\n').join('');
}
