import { parseArgs } from 'node:util';
import { UsageError } from '../contract/errors';

type Spec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean; default?: string | boolean }>;
type Values<S extends Spec> = {
  [K in keyof S]?: S[K]['type'] extends 'boolean' ? boolean : S[K]['multiple'] extends true ? string[] : string;
};

/** node:util parseArgs, with its errors turned into usage errors. */
export function parse<S extends Spec>(
  argv: readonly string[],
  options: S,
  allowPositionals = false,
): { values: Values<S>; positionals: string[] } {
  try {
    const r = parseArgs({ args: [...argv], options, allowPositionals, strict: true });
    return { values: r.values as Values<S>, positionals: r.positionals };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
