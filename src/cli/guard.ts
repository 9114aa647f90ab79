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
  process.on('beforeExit', onBeforeExit);
  return () => process.off('beforeExit', onBeforeExit);
}
