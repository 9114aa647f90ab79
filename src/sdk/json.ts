/**
 * Canonical JSON: object keys sorted at every depth, `undefined` members dropped,
 * no whitespace. Equal values give equal bytes, so hashes of it are stable.
 * @example canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }) // '{"a":[2,{"c":4,"d":3}],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sorted(value));
}

/**
 * Pretty canonical JSON for files people read (two-space indent, trailing newline).
 * `leading` top-level keys come first, in the order given; the rest sorted.
 */
export function prettyJson(value: unknown, leading: readonly string[] = []): string {
  const s = sorted(value);
  if (leading.length && s && typeof s === 'object' && !Array.isArray(s)) {
    const rec = s as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of leading) if (k in rec) out[k] = rec[k];
    for (const k of Object.keys(rec)) if (!(k in out)) out[k] = rec[k];
    return JSON.stringify(out, null, 2) + '\n';
  }
  return JSON.stringify(s, null, 2) + '\n';
}

function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sorted(x);
    }
    return out;
  }
  return v;
}
