/**
 * What every image of an app inherits through `.from()`: its parent (by value or
 * by id), builder, config, platforms, accounts, whether an ancestor installs
 * packages, and whether its chain ends at scratch. One view over the app, each
 * value computed once per id; the cross-image rules (rules.ts) and the
 * definitions (resolve.ts) read it.
 */
import { INIT_ENTRYPOINT, type AccountDef, type ImageConfigDef } from '../contract/assembly';
import type { Builder } from './builder';
import { Image, type ImageState } from './image';

const SCRATCH_CONFIG: ImageConfigDef = {
  entrypoint: null,
  cmd: null,
  env: {},
  workdir: null,
  expose: [],
  volumes: [],
  labels: {},
  user: null,
  healthcheck: null,
};

/**
 * The inheritance of an app's images, by id (the first value of an id stands for it).
 * @example const view = new Inheritance(app.images()); view.builderOf(img)?.id // 'acme/bookworm'
 */
export class Inheritance {
  /** One value per id: the first of the app's values with that id. */
  readonly byId = new Map<string, Image>();
  private readonly memos = new Map<string, Map<string, unknown>>();

  constructor(images: readonly Image[]) {
    for (const img of images) if (!this.byId.has(img.id)) this.byId.set(img.id, img);
  }

  /** The parent: null at scratch, undefined for an id no image of the app has. */
  parentOf(img: Image): Image | null | undefined {
    const s: ImageState = img.state;
    if (s.parent === null) return null;
    if (Image.isImage(s.parent)) return this.byId.get(s.parent.id) ?? s.parent;
    return this.byId.get(s.parent);
  }

  /** The image's own builder, else its nearest ancestor's. */
  builderOf(img: Image): Builder | null {
    return this.inherited<Builder | null>('builder', img, (i, fromParent) => i.state.builder ?? fromParent ?? null);
  }

  /** The config as inherited (a Dockerfile's rules: a new entrypoint resets the inherited cmd). */
  configOf(img: Image): ImageConfigDef {
    return this.inherited('config', img, (i, fromParent: ImageConfigDef | null) => {
      const base = fromParent ?? SCRATCH_CONFIG;
      const own = i.state.config;
      return {
        entrypoint: own.entrypoint ?? base.entrypoint,
        cmd: own.cmd ?? (own.entrypoint ? null : base.cmd),
        env: sortKeys({ ...base.env, ...own.env }),
        workdir: own.workdir ?? base.workdir,
        expose: [...new Set([...base.expose, ...own.expose])].sort(),
        volumes: [...new Set([...base.volumes, ...own.volumes])].sort(),
        labels: sortKeys({ ...base.labels, ...own.labels }),
        user: own.user ?? base.user,
        healthcheck: own.healthcheck ?? base.healthcheck,
        ...((own.init ?? base.init) ? { init: true as const } : {}),
      };
    });
  }

  /**
   * The config as shipped: with `.init()`, tini comes first (kept apart from the
   * inherited config, so a child's own entrypoint gets it in front too).
   */
  shippedConfigOf(img: Image): ImageConfigDef {
    const c = this.configOf(img);
    return c.init && (c.entrypoint || c.cmd) ? { ...c, entrypoint: [...INIT_ENTRYPOINT, ...(c.entrypoint ?? [])] } : c;
  }

  /** The platforms it is built for: its own, else its parent's, else its builder's; null: the host's. */
  platformsOf(img: Image): readonly string[] | null {
    return this.inherited<readonly string[] | null>(
      'platforms',
      img,
      (i, fromParent) => i.state.platforms ?? fromParent ?? this.builderOf(i)?.platforms ?? null,
    );
  }

  /** Declared accounts, the image's own replacing a parent's of the same user. */
  accountsOf(img: Image): readonly AccountDef[] {
    return this.inherited('accounts', img, (i, fromParent: readonly AccountDef[] | null) => {
      const own = i.state.accounts;
      return [...(fromParent ?? []).filter((a) => !own.some((o) => o.user === a.user)), ...own];
    });
  }

  /**
   * Whether the image or a parent installs packages: an account no `.account()`
   * declares may then be one a package's install creates (postgresql's `postgres`).
   */
  installsPackages(img: Image): boolean {
    return this.inherited('installs', img, (i, fromParent: boolean | null) => i.state.packages.length > 0 || (fromParent ?? false));
  }

  /** False when the parent chain meets an unknown id or a cycle (reported by the rules). */
  endsAtScratch(img: Image): boolean {
    return this.inherited('scratch', img, (i, fromParent: boolean | null) => {
      const p = this.parentOf(i);
      return p === null ? true : p === undefined ? false : (fromParent ?? false);
    });
  }

  /**
   * A value computed from an image and what its parent inherits, memoized by id.
   * Walks up iteratively (chains can be thousands deep); `fromParent` is null at
   * scratch, at an unknown parent, and where the walk meets an image already on
   * its path (a cycle).
   */
  private inherited<T>(what: string, img: Image, step: (img: Image, fromParent: T | null) => T): T {
    let memo = this.memos.get(what) as Map<string, T> | undefined;
    if (!memo) this.memos.set(what, (memo = new Map()));
    const path: Image[] = [];
    const onPath = new Set<string>();
    let top: T | null = null;
    for (let cur: Image | null | undefined = img; cur; cur = this.parentOf(cur)) {
      if (memo.has(cur.id)) {
        top = memo.get(cur.id)!;
        break;
      }
      if (onPath.has(cur.id)) break;
      onPath.add(cur.id);
      path.push(cur);
    }
    for (let i = path.length - 1; i >= 0; i--) {
      top = step(path[i], top);
      memo.set(path[i].id, top);
    }
    return top!;
  }
}

function sortKeys<V>(r: Record<string, V>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k];
  return out;
}
