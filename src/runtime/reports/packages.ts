import type { ImageDef } from '../../contract/assembly';
import type { PurgeReport } from '../rootfs/purge';
import { PURGE_CATEGORIES } from '../rootfs/purge';
import type { DroppedModule } from '../rootfs/modules';
import type { StrippedFile } from '../rootfs/privileges';
import type { PackageInfo } from '../store/state';
import { formatSize } from '../../util/format';
import { shortKey } from '../../contract/names';

export { formatSize };

export interface PackagesReport {
  readonly def: ImageDef;
  readonly key: string;
  readonly builder: string;
  readonly size: number;
  readonly packages: readonly PackageInfo[];
  readonly inherited: readonly { readonly id: string; readonly packages: readonly PackageInfo[] }[];
  readonly purged: PurgeReport;
  readonly slimmed: {
    readonly packages: readonly string[];
    readonly count: number;
    readonly bytes: number;
    readonly unused?: readonly string[];
    readonly named?: ReadonlyMap<string, string>;
  };
  /** Files whose privileges (setuid, setgid, capabilities) or world-writable bit were removed. */
  readonly stripped?: readonly StrippedFile[];
  /** Modules that could never load, left out. */
  readonly droppedModules?: readonly DroppedModule[];
  /** Accounts adopted or added, files of unknown owners. */
  readonly notes?: readonly string[];
}

/**
 * PACKAGES.md as Kubler writes it: installed packages, inherited ones per
 * ancestor, and what the purge removed as check boxes. No dates: the same build
 * gives the same file.
 */
export function renderPackagesMd(r: PackagesReport): string {
  const out: string[] = [];
  out.push(`### ${r.def.id}:${shortKey(r.key)}`, '');
  out.push(`Built in \`${r.builder}\` · ${formatSize(r.size)} · key \`${r.key}\``, '');
  out.push('#### Installed', '');
  out.push(...table(r.packages));
  out.push('', '#### Inherited', '');
  for (const a of r.inherited) {
    out.push(`**FROM ${a.id}**`, '');
    out.push(...table(a.packages), '');
  }
  out.push('**FROM scratch**', '', '#### Purged', '');
  const removed = new Map(r.purged.categories.map((c) => [c.category as string, c]));
  for (const cat of PURGE_CATEGORIES) {
    const c = removed.get(cat);
    const kept = r.def.keep.includes(cat);
    out.push(`- [${c ? 'x' : ' '}] ${cat}${c ? ` (${c.count} entries, ${formatSize(c.bytes)})` : kept ? ' (kept)' : ''}`);
  }
  if (r.purged.globbed.length)
    out.push(`- [x] the image's own globs (${r.purged.globbed.length} entries, ${formatSize(r.purged.globbedBytes)})`);
  if (r.slimmed.count) {
    out.push(
      '',
      '#### Slimmed',
      '',
      `Only what the image uses was kept of: ${r.slimmed.packages.join(', ') || '(unowned files)'} (${r.slimmed.count} entries, ${formatSize(r.slimmed.bytes)} left out).`,
    );
    if (r.slimmed.unused?.length) out.push('', `Unused (only their library configuration kept): ${r.slimmed.unused.join(', ')}.`);
  }
  if (r.slimmed.named?.size) {
    out.push(
      '',
      '#### Kept by name',
      '',
      'Files of library and base packages that no ELF file links but a kept file names (a path in a configuration file, a command in a script or a `system()` string): slimming cannot tell they are unused, so it keeps them.',
      '',
    );
    for (const [p, by] of r.slimmed.named) out.push(`- /${p}: named by /${by}`);
  }
  if (r.stripped?.length) {
    out.push('', '#### Privileges removed', '', "Keep them with `.keep('setuid')` (world-writable: `.keep('world-writable')`).", '');
    for (const f of r.stripped)
      out.push(`- /${f.path}: ${f.what.join(', ')} (${f.from.toString(8).padStart(4, '0')} → ${f.to.toString(8).padStart(4, '0')})`);
  }
  if (r.droppedModules?.length) {
    out.push('', '#### Modules left out', '', 'Loadable modules whose libraries no installed package provides; they could never load.', '');
    for (const m of r.droppedModules) out.push(`- /${m.path}: ${m.why}`);
  }
  if (r.notes?.length) {
    out.push('', '#### Notes', '');
    for (const n of r.notes) out.push(`- ${n}`);
  }
  return out.join('\n') + '\n';
}

function table(all: readonly PackageInfo[]): string[] {
  // As Kubler does: virtual/* packages install nothing, so they are not listed.
  const pkgs = all.filter((p) => !p.name.startsWith('virtual/'));
  if (!pkgs.length) return ['(none)'];
  const rows = ['| Package | Version | Details |', '|---|---|---|'];
  for (const p of [...pkgs].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const details = p.use?.length
      ? p.use.join(' ')
      : [p.arch, p.source && p.source !== p.name ? `source ${p.source}` : ''].filter(Boolean).join(', ');
    rows.push(`| ${p.name} | ${p.version} | ${details} |`);
  }
  return rows;
}
