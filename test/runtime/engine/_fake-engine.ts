/**
 * A stand-in Docker engine on a unix socket, for tests of what happens when the
 * engine goes away: each test answers the requests it cares about and calls
 * `die()` to kill every connection, close the listener and remove the socket,
 * as a SIGKILLed dockerd does.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Handler = (req: IncomingMessage, res: ServerResponse, engine: FakeEngine) => void;

export interface FakeEngine {
  /** `unix:///…/docker.sock` */
  readonly host: string;
  readonly socketPath: string;
  /** `METHOD path` of every request so far. */
  readonly requests: string[];
  /** Kills every connection, stops listening and removes the socket file. */
  die(): void;
  /** The same, for the end of a test. */
  close(): Promise<void>;
}

/** Starts a fake engine; `handler` answers everything but `GET /_ping`. */
export async function startFakeEngine(handler: Handler): Promise<FakeEngine> {
  const socketPath = join(tmpdir(), `imgsdk-fake-engine-${randomBytes(4).toString('hex')}.sock`);
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.url?.endsWith('/_ping')) {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Api-Version': '1.41' });
      res.end('OK');
      return;
    }
    handler(req, res, fake);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  let dead = false;
  const die = () => {
    if (dead) return;
    dead = true;
    server.close();
    for (const s of sockets) s.destroy();
    rmSync(socketPath, { force: true });
  };
  const fake: FakeEngine = {
    host: `unix://${socketPath}`,
    socketPath,
    requests,
    die,
    close: async () => die(),
  };
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return fake;
}

/** Answers JSON. */
export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
