/**
 * Where each value of a JSON text is: the line of every value by its path, so a
 * check of a hand-editable file (imgsdk.lock) can name the line of what it refuses.
 * JSON.parse gives neither lines of values nor, across Node versions, one form of
 * position in its errors; this small scanner gives both. It accepts exactly JSON
 * (RFC 8259) and reports the line and column of the first byte that is not.
 */

/** A value's path: object keys and array indexes from the root. */
export type JsonPath = readonly (string | number)[];

/** Lines (1-based) of the values of `text` by `pathKey(path)`, or where it stops being JSON. */
export type JsonLines =
  | { readonly ok: true; readonly lines: ReadonlyMap<string, number> }
  | { readonly ok: false; readonly line: number; readonly column: number; readonly why: string };

/** The key of a path in {@link JsonLines}. @example pathKey(['images', 'a/b', 'packages', 0]) */
export function pathKey(path: JsonPath): string {
  return JSON.stringify(path);
}

/**
 * Scans `text` as JSON, recording the line each value starts on.
 * @example const r = jsonLines('{\n "a": 1\n}'); r.ok && r.lines.get(pathKey(['a'])) // 2
 */
export function jsonLines(text: string): JsonLines {
  const lines = new Map<string, number>();
  let i = 0;
  let line = 1;
  let lineStart = 0;
  class Stop extends Error {}
  const fail = (why: string): never => {
    throw Object.assign(new Stop(why), { at: i });
  };
  const ws = () => {
    for (;;) {
      const c = text[i];
      if (c === '\n') {
        line++;
        lineStart = ++i;
      } else if (c === ' ' || c === '\t' || c === '\r') i++;
      else return;
    }
  };
  const str = (): string => {
    const start = i++;
    for (;;) {
      const c = text[i];
      if (c === undefined) fail('unterminated string');
      if (c === '"') break;
      if (c < ' ') fail('control character in a string');
      if (c === '\\') {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('bad \\u escape');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail('bad escape');
      } else i++;
    }
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: (string | number)[]): void => {
    ws();
    lines.set(pathKey(path), line);
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a key in quotes');
        const k = str();
        ws();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        value([...path, k]);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (let n = 0; ; n++) {
        value([...path, n]);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else fail('expected "," or "]"');
      }
    }
    if (c === '"') return void str();
    const m = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (!m) fail(c === undefined ? 'unexpected end' : `unexpected ${JSON.stringify(c)}`);
    i += m![0].length;
  };
  try {
    value([]);
    ws();
    if (i < text.length) fail('text after the value');
    return { ok: true, lines };
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    return { ok: false, line, column: i - lineStart + 1, why: e.message };
  }
}
