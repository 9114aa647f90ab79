import { formatProblem, type Problem } from '../contract/errors';

/** Synth's warnings, one line each on stderr: `imgsdk synth: warning: images.ts:3 acme/web: …`. */
export function printWarnings(command: string, warnings: readonly Problem[], out: NodeJS.WritableStream = process.stderr): void {
  for (const w of warnings) out.write(`imgsdk ${command}: warning: ${formatProblem(w)}\n`);
}
