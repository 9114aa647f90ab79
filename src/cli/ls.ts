import { assembleApp } from '../app/open';
import { parse } from './args';
import { shortKey } from '../contract/names';

export const LS_USAGE = `imgsdk ls [--app FILE|DIR] [--json]
  Lists the images: id, parent, builder, short key; for images that name platforms,
  one row per platform (PLATFORM column), each with its own key.
`;

export async function lsCommand(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, { app: { type: 'string' }, json: { type: 'boolean' } });
  const { manifest } = assembleApp(values).assembly;
  const multi = Object.values(manifest.images).some((m) => m.platforms);
  const rows = Object.entries(manifest.images).flatMap(([id, m]) =>
    m.platforms
      ? Object.entries(m.platforms).map(([platform, p]) => ({
          id,
          parent: m.parent ?? 'scratch',
          builder: m.builder,
          platform,
          key: shortKey(p.key),
        }))
      : [{ id, parent: m.parent ?? 'scratch', builder: m.builder, ...(multi ? { platform: 'host' } : {}), key: shortKey(m.key) }],
  );
  if (values.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return 0;
  }
  const head = { id: 'ID', parent: 'PARENT', builder: 'BUILDER', platform: 'PLATFORM', key: 'KEY' };
  // The PLATFORM column only when some image names platforms: an app without keeps its listing.
  const cols = (
    multi ? ['id', 'parent', 'builder', 'platform', 'key'] : ['id', 'parent', 'builder', 'key']
  ) as readonly (keyof typeof head)[];
  const cell = (r: Partial<Record<keyof typeof head, string>>, c: keyof typeof head) => r[c] ?? '';
  const width = cols.map((c) => Math.max(head[c].length, ...rows.map((r) => cell(r, c).length)));
  for (const r of [head, ...rows])
    process.stdout.write(
      cols
        .map((c, i) => cell(r, c).padEnd(width[i]))
        .join('  ')
        .trimEnd() + '\n',
    );
  return 0;
}
