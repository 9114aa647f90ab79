/**
 * The signals that end imgsdk cleanly: Ctrl-C, `kill`, and the terminal closing
 * (SIGHUP, which a user gets by closing the window a deploy runs in). Each one
 * removes the containers and temp files of the run, as the other two do.
 */

/** The signals imgsdk cleans up on. */
export const CLEANUP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/**
 * The exit code of a process ended by `signal`, as a shell reports it (128 + its number).
 * @example signalExitCode('SIGHUP') // 129
 */
export function signalExitCode(signal: NodeJS.Signals): number {
  return EXIT_CODES[signal] ?? 143;
}
