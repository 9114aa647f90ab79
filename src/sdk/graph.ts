import { Graph, alg } from '@dagrejs/graphlib';
import type { BuilderDef, ImageDef } from '../assembly';

export type EdgeKind = 'parent' | 'builder' | 'copy';

/** Node names: images by id, builders as `builder:<id>` (ids of the two may coincide). */
export const builderNode = (id: string): string => `builder:${id}`;

/**
 * The build graph: images and builders as nodes; an edge from a dependency to
 * what needs it, labelled parent, builder or copy.
 * @example buildGraph(images, builders).successors('kubler/glibc')
 */
export function buildGraph(images: ReadonlyMap<string, ImageDef>, builders: ReadonlyMap<string, BuilderDef>): Graph {
  const g = new Graph({ directed: true, multigraph: true });
  for (const id of builders.keys()) g.setNode(builderNode(id), { kind: 'builder', id });
  for (const id of images.keys()) g.setNode(id, { kind: 'image', id });
  for (const def of images.values()) {
    if (def.parent && images.has(def.parent)) g.setEdge(def.parent, def.id, 'parent', 'parent');
    if (def.builder && builders.has(def.builder)) g.setEdge(builderNode(def.builder), def.id, 'builder', 'builder');
    for (const c of def.copies) if (images.has(c.from)) g.setEdge(c.from, def.id, 'copy', `copy:${c.from}`);
  }
  return g;
}

/** Cycles through parent and copy edges, each as a list of image ids. */
export function findCycles(g: Graph): string[][] {
  return alg.findCycles(g).map((c) => [...c].sort());
}

/** Images a given image needs built first (parent and copy sources), sorted. */
export function dependenciesOf(g: Graph, id: string): string[] {
  return [...new Set((g.predecessors(id) ?? []).filter((n) => !n.startsWith('builder:')))].sort();
}

/**
 * Build levels: level 0 has no image dependencies, level n depends only on
 * lower levels; the images of one level can build in parallel. Assumes no cycle.
 */
export function levels(g: Graph, ids: Iterable<string>): string[][] {
  const depth = new Map<string, number>();
  const order = alg.topsort(g).filter((n) => !n.startsWith('builder:'));
  for (const id of order) {
    const deps = dependenciesOf(g, id);
    depth.set(id, deps.length ? Math.max(...deps.map((d) => depth.get(d)!)) + 1 : 0);
  }
  const out: string[][] = [];
  for (const id of ids) {
    const d = depth.get(id)!;
    (out[d] ??= []).push(id);
  }
  return out.map((l) => l.sort());
}

/** All images that depend on `id`, directly or not. */
export function descendantsOf(g: Graph, id: string): string[] {
  const out = new Set<string>();
  const stack = [id];
  while (stack.length) {
    for (const n of g.successors(stack.pop()!) ?? []) if (!out.has(n)) out.add(n), stack.push(n);
  }
  return [...out].sort();
}
