/**
 * `imgsdk graph --format json`: the build plan a CI matrix or a Kubernetes
 * controller reads (docs/scale.md): the levels and each image's key.
 */
import type { Manifest } from '../contract/assembly';
import { canonicalJson } from '../contract/json';

/** The build plan as `graph --format json` prints it. */
export interface GraphPlan {
  readonly version: 1;
  readonly epoch: number;
  /** Image ids by level, in build order; the ids of a level depend only on earlier levels. */
  readonly levels: readonly (readonly string[])[];
  readonly images: Readonly<
    Record<
      string,
      {
        readonly level: number;
        readonly key: string;
        readonly parent: string | null;
        readonly builder: string;
        readonly dependsOn: readonly string[];
        readonly tags: readonly string[];
        readonly platforms?: Readonly<Record<string, string>>;
      }
    >
  >;
  readonly builders: Readonly<Record<string, { readonly key: string; readonly kind: string }>>;
}

/**
 * The levels and keys of a manifest, as canonical JSON (same app, same bytes).
 * @example renderPlan(assemble(app(base, web)).manifest) // '{"builders":{…},"epoch":0,"images":{…},"levels":[["x/base"],["x/web"]],"version":1}\n'
 */
export function renderPlan(manifest: Manifest): string {
  const images: Record<string, GraphPlan['images'][string]> = {};
  manifest.order.forEach((level, i) => {
    for (const id of level) {
      const m = manifest.images[id];
      // An image that names platforms: each platform's key (its builds).
      const platforms = m.platforms ? Object.fromEntries(Object.entries(m.platforms).map(([p, v]) => [p, v.key])) : undefined;
      images[id] = {
        level: i,
        key: m.key,
        parent: m.parent,
        builder: m.builder,
        dependsOn: m.dependsOn,
        tags: m.tags,
        ...(platforms ? { platforms } : {}),
      };
    }
  });
  const builders: Record<string, GraphPlan['builders'][string]> = {};
  for (const [id, b] of Object.entries(manifest.builders)) builders[id] = { key: b.key, kind: b.kind };
  const plan: GraphPlan = { version: 1, epoch: manifest.epoch ?? 0, levels: manifest.order, images, builders };
  return canonicalJson(plan) + '\n';
}
