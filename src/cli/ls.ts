import { assembleApp } from '../app/open';
import { parse } from './args';

export const LS_USAGE = `imgsdk ls [--app FILE|DIR] [--json]
  Lists the images: id, parent, builder, short key.
`;

export async function lsCommand(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, { app: { type: 'string' }, json: { type: 'boolean' } });
  const { manifest } = assembleApp(values).assembly;
  const rows = Object.entries(manifest.images).map(([id, m]) => ({ id, parent: m.parent ?? 'scratch', builder: m.builder, key: m.key.slice(0, 12) }));
  if (values.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return 0;
  }
  const head = { id: 'ID', parent: 'PARENT', builder: 'BUILDER', key: 'KEY' };
  const cols = ['id', 'parent', 'builder', 'key'] as const;
  const width = cols.map((c) => Math.max(head[c].length, ...rows.map((r) => r[c].length)));
  for (const r of [head, ...rows]) process.stdout.write(cols.map((c, i) => r[c].padEnd(width[i])).join('  ').trimEnd() + '\n');
  return 0;
}
