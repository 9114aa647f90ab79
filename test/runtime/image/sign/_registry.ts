/**
 * A registry in memory on loopback, just enough of the distribution API for the
 * signing modules: blobs (monolithic uploads), manifests by tag and digest, and,
 * when asked, the OCI 1.1 referrers API (which Debian's docker-registry 2.8 lacks),
 * so both ways of finding signatures are tested without an engine.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRegistry {
  /** `127.0.0.1:<port>` */
  readonly address: string;
  readonly manifests: Map<string, { body: Buffer; type: string }>;
  readonly tags: Map<string, string>;
  readonly blobs: Map<string, Buffer>;
  close(): Promise<void>;
}

const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function fakeRegistry(o: { readonly referrers: boolean }): Promise<FakeRegistry> {
  const manifests = new Map<string, { body: Buffer; type: string }>();
  const tags = new Map<string, string>();
  const blobs = new Map<string, Buffer>();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url!, 'http://x');
    const body = await bodyOf(req);
    const send = (status: number, data?: Buffer | string, headers: Record<string, string> = {}) => {
      res.writeHead(status, headers);
      res.end(req.method === 'HEAD' ? undefined : data);
    };
    if (url.pathname === '/v2/') return send(200, '{}');
    let m = /^\/v2\/(.+)\/blobs\/uploads\/(\w*)$/.exec(url.pathname);
    if (m && req.method === 'POST') return send(202, '', { Location: `/v2/${m[1]}/blobs/uploads/u${Math.random().toString(16).slice(2)}` });
    if (m && req.method === 'PUT') {
      const d = url.searchParams.get('digest')!;
      if (digestOf(body) !== d) return send(400, 'digest mismatch');
      blobs.set(d, body);
      return send(201);
    }
    m = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url.pathname);
    if (m) {
      const b = blobs.get(m[2]);
      return b ? send(200, b, { 'Content-Length': String(b.length) }) : send(404);
    }
    m = /^\/v2\/(.+)\/referrers\/(sha256:[0-9a-f]{64})$/.exec(url.pathname);
    if (m && o.referrers) {
      const list = [...manifests.entries()].flatMap(([d, v]) => {
        const j = JSON.parse(v.body.toString('utf8')) as { subject?: { digest: string }; artifactType?: string };
        return j.subject?.digest === m![2] ? [{ mediaType: v.type, digest: d, size: v.body.length, artifactType: j.artifactType }] : [];
      });
      return send(200, JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: list }), {
        'Content-Type': 'application/vnd.oci.image.index.v1+json',
      });
    }
    m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (m && req.method === 'PUT') {
      const d = digestOf(body);
      manifests.set(d, { body, type: req.headers['content-type'] ?? '' });
      if (!m[2].startsWith('sha256:')) tags.set(`${m[1]}:${m[2]}`, d);
      return send(201, '', { 'Docker-Content-Digest': d });
    }
    if (m) {
      const d = m[2].startsWith('sha256:') ? m[2] : tags.get(`${m[1]}:${m[2]}`);
      const v = d ? manifests.get(d) : undefined;
      return v
        ? send(200, v.body, { 'Content-Type': v.type, 'Content-Length': String(v.body.length), 'Docker-Content-Digest': d! })
        : send(404, '{}');
    }
    send(404);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { address, manifests, tags, blobs, close: () => new Promise((r) => server.close(() => r())) };
}
