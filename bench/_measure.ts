/** Timing helpers shared by the benchmarks: one copy, so every figure is taken alike. */

/** Wall time of a synchronous call, in milliseconds. */
export function timeMs(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** The median (the upper one of an even count), the figure every bench reports. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
