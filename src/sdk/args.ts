/**
 * Runtime types of the arguments of the public SDK, for JavaScript callers (and
 * `as any`): TypeScript's types are gone at run time, and a number where a string
 * belongs crashed deep inside a method (`rest.indexOf is not a function`). Each
 * method's signature is declared once, in a small notation; a call that does not
 * fit is a problem recorded at the call site (reported with the others at synth),
 * and the method's body never sees the bad value.
 */
import { ImgsdkError } from '../contract/errors';

/**
 * One parameter: a `|`-separated list of kinds, `?` in front when it may be
 * omitted (or undefined), `...` in front for a rest parameter (last).
 * Kinds: string, number, boolean, object (a plain object), function, image,
 * builder, bytes (a Uint8Array), strings (an array of strings), record (an object
 * of strings), integer, and an
 * object of named fields, `{user:string,uid:integer,home:?string,cmd:strings/string}`
 * (field kinds separated by `/`, `?` when the field may be absent).
 */
export type ParamSpec = string;

/** What `x` is, for a message: `a number (42)`, `null`, `an array`. */
export function describeValue(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  if (Array.isArray(x)) return 'an array';
  if (x instanceof Uint8Array) return 'a Uint8Array';
  switch (typeof x) {
    case 'string':
      return `a string (${JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x)})`;
    case 'number':
    case 'bigint':
    case 'boolean':
      return `a ${typeof x} (${String(x)})`;
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
  }
  const name = (x as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

const KIND_NAMES: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  function: 'a function',
  image: 'an image',
  builder: 'a builder',
  bytes: 'a Uint8Array',
  strings: 'an array of strings',
  record: 'an object of strings',
};

/** `{a:string,b:?integer/string}` as [field, spec] pairs (field kinds are `/`-separated inside a shape). */
function fieldsOf(shape: string): [string, string][] {
  return shape
    .slice(1, -1)
    .split(',')
    .filter(Boolean)
    .map((f) => {
      const [k, spec] = f.split(':');
      return [k.trim(), spec.trim()];
    });
}

function branded(x: unknown, brand: string): boolean {
  return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[Symbol.for(brand)] === true;
}

function isKind(kind: string, x: unknown): boolean {
  switch (kind) {
    case 'string':
      return typeof x === 'string';
    case 'number':
      return typeof x === 'number' && Number.isFinite(x);
    case 'integer':
      return Number.isInteger(x);
    case 'boolean':
      return typeof x === 'boolean';
    case 'object':
      return !!x && typeof x === 'object' && !Array.isArray(x) && !(x instanceof Uint8Array);
    case 'function':
      return typeof x === 'function';
    case 'image':
      // The brands of Image.isImage and Builder.isBuilder (a construct library's copy of imgsdk makes images too).
      return branded(x, 'imgsdk.Image');
    case 'builder':
      return branded(x, 'imgsdk.Builder');
    case 'bytes':
      return x instanceof Uint8Array;
    case 'strings':
      return Array.isArray(x) && x.every((s) => typeof s === 'string');
    case 'record':
      return isKind('object', x) && Object.values(x as object).every((v) => typeof v === 'string');
  }
  throw new ImgsdkError('INTERNAL', `args.ts: unknown kind "${kind}" in a signature`);
}

/**
 * The problem with the arguments of a call of `method`, or null when they fit `params`.
 * @example checkArgs('.packages()', ['...string'], [42]) // '.packages() takes strings: argument 1 is a number (42)'
 */
export function checkArgs(method: string, params: readonly ParamSpec[], args: readonly unknown[]): string | null {
  const problems: string[] = [];
  let i = 0;
  for (const p of params) {
    const rest = p.startsWith('...');
    const optional = rest || p.startsWith('?');
    const kinds = p.replace(/^(\.\.\.|\?)/, '').split('|');
    const want = kinds.map((k) => (k.startsWith('{') ? 'an object' : (KIND_NAMES[k] ?? k))).join(' or ');
    const check = (x: unknown, n: number) => {
      if (x === undefined && optional && !rest) return;
      const shape = kinds.find((k) => k.startsWith('{'));
      if (shape && isKind('object', x)) {
        // An object of named fields: each checked as a parameter of its own.
        for (const [field, spec] of fieldsOf(shape)) {
          const v = (x as Record<string, unknown>)[field];
          const fk = spec.replace(/^\?/, '').split('/');
          if (v === undefined ? !spec.startsWith('?') : !fk.some((k) => isKind(k, v))) {
            problems.push(
              `argument ${n + 1}'s ${field} must be ${fk.map((k) => KIND_NAMES[k] ?? k).join(' or ')}, not ${describeValue(v)}`,
            );
          }
        }
        return;
      }
      if (!kinds.some((k) => !k.startsWith('{') && isKind(k, x)))
        problems.push(`argument ${n + 1} must be ${want}, not ${describeValue(x)}`);
    };
    if (rest) {
      for (; i < args.length; i++) check(args[i], i);
    } else {
      if (i >= args.length && !optional) problems.push(`argument ${i + 1} (${want}) is missing`);
      else check(args[i], i);
      i++;
    }
  }
  if (i < args.length) problems.push(`it takes ${params.length} argument${params.length === 1 ? '' : 's'}, not ${args.length}`);
  // Text becomes UTF-8 bytes (paths, names, scripts): a lone surrogate would silently become U+FFFD.
  args.forEach((a, n) => {
    const bad = illFormed(a);
    if (bad)
      problems.push(
        `argument ${n + 1}${bad.where} holds a lone surrogate (\\u${bad.unit.toString(16)} at index ${bad.index}): not valid Unicode, it cannot be written as UTF-8`,
      );
  });
  return problems.length ? `${method}: ${problems.join('; ')}` : null;
}

/**
 * `value` without the fields that do not fit `shape` (a `{…}` spec), for a body
 * that must go on after a problem was recorded; not an object: `{}`.
 * @example fitting({ stage3: 5, date: 'latest' }, '{stage3:string,date:?string}') // { date: 'latest' }
 */
export function fitting<T extends object>(value: unknown, shape: string): Partial<T> {
  if (!isKind('object', value)) return {};
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [field, spec] of fieldsOf(shape)) {
    const v = out[field];
    if (
      v !== undefined &&
      !spec
        .replace(/^\?/, '')
        .split('/')
        .some((k) => isKind(k, v))
    )
      delete out[field];
  }
  return out as Partial<T>;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The first lone surrogate in `x` (a string, or the strings of an array or of an
 * object's fields, one level down), or null when all of it is well-formed.
 * @example illFormed('a\uD800') // { where: '', index: 1, unit: 0xd800 }
 */
export function illFormed(x: unknown): { where: string; index: number; unit: number } | null {
  const at = (s: string, where: string) => {
    const m = LONE_SURROGATE.exec(s);
    return m ? { where, index: m.index, unit: s.charCodeAt(m.index) } : null;
  };
  if (typeof x === 'string') return at(x, '');
  if (Array.isArray(x)) {
    for (const [i, v] of x.entries())
      if (typeof v === 'string') {
        const r = at(v, `[${i}]`);
        if (r) return r;
      }
    return null;
  }
  if (isKind('object', x)) {
    for (const [k, v] of Object.entries(x as object)) {
      const r = typeof v === 'string' ? at(v, `'s ${k}`) : Array.isArray(v) ? illFormed(v) : null;
      if (r) return { ...r, where: r.where.startsWith("'s") ? r.where : `'s ${k}${r.where}` };
    }
  }
  return null;
}
