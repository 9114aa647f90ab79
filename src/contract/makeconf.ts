/** make.conf(5) values, as synth writes them and the Gentoo builder set-up writes its own. */

/**
 * Quotes a value for a make.conf(5) assignment. Backslashes and double quotes are
 * escaped; `$` is left alone on purpose so that `${CFLAGS}`-style references keep
 * expanding as they do in any make.conf.
 *
 * @example
 * quoteMakeConfValue('-O2 "x"'); // '"-O2 \\"x\\""'
 */
export function quoteMakeConfValue(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
