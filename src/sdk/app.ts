import type { ImageDef, PolicyRule } from '../contract/assembly';
import { Image } from './image';

/** What a policy sees of an image: its definition as data, with the effective config. */
export interface PolicyContext {
  /** Definitions of every image in the app, by id. */
  readonly images: ReadonlyMap<string, ImageDef>;
}

/**
 * A rule over every image of an app (the CDK's aspects). A violation is reported
 * at synth like any other problem.
 * @example
 * const labelled: Policy = {
 *   name: 'labelled',
 *   check: (img) => (img.config.labels['org.opencontainers.image.source'] ? [] : ['has no source label']),
 * };
 */
export interface Policy {
  readonly name: string;
  /** Problems of one image, as messages. */
  check(image: ImageDef, ctx: PolicyContext): readonly string[];
  /** Globs the runtime must not find in the built image (checked after the build). */
  readonly forbid?: readonly string[];
  /** Built-in checks the runtime makes again on what the build resolved (`nonRoot()`, `noShell()`). */
  readonly rules?: readonly PolicyRule[];
}

export type AppInput = Image | App | readonly AppInput[] | { readonly [k: string]: AppInput };

/** The brand of an App, the same in every copy of imgsdk (see Image.isImage). */
const APP_BRAND = Symbol.for('imgsdk.App');

/**
 * A set of images synthesized together, with the policies that apply to them.
 * Images reachable through `from` and `copy` belong to the app too.
 * @example
 * export default app(web, api).policy(nonRoot(), noShell());
 */
export class App {
  /**
   * True for an App of any copy of imgsdk; `x instanceof App` asks the same.
   * @example if (App.isApp(x)) console.log(x.roots.length);
   */
  static isApp(x: unknown): x is App {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[APP_BRAND] === true;
  }

  static [Symbol.hasInstance](x: unknown): boolean {
    return App.isApp(x);
  }

  private constructor(
    /** Images named by the user, in the order given. */
    readonly roots: readonly Image[],
    readonly policies: readonly Policy[],
  ) {}

  /** @internal */
  static of(inputs: readonly unknown[]): App {
    const roots: Image[] = [];
    const policies: Policy[] = [];
    const seen = new Set<unknown>();
    const walk = (x: unknown): void => {
      if (x === null || typeof x !== 'object' || seen.has(x)) return;
      seen.add(x);
      if (Image.isImage(x)) roots.push(x);
      else if (App.isApp(x)) {
        roots.push(...x.roots);
        policies.push(...x.policies.filter((p) => !policies.includes(p)));
      } else if (Array.isArray(x)) x.forEach(walk);
      else if (Object.getPrototypeOf(x) === Object.prototype || isModuleNamespace(x)) Object.values(x as object).forEach(walk);
    };
    inputs.forEach(walk);
    return new App(roots, policies);
  }

  /** Adds policies. @example app(web).policy(nonRoot()) */
  policy(...policies: Policy[]): App {
    return new App(this.roots, [...this.policies, ...policies]);
  }

  /** Adds images. @example app(web).add(api) */
  add(...images: AppInput[]): App {
    const more = App.of(images);
    return new App([...this.roots, ...more.roots], [...this.policies, ...more.policies]);
  }

  /** Every image of the app: the roots plus all reachable through `from` and `copy`, each value once. */
  images(): Image[] {
    // Depth-first, dependencies before dependents, with an explicit stack: a chain
    // of thousands of images must not overflow the call stack.
    const out: Image[] = [];
    const seen = new Set<Image>();
    for (const root of this.roots) {
      if (seen.has(root)) continue;
      seen.add(root);
      const work: { img: Image; deps: Image[] }[] = [{ img: root, deps: dependencies(root) }];
      while (work.length) {
        const top = work[work.length - 1];
        const next = top.deps.shift();
        if (next === undefined) {
          out.push(top.img);
          work.pop();
        } else if (!seen.has(next)) {
          seen.add(next);
          work.push({ img: next, deps: dependencies(next) });
        }
      }
    }
    return out;
  }
}

/** Image values an image refers to, parent first, then copy sources in order. */
function dependencies(img: Image): Image[] {
  const s = img.state;
  const out: Image[] = Image.isImage(s.parent) ? [s.parent] : [];
  for (const c of s.copies) if (Image.isImage(c.from)) out.push(c.from);
  return out;
}

function isModuleNamespace(x: object): boolean {
  return Object.prototype.toString.call(x) === '[object Module]' || '__esModule' in x;
}

/**
 * An app from images, arrays or objects of images, or modules.
 * @example export default app(web, api);
 */
export function app(...images: AppInput[]): App {
  return App.of(images);
}

Object.defineProperty(App.prototype, APP_BRAND, { value: true });
