/**
 * Makes a dead engine an error instead of silence. docker-modem reads a plain
 * (non-stream) answer by waiting for its `end`; when the engine dies after it
 * sent the headers (`/wait` sends them at once and the body when the container
 * exits), the response is closed without an `end` and without an `error`
 * anyone hears, so the call's promise never settles and the process simply
 * runs out of work and exits 0. The agent here watches every response and,
 * when one closes before it was complete, fails its request, which
 * docker-modem does report.
 */
import { Agent as HttpAgent, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { PassThrough, type Readable } from 'node:stream';

/** The error of a response the engine stopped sending. */
export function connectionLost(): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error('the connection to the engine ended before its answer did');
  err.code = 'ECONNRESET';
  return err;
}

/** An http(s) agent whose requests fail when their response is cut short. */
export function watchingAgent(tls: boolean): HttpAgent {
  const agent = tls ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const inner = agent as unknown as { addRequest(req: ClientRequest, options: unknown): void };
  const addRequest = inner.addRequest.bind(agent);
  inner.addRequest = (req, options) => {
    req.once('response', (res: IncomingMessage) => {
      res.once('close', () => {
        // docker-modem always listens; without a listener an emit would throw.
        if (!res.complete && req.listenerCount('error') > 0) req.emit('error', connectionLost());
      });
    });
    addRequest(req, options);
  };
  return agent;
}

/**
 * A stream answer (archive, export) passed through so that a cut-short answer
 * ends in an error (`fail` names the call) rather than in a short, clean end.
 */
export function guardStream(res: Readable, fail: (err: unknown) => Error): Readable {
  const out = new PassThrough();
  let ended = false;
  res.once('end', () => (ended = true));
  res.once('error', (err) => out.destroy(fail(err)));
  res.once('close', () => {
    if (!ended && !out.destroyed) out.destroy(fail(connectionLost()));
  });
  // A reader that gives up early destroys `out`; the answer goes with it.
  out.once('close', () => {
    if (!ended) res.destroy();
  });
  res.pipe(out);
  return out;
}
