/**
 * JSON with object keys sorted recursively (by UTF-16 code units, as `Array.sort`
 * does) and no whitespace, so equal values always give equal bytes and digests.
 * Array order is kept; `undefined` members are dropped as `JSON.stringify` does.
 *
 * @example
 * canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }); // '{"a":[{"c":3,"d":2}],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  const out = encode(value, '$');
  if (out === undefined) throw new TypeError('canonicalJson: value is not representable as JSON');
  return out;
}

function encode(v: unknown, at: string): string | undefined {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return JSON.stringify(v);
    case 'number':
      // NaN and Infinity would silently become null; a digest over that hides a bug.
      if (!Number.isFinite(v)) throw new TypeError(`canonicalJson: ${at} is ${v}`);
      return JSON.stringify(v);
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'bigint':
      throw new TypeError(`canonicalJson: ${at} is a bigint`);
  }
  if (Array.isArray(v)) {
    return `[${v.map((x, i) => encode(x, `${at}[${i}]`) ?? 'null').join(',')}]`;
  }
  const obj = v as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(obj).sort()) {
    const s = encode(obj[k], `${at}.${k}`);
    if (s !== undefined) parts.push(`${JSON.stringify(k)}:${s}`);
  }
  return `{${parts.join(',')}}`;
}

/**
 * Pretty canonical JSON for files people read (two-space indent, trailing newline).
 * `leading` top-level keys come first, in the order given; the rest sorted.
 *
 * @example
 * prettyJson({ b: 1, version: '1.0.0' }, ['version']); // '{\n  "version": "1.0.0",\n  "b": 1\n}\n'
 */
export function prettyJson(value: unknown, leading: readonly string[] = []): string {
  const sorted = JSON.parse(canonicalJson(value)) as unknown;
  if (!leading.length || !sorted || typeof sorted !== 'object' || Array.isArray(sorted)) return JSON.stringify(sorted, null, 2) + '\n';
  const rec = sorted as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of leading) if (k in rec) out[k] = rec[k];
  for (const k of Object.keys(rec)) if (!(k in out)) out[k] = rec[k];
  return JSON.stringify(out, null, 2) + '\n';
}
