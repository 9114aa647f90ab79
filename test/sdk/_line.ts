/** The line of the caller: to compare with the `file:line` a problem carries. */
export function line(): number {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, line);
  const m = /:(\d+):\d+\)?$/.exec(holder.stack!.split('\n')[1]);
  if (!m) throw new Error(`no line in ${holder.stack}`);
  return Number(m[1]);
}
