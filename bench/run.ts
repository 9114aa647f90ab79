/**
 * Runs the benchmarks: every `bench/*.bench.ts` module's exported `run()`, in
 * name order, or only those whose name contains the first argument.
 *
 *   npm run bench            # all
 *   npm run bench -- synth   # bench/synth.bench.ts only
 *
 * Benchmarks are not tests: they print figures and fail only when they cannot run.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

interface BenchModule {
  run(args: readonly string[]): Promise<void> | void;
}

async function main(argv: readonly string[]): Promise<number> {
  const [filter, ...rest] = argv;
  const all = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .sort();
  const chosen = all.filter((f) => !filter || f.replace(/\.bench\.ts$/, '').includes(filter));
  if (chosen.length === 0) {
    process.stderr.write(`bench: no benchmark matches "${filter}" (have: ${all.map((f) => f.replace(/\.bench\.ts$/, '')).join(', ')})\n`);
    return 2;
  }
  for (const file of chosen) {
    process.stdout.write(`\n== ${file.replace(/\.bench\.ts$/, '')} ==\n`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(join(__dirname, file)) as Partial<BenchModule>;
    if (typeof mod.run !== 'function') throw new Error(`${file} exports no run()`);
    await mod.run(rest);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`bench: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
