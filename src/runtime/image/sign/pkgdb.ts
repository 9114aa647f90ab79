/**
 * The packages an image's layers record (the package database deploy writes:
 * `/var/lib/dpkg/status.d/<name>` for Debian, `/var/db/pkg/<category>/<name>-<version>/`
 * for Gentoo), read from its layer blobs in a registry, and compared with the
 * packages its SBOM names.
 */
import { VerifyError } from '../../../contract/errors';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { DPKG_STATUS_D, PORTAGE_DB } from '../../rootfs/pkgdb';
import type { RegistryClient } from '../attest';

/**
 * `name@version` of every package recorded in the layers `digests` of `repo`
 * (gzip or plain tars), Debian as `deb:<name>@<version>`, Gentoo as `ebuild:<category>/<name>-<version>`.
 */
export async function packagesInLayers(client: RegistryClient, repo: string, digests: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const digest of digests) {
    const res = await client.request('GET', `/v2/${repo}/blobs/${digest}`);
    if (!res.ok || !res.body) throw new VerifyError(`layer ${digest}: HTTP ${res.status}`);
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
    const [head, rest] = await peek(body);
    const ex = extract();
    const reading = head[0] === 0x1f && head[1] === 0x8b ? pipeline(rest, createGunzip(), ex) : pipeline(rest, ex);
    for await (const entry of ex) {
      const name = entry.header.name.replace(/^\.?\//, '');
      if (entry.header.type === 'file' && name.startsWith(DPKG_STATUS_D + '/')) {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        const stanza = Buffer.concat(chunks).toString('utf8');
        const pkg = /^Package:\s*(\S+)/m.exec(stanza)?.[1];
        const version = /^Version:\s*(\S+)/m.exec(stanza)?.[1];
        if (pkg && version) out.add(`deb:${pkg}@${version}`);
        continue;
      }
      const gentoo = new RegExp(`^${PORTAGE_DB}/([^/]+/[^/]+)/?$`).exec(name);
      if (gentoo && entry.header.type === 'directory') out.add(`ebuild:${gentoo[1]}`);
      entry.resume();
    }
    await reading;
  }
  return out;
}

/** The same keys for the packages an SPDX document names by purl (`pkg:deb/…`, `pkg:ebuild/…`). */
export function packagesInSbom(sbom: unknown): Set<string> {
  const out = new Set<string>();
  const doc = sbom as { packages?: { externalRefs?: { referenceType?: string; referenceLocator?: string }[] }[] };
  for (const p of doc.packages ?? []) {
    for (const r of p.externalRefs ?? []) {
      if (r.referenceType !== 'purl' || !r.referenceLocator) continue;
      const deb = /^pkg:deb\/[^/]+\/([^@]+)@([^?#]+)/.exec(r.referenceLocator);
      if (deb) out.add(`deb:${decodeURIComponent(deb[1])}@${decodeURIComponent(deb[2])}`);
      const ebuild = /^pkg:ebuild\/([^/]+)\/([^@]+)@([^?#]+)/.exec(r.referenceLocator);
      if (ebuild) out.add(`ebuild:${decodeURIComponent(ebuild[1])}/${decodeURIComponent(ebuild[2])}-${decodeURIComponent(ebuild[3])}`);
    }
  }
  return out;
}

/** The first bytes of a stream, and the stream with them put back. */
async function peek(s: Readable): Promise<[Buffer, Readable]> {
  const it = s[Symbol.asyncIterator]();
  const first = await it.next();
  const head = first.done ? Buffer.alloc(0) : Buffer.from(first.value as Buffer);
  async function* all() {
    if (head.length) yield head;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value as Buffer;
  }
  return [head, Readable.from(all())];
}
