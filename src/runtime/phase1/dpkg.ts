import type { Row } from '../../contract/builder-files';
import type { PackageInfo } from '../store/state';

/**
 * What dpkg's status database says of one installed package. Its dependencies are not
 * read here: which alternative satisfies each is decided once, by the closure in the
 * builder (lib.sh `pkg_closure`), and read from its depends.tsv ({@link enrichPackages}).
 */
export interface DpkgRecord {
  readonly name: string;
  readonly section: string;
  readonly priority: string;
  readonly essential: boolean;
  readonly provides: readonly string[];
}

/**
 * Parses `/var/lib/dpkg/status` (deb822 stanzas) into the installed packages.
 * @example parseDpkgStatus(text).get('nginx-common')?.section // 'httpd'
 */
export function parseDpkgStatus(text: string): Map<string, DpkgRecord> {
  const out = new Map<string, DpkgRecord>();
  for (const stanza of text.split(/\n\s*\n/)) {
    const f: Record<string, string> = {};
    let last = '';
    for (const line of stanza.split('\n')) {
      if (/^\s/.test(line) && last) f[last] += '\n' + line.trim();
      else {
        const i = line.indexOf(':');
        if (i <= 0) continue;
        last = line.slice(0, i).toLowerCase();
        f[last] = line.slice(i + 1).trim();
      }
    }
    if (!f.package || !/\binstalled$/.test(f.status ?? '')) continue;
    out.set(f.package, {
      name: f.package,
      section: (f.section ?? '').replace(/^.*\//, ''),
      priority: f.priority ?? '',
      essential: f.essential === 'yes',
      provides: relations(f.provides).flat(),
    });
  }
  return out;
}

function relations(field: string | undefined): string[][] {
  if (!field) return [];
  return field
    .split(',')
    .map((group) =>
      group
        .split('|')
        .map((alt) =>
          alt
            .trim()
            .replace(/\s*[([<].*$/, '')
            .replace(/:.*$/, ''),
        )
        .filter(Boolean),
    )
    .filter((g) => g.length);
}

/**
 * Adds Section, Priority, Essential and the resolved dependencies to packages.json
 * entries: `depends` names the packages the closure chose for each Depends group
 * (depends.tsv rows, as lib.sh's `pkg_closure` resolved them).
 * @example enrichPackages([{ name: 'nginx', version: '1', origin: 'debian' }], status, [{ package: 'nginx', depends: 'libc6' }])[0].depends // ['libc6']
 */
export function enrichPackages(
  packages: readonly PackageInfo[],
  status: ReadonlyMap<string, DpkgRecord>,
  resolved: readonly Row<'package' | 'depends'>[],
): PackageInfo[] {
  const edges = new Map<string, Set<string>>();
  for (const { package: from, depends: to } of resolved)
    if (from && to && from !== to) edges.set(from, (edges.get(from) ?? new Set()).add(to));
  return packages.map((p) => {
    const r = status.get(p.name);
    if (!r) return p;
    const depends = [...(edges.get(p.name) ?? [])].sort();
    return {
      ...p,
      section: r.section,
      priority: r.priority,
      essential: r.essential,
      depends,
      ...(r.provides.length ? { provides: r.provides } : {}),
    };
  });
}

/**
 * The raw stanza of every installed package in `/var/lib/dpkg/status`, by name,
 * as scanners read it from a distroless image's `status.d/<name>`.
 * @example statusStanzas(text).get('curl') // 'Package: curl\nStatus: install ok installed\n…\n'
 */
export function statusStanzas(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\n\s*\n/)) {
    const stanza = raw.replace(/^\n+|\n+$/g, '');
    const name = /^Package:\s*(\S+)/m.exec(stanza)?.[1];
    const status = /^Status:\s*(.*)$/m.exec(stanza)?.[1] ?? '';
    if (name && /\binstalled$/.test(status.trim())) out.set(name, stanza + '\n');
  }
  return out;
}
