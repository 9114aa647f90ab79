import { UsageError } from './errors';

/**
 * The largest SOURCE_DATE_EPOCH the formats hold: a ustar header's mtime is 11 octal
 * digits (8^11 - 1 = 8589934591, in the year 2242). A larger value would overflow
 * the tar header while the OCI config still said the right date.
 */
export const MAX_EPOCH = 8 ** 11 - 1;

/**
 * SOURCE_DATE_EPOCH as a number of seconds: unset or empty is 0; anything but a
 * whole number from 0 to MAX_EPOCH is a usage error.
 * @example parseEpoch(process.env.SOURCE_DATE_EPOCH) // 0 when unset
 */
export function parseEpoch(value: string | number | undefined, what = 'SOURCE_DATE_EPOCH'): number {
  if (value === undefined || value === '') return 0;
  const n = typeof value === 'number' ? value : /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${what} must be a whole number of seconds, not "${value}"`);
  if (n > MAX_EPOCH) throw new UsageError(`${what} ${value} is past what a tar header holds (at most ${MAX_EPOCH}, in the year 2242)`);
  return n;
}
