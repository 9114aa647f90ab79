/**
 * Child of the guard test: a command that never settles, as a request to a dead
 * engine used to. Nothing keeps the event loop busy, so Node is about to exit.
 */
import { guardPending } from '../../src/cli/guard';

guardPending('deploy');
void new Promise<void>(() => undefined);
