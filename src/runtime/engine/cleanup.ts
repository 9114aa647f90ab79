/**
 * Process-wide registry of live build containers. A build container must never
 * outlive the process that made it: when the process gets SIGINT, SIGTERM or
 * SIGHUP (the terminal closed), every registered container is removed (force)
 * before the process exits with 130, 143 or 129. A second signal during that
 * cleanup exits at once.
 *
 * The signal handlers are installed only while a container is live, so an idle
 * process keeps Node's default behaviour and other handlers are not disturbed.
 */

import { CLEANUP_SIGNALS, signalExitCode } from '../../contract/signals';

type Remover = () => Promise<unknown>;

const live = new Map<string, Remover>();
let installed = false;
let cleaning = false;

/** How long the signal handler waits for the engine before exiting anyway. */
const CLEANUP_TIMEOUT_MS = 15_000;

/**
 * Registers a container (by name or id) with the function that removes it.
 * Returns the function that unregisters it again.
 */
export function trackContainer(name: string, remove: Remover): () => void {
  live.set(name, remove);
  install();
  return () => {
    if (live.get(name) === remove) live.delete(name);
    if (live.size === 0) uninstall();
  };
}

/**
 * Removes every registered container now and waits (at most `timeoutMs`).
 * Errors are swallowed: this runs while the process is going down.
 */
export async function removeLiveContainers(timeoutMs = CLEANUP_TIMEOUT_MS): Promise<void> {
  const removers = [...live.values()];
  live.clear();
  uninstall();
  if (removers.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  await Promise.race([Promise.allSettled(removers.map((r) => r())), timeout]);
  clearTimeout(timer);
}

function onSignal(signal: NodeJS.Signals): void {
  const code = signalExitCode(signal);
  if (cleaning) process.exit(code);
  // While cleaning, uninstall() keeps the handlers, so a second signal lands in the branch above.
  cleaning = true;
  const n = live.size;
  process.stderr.write(`\nimgsdk: ${signal}, removing ${n} build container${n === 1 ? '' : 's'}…\n`);
  void removeLiveContainers().then(() => process.exit(code));
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const sig of CLEANUP_SIGNALS) process.on(sig, onSignal);
}

function uninstall(): void {
  if (!installed || cleaning) return;
  installed = false;
  for (const sig of CLEANUP_SIGNALS) process.off(sig, onSignal);
}
