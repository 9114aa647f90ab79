/**
 * What scanners see: the package database in the built layers. Every package
 * PACKAGES.md lists (installed and inherited) is in the merged status.d, as
 * dpkg-query reads it; and the SBOM validates against the SPDX 2.3 schema.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extract } from 'tar-stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, deploy } from '../../src';
import { hello, tempDir } from './_app';
import { engineOrSkip } from './_engine';
import { validateSpdx } from '../runtime/_spdx-schema';

/** Bodies of `var/lib/dpkg/status.d/*` in a layer tar. */
async function statusD(path: string): Promise<string[]> {
  const out: string[] = [];
  const ex = extract();
  createReadStream(path).pipe(ex);
  for await (const e of ex) {
    const chunks: Buffer[] = [];
    for await (const c of e) chunks.push(c as Buffer);
    if (/^(\.\/)?var\/lib\/dpkg\/status\.d\/[^/]+$/.test(e.header.name)) out.push(Buffer.concat(chunks).toString('utf8'));
  }
  return out;
}

/** Package names of PACKAGES.md's tables (installed and inherited). */
function packagesMd(text: string): string[] {
  return [...text.matchAll(/^\| ([^ |]+) \| [^|]+ \|/gm)].map((m) => m[1]).filter((n) => n !== 'Package' && n !== '---').sort();
}

test('dpkg-query over the merged status.d of every layer lists every package of PACKAGES.md; the SBOM validates', async () => {
  const docker = await engineOrSkip();
  if (!docker) return;
  const state = tempDir('imgsdk-e2e-pkgdb-state-');
  const out = tempDir('imgsdk-e2e-pkgdb-out-');
  const admin = tempDir('imgsdk-e2e-pkgdb-admin-');
  try {
    const r = await deploy(app(hello), { stateDir: state.dir, assemblyDir: out.dir, load: false });
    assert.ok(r.ok, JSON.stringify(r.images.map((i) => [i.id, i.status, i.reason])));
    const res = r.images.find((i) => i.id === hello.id)!;
    const m = JSON.parse(readFileSync(join(out.dir, 'manifest.json'), 'utf8')) as { images: Record<string, { key: string }> };
    const rec = JSON.parse(readFileSync(join(state.dir, 'images', hello.id, `${m.images[hello.id].key}.json`), 'utf8')) as { diffIds: string[] };
    const stanzas: string[] = [];
    for (const d of rec.diffIds) stanzas.push(...(await statusD(join(state.dir, 'layers', `${d.slice(7)}.tar`))));
    writeFileSync(join(admin.dir, 'status'), stanzas.join('\n'));
    const q = spawnSync('dpkg-query', [`--admindir=${admin.dir}`, '-W', '-f=${Package}\\n'], { encoding: 'utf8' });
    assert.is(q.status, 0, q.stderr);
    assert.not.match(q.stderr, 'warning', 'full control stanzas, no missing fields');
    const listed = q.stdout.trim().split('\n').sort();
    const want = packagesMd(readFileSync(res.report!, 'utf8'));
    assert.ok(want.includes('hello') && want.includes('libc6'), want.join(' '));
    assert.equal(listed, want);

    const errors = validateSpdx(JSON.parse(readFileSync(res.sbom!, 'utf8')));
    assert.equal(errors, [], 'the SBOM validates against the SPDX 2.3 schema');
  } finally {
    state.remove();
    out.remove();
    admin.remove();
  }
});

test.run();
