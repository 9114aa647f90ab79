/**
 * A command whose promise never settles is not a result. Node exits 0 when it runs
 * out of work, which is what happens when a request waits on a connection that
 * died without telling anyone; this guard makes such an end a failure instead.
 */

/**
 * Watches one command: if the process is about to exit while it has not
 * settled, says so on stderr and sets exit code 1. Call the returned function
 * when the command settles.
 * @example const settled = guardPending('deploy'); try { … } finally { settled(); }
 */
export function guardPending(name: string, out: NodeJS.WritableStream = process.stderr): () => void {
  const onBeforeExit = () => {
    process.off('beforeExit', onBeforeExit);
    out.write(`imgsdk ${name}: stopped with work pending: an answer never came (did the container engine stop?)\n`);
    process.exitCode = 1;
  };
  // process.exit() before the command settled (called by images.ts from a timer, or
  // by a library): whatever code it asked for, the command did not finish.
  const onExit = (code: number) => {
    if (code !== 0) return; // a failure (or a signal) already says the command did not finish
    out.write(
      `imgsdk ${name}: the process was ended by process.exit(${code}) before the command finished (called by images.ts or a module it imports?)\n`,
    );
    process.exitCode = code === 0 ? 1 : code;
  };
  process.on('beforeExit', onBeforeExit);
  process.on('exit', onExit);
  return () => {
    process.off('beforeExit', onBeforeExit);
    process.off('exit', onExit);
  };
}
