import { existsSync } from 'node:fs';
import { renderPlan } from '../app/graph';
import { assembleApp } from '../app/open';
import { UsageError } from '../contract/errors';
import { parse } from './args';

export const GRAPH_USAGE = `imgsdk graph [--app FILE|DIR] [--format dot|mermaid|json] [--lock FILE]
  Prints the build graph: builders and images, edges labelled parent, builder, copy;
  builders and images that name platforms say them in their label.
  --format json prints the build plan instead: the levels (images of a level build in
  parallel once the levels before it are built) and each image's key, as a CI matrix or
  a Kubernetes controller reads it (docs/scale.md). Keys use imgsdk.lock beside the app
  (or --lock FILE), as deploy does.
`;

export async function graphCommand(argv: readonly string[]): Promise<number> {
  const { values } = parse(argv, { app: { type: 'string' }, format: { type: 'string', default: 'dot' }, lock: { type: 'string' } });
  if (values.format !== 'dot' && values.format !== 'mermaid' && values.format !== 'json')
    throw new UsageError(`--format takes dot, mermaid or json, not "${values.format}"`);
  if (values.lock && !existsSync(values.lock)) throw new UsageError(`--lock ${values.lock}: no such file`);
  const { manifest, images } = assembleApp(values).assembly;
  if (values.format === 'json') {
    process.stdout.write(renderPlan(manifest));
    return 0;
  }
  const edges: [string, string, string][] = [];
  for (const [id, m] of Object.entries(manifest.images)) {
    if (m.parent) edges.push([m.parent, id, 'parent']);
    edges.push([`builder:${m.builder}`, id, 'builder']);
    for (const c of images.get(id)!.copies) edges.push([c.from, id, 'copy']);
  }
  const nodes = [...Object.keys(manifest.builders).map((b) => `builder:${b}`), ...Object.keys(manifest.images)];
  const platformsOf = (n: string) => (n.startsWith('builder:') ? manifest.builders[n.slice(8)].def.platforms : images.get(n)!.platforms);
  const label = (n: string) => (platformsOf(n) ? `${n} [${platformsOf(n)!.join(', ')}]` : n);
  if (values.format === 'dot') {
    const q = (s: string) => JSON.stringify(s);
    const lines = ['digraph imgsdk {', '  rankdir=LR;'];
    for (const n of nodes)
      lines.push(`  ${q(n)} [shape=${n.startsWith('builder:') ? 'box' : 'ellipse'}${platformsOf(n) ? `, label=${q(label(n))}` : ''}];`);
    for (const [a, b, l] of edges) lines.push(`  ${q(a)} -> ${q(b)} [label=${q(l)}];`);
    process.stdout.write(lines.join('\n') + '\n}\n');
  } else {
    const idOf = new Map(nodes.map((n, i) => [n, `n${i}`]));
    const lines = ['graph LR'];
    for (const n of nodes)
      lines.push(`  ${idOf.get(n)}${n.startsWith('builder:') ? `[${JSON.stringify(label(n))}]` : `(${JSON.stringify(label(n))})`}`);
    for (const [a, b, l] of edges) lines.push(`  ${idOf.get(a)} -->|${l}| ${idOf.get(b)}`);
    process.stdout.write(lines.join('\n') + '\n');
  }
  return 0;
}
