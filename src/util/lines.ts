/**
 * An output handler that gives `each` every non-empty line of a chunk: a
 * container's progress, logged line by line.
 * @example await c.run({ onOutput: eachLine((l) => log(`lock: ${l}`)) })
 */
export function eachLine(each: (line: string) => void): (chunk: Buffer) => void {
  return (chunk) =>
    chunk
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .forEach((l) => each(l));
}
