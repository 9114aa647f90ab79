/**
 * File names as bytes. A tar names files with bytes; imgsdk keeps names as strings,
 * so a name is accepted when its bytes are valid UTF-8 (a name holding U+FFFD, the
 * replacement character, is as valid as any other) and refused otherwise, printed
 * with its invalid bytes escaped so that two such names never look the same.
 *
 * tar-stream decodes names lossily (invalid bytes become U+FFFD), the ustar fields
 * by the extract's filenameEncoding and PAX records always as UTF-8; readers here
 * ask for latin1 (one char per byte) and {@link keepRawPaxNames} keeps the bytes of
 * PAX path and linkpath records beside their decoded values.
 */
import { dirname, join } from 'node:path';

// The module extract.js calls decodePax through; by path, as the package exports only its index.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const headers = require(join(dirname(require.resolve('tar-stream')), 'headers.js')) as {
  decodePax: (buf: Buffer) => Record<string, string>;
};

/** The PAX keys holding the bytes (as latin1) of `path` and `linkpath`. */
export const RAW_PATH = 'imgsdk.raw.path';
export const RAW_LINKPATH = 'imgsdk.raw.linkpath';

let patched = false;

/**
 * Makes tar-stream's PAX decoding also keep the bytes of `path` and `linkpath`
 * (under RAW_PATH, RAW_LINKPATH): its own decoding replaces invalid UTF-8, and a name's
 * validity must be judged on its bytes. Other keys and readers are unchanged.
 */
export function keepRawPaxNames(): void {
  if (patched) return;
  patched = true;
  const decode = headers.decodePax;
  headers.decodePax = function (buf: Buffer): Record<string, string> {
    const out = decode(buf);
    // Records are `<len> <key>=<value>\n`; lengths count bytes.
    for (let rest = buf; rest.length;) {
      const sp = rest.indexOf(0x20);
      const len = parseInt(rest.subarray(0, sp).toString('latin1'), 10);
      if (!(len > 0) || sp < 0) break;
      const rec = rest.subarray(sp + 1, len - 1);
      const eq = rec.indexOf(0x3d);
      const key = rec.subarray(0, eq).toString('latin1');
      // Not enumerable: readers that copy or compare a header's PAX records never see it.
      if (eq > 0 && (key === 'path' || key === 'linkpath')) {
        Object.defineProperty(out, key === 'path' ? RAW_PATH : RAW_LINKPATH, {
          value: rec.subarray(eq + 1).toString('latin1'),
          enumerable: false,
        });
      }
      rest = rest.subarray(len);
    }
    return out;
  };
}

const strict = new TextDecoder('utf-8', { fatal: true });

/**
 * A name given as bytes (a latin1 string, one char per byte): the string, or null
 * when the bytes are not valid UTF-8.
 * @example decodeName(Buffer.from('caf\u00e9').toString('latin1')) // 'café'
 */
export function decodeName(latin1: string): string | null {
  try {
    return strict.decode(Buffer.from(latin1, 'latin1'));
  } catch {
    return null;
  }
}

/**
 * A name (bytes as a latin1 string) for a message: printable UTF-8 as it is, and
 * invalid bytes, control characters and backslashes escaped (`\xff`, `\t`, `\\`),
 * so two different names never print the same.
 * @example printableName('a\tb\xff') // 'a\\tb\\xff'
 */
export function printableName(latin1: string): string {
  const bytes = Buffer.from(latin1, 'latin1');
  let out = '';
  for (let i = 0; i < bytes.length;) {
    const n = utf8Length(bytes, i);
    if (n === 0) {
      out += `\\x${bytes[i].toString(16).padStart(2, '0')}`;
      i++;
      continue;
    }
    const ch = bytes.subarray(i, i + n).toString('utf8');
    const cp = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0)) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += ch;
    i += n;
  }
  return out;
}

/** The length of the valid UTF-8 sequence at `i`, or 0 (RFC 3629: no overlongs, no surrogates, at most U+10FFFF). */
function utf8Length(b: Buffer, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const cont = (k: number) => i + k < b.length && (b[i + k] & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    return b[i + 1] >= lo && b[i + 1] <= hi && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf;
    return b[i + 1] >= lo && b[i + 1] <= hi && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}
