import { Graph } from '@dagrejs/graphlib';
import type { BuilderDef, ImageDef } from '../contract/assembly';
import { ImgsdkError } from '../contract/errors';

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

/**
 * Cycles through parent and copy edges, each as a sorted list of image ids.
 * Tarjan's algorithm with an explicit stack: graphlib's recursive one overflows
 * the call stack on a chain of a few thousand images.
 */
export function findCycles(g: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let next = 0;
  const enter = (v: string): { v: string; succ: string[]; i: number } => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    return { v, succ: g.successors(v) ?? [], i: 0 };
  };
  for (const root of g.nodes()) {
    if (index.has(root)) continue;
    const work = [enter(root)];
    while (work.length) {
      const top = work[work.length - 1];
      if (top.i < top.succ.length) {
        const w = top.succ[top.i++];
        if (!index.has(w)) work.push(enter(w));
        else if (onStack.has(w)) low.set(top.v, Math.min(low.get(top.v)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const up = work[work.length - 1].v;
        low.set(up, Math.min(low.get(up)!, low.get(top.v)!));
      }
      if (low.get(top.v) !== index.get(top.v)) continue;
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== top.v);
      if (component.length > 1 || top.succ.includes(top.v)) out.push(component.sort());
    }
  }
  return out;
}

/** Images a given image needs built first (parent and copy sources), sorted. */
export function dependenciesOf(g: Graph, id: string): string[] {
  return [...new Set((g.predecessors(id) ?? []).filter((n) => !n.startsWith('builder:')))].sort();
}

/**
 * Build levels: level 0 has no image dependencies, level n depends only on
 * lower levels; the images of one level can build in parallel. Kahn's algorithm,
 * without recursion; throws on a cycle (synth reports cycles before it gets here).
 */
export function levels(g: Graph, ids: Iterable<string>): string[][] {
  const depth = new Map<string, number>();
  const waiting = new Map<string, number>();
  const ready: string[] = [];
  for (const id of g.nodes()) {
    if (id.startsWith('builder:')) continue;
    const n = dependenciesOf(g, id).length;
    waiting.set(id, n);
    if (n === 0) (ready.push(id), depth.set(id, 0));
  }
  while (ready.length) {
    const id = ready.pop()!;
    const d = depth.get(id)! + 1;
    for (const s of g.successors(id) ?? []) {
      if (s.startsWith('builder:')) continue;
      if ((depth.get(s) ?? -1) < d) depth.set(s, d);
      const left = waiting.get(s)! - 1;
      waiting.set(s, left);
      if (left === 0) ready.push(s);
    }
  }
  const out: string[][] = [];
  for (const id of ids) {
    if (waiting.get(id) !== 0) throw new ImgsdkError('INTERNAL', `levels: ${id} is on a dependency cycle (synth reports cycles first)`);
    (out[depth.get(id)!] ??= []).push(id);
  }
  return out.map((l) => l.sort());
}

/** All images that depend on `id`, directly or not. */
export function descendantsOf(g: Graph, id: string): string[] {
  return reachable([id], (n) => g.successors(n) ?? []);
}

/**
 * Every node reachable from `starts` through `next` (the starts themselves only
 * when reached again), sorted: the one walk below a node, over a graphlib Graph or
 * a manifest's `dependsOn` turned around.
 * @example reachable(['a'], (n) => children.get(n) ?? []) // ['b', 'c']
 */
export function reachable(starts: Iterable<string>, next: (id: string) => Iterable<string>): string[] {
  const out = new Set<string>();
  const stack = [...starts];
  while (stack.length) {
    for (const n of next(stack.pop()!)) if (!out.has(n)) (out.add(n), stack.push(n));
  }
  return [...out].sort();
}
