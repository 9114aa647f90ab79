import { ImgsdkError } from '../contract/errors';
// The version alone, without loading the rest (--version).
import { SDK_VERSION } from '../contract/version';
import { command, commandUsage, usage } from './commands';
import { guardPending } from './guard';

/** Exit codes: 0 ok, then the code of the error (ERROR_CODES: 1 error, 2 usage, 130 cancelled). Commands may return others (diff: 3). */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${SDK_VERSION}\n`);
    return 0;
  }
  const cmd = command(name);
  if (!cmd) {
    process.stderr.write(`imgsdk: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  // Every command takes --help (before its own parsing, which would call it unknown).
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(commandUsage(name)!);
    return 0;
  }
  const settled = guardPending(name);
  try {
    return await cmd(rest);
  } catch (e) {
    if (e instanceof ImgsdkError) {
      process.stderr.write(`imgsdk ${name}: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`imgsdk ${name}: unexpected error\n${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  } finally {
    settled();
  }
}
