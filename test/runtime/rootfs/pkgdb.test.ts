import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { statusStanzas } from '../../../src/runtime/phase1/dpkg';
import { packageDbEntries } from '../../../src/runtime/rootfs/pkgdb';
import { BlobStore } from '../../../src/runtime/store/blobs';
import type { Entry } from '../../../src/runtime/store/entry';
import type { PackageInfo } from '../../../src/runtime/store/state';

const STATUS = `Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u10
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.

Package: hello
Status: install ok installed
Priority: optional
Section: devel
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: amd64
Version: 2.10-3
Depends: libc6 (>= 2.34)
Description: example package based on GNU hello

Package: gone
Status: deinstall ok config-files
Architecture: amd64
Version: 1
`;

const deb = (name: string, version: string): PackageInfo => ({ name, version, arch: 'amd64', origin: 'debian' });

function tmp(): { dir: string; blobs: BlobStore; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-pkgdb-'));
  return { dir, blobs: new BlobStore(join(dir, 'blobs')), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What a scanner does with status.d: the stanzas in one status file, read by dpkg-query. */
function dpkgQuery(dir: string, stanzas: readonly string[]): string[] {
  writeFileSync(join(dir, 'status'), stanzas.join('\n'));
  const r = spawnSync('dpkg-query', [`--admindir=${dir}`, '-W', '-f=${Package} ${Version}\\n'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').sort();
}

test("the installed stanzas of dpkg's status are kept whole, by package name", () => {
  const s = statusStanzas(STATUS);
  assert.equal([...s.keys()], ['libc6', 'hello']);
  assert.match(s.get('libc6')!, /^Package: libc6\n[\s\S]*\n the system\.\n$/);
});

test('a Debian layer gets var/lib/dpkg/status.d/<name> per package, which dpkg-query lists', async () => {
  const t = tmp();
  try {
    const stanzas = Object.fromEntries(statusStanzas(STATUS));
    const db = await packageDbEntries({
      kind: 'debian',
      packages: [deb('hello', '2.10-3'), deb('libc6', '2.36-9+deb12u10')],
      control: stanzas,
      entries: [],
      blobs: t.blobs,
      epoch: 0,
    });
    assert.equal(
      db.map((e) => [e.path, e.mode, e.uid]),
      [
        ['var/lib/dpkg/status.d/hello', 0o644, 0],
        ['var/lib/dpkg/status.d/libc6', 0o644, 0],
      ],
    );
    const bodies = await Promise.all(db.map(async (e) => (await t.blobs.read(e.sha256!)).toString()));
    assert.is(bodies[0], stanzas.hello);
    assert.equal(dpkgQuery(t.dir, bodies), ['hello 2.10-3', 'libc6 2.36-9+deb12u10']);
  } finally {
    t.remove();
  }
});

test("without the builder's stanzas (an older rootfs cache), a minimal one still names package and version", async () => {
  const t = tmp();
  try {
    const db = await packageDbEntries({
      kind: 'debian',
      packages: [{ ...deb('curl', '7.88.1-10+deb12u12'), source: 'curl', section: 'web' }],
      entries: [],
      blobs: t.blobs,
      epoch: 0,
    });
    const body = (await t.blobs.read(db[0].sha256!)).toString();
    assert.match(body, /^Package: curl\nStatus: install ok installed\n/);
    assert.equal(dpkgQuery(t.dir, [body]), ['curl 7.88.1-10+deb12u12']);
  } finally {
    t.remove();
  }
});

test('a Gentoo layer gets /var/db/pkg/<cat>/<pf>/ with CATEGORY, PF, SLOT, USE, repository and CONTENTS', async () => {
  const t = tmp();
  try {
    const sha = await t.blobs.put(Buffer.from('ELF…'));
    const entries: Entry[] = [
      {
        path: 'usr/bin',
        type: 'dir',
        mode: 0o755,
        uid: 0,
        gid: 0,
        size: 0,
        linkname: null,
        sha256: null,
        elf: null,
        origin: 'net-analyzer/nmap',
      },
      {
        path: 'usr/bin/nmap',
        type: 'file',
        mode: 0o755,
        uid: 0,
        gid: 0,
        size: 5,
        linkname: null,
        sha256: sha,
        elf: null,
        origin: 'net-analyzer/nmap',
      },
      {
        path: 'usr/bin/nm',
        type: 'symlink',
        mode: 0o777,
        uid: 0,
        gid: 0,
        size: 0,
        linkname: 'nmap',
        sha256: null,
        elf: null,
        origin: 'net-analyzer/nmap',
      },
      {
        path: 'etc/other',
        type: 'file',
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: 5,
        linkname: null,
        sha256: sha,
        elf: null,
        origin: 'sys-libs/glibc',
      },
    ];
    const nmap: PackageInfo = {
      name: 'net-analyzer/nmap',
      version: '7.95-r1',
      origin: 'gentoo',
      slot: '0',
      repository: 'gentoo',
      use: ['ipv6', '-nls'],
    };
    const db = await packageDbEntries({
      kind: 'gentoo',
      packages: [nmap, { name: 'manual', version: '1', origin: 'recorded' }],
      entries,
      blobs: t.blobs,
      epoch: 1_700_000_000,
    });
    const files = Object.fromEntries(await Promise.all(db.map(async (e) => [e.path, (await t.blobs.read(e.sha256!)).toString()] as const)));
    const dir = 'var/db/pkg/net-analyzer/nmap-7.95-r1';
    assert.equal(
      Object.keys(files).sort(),
      ['CATEGORY', 'CONTENTS', 'PF', 'SLOT', 'USE', 'repository'].map((f) => `${dir}/${f}`),
    );
    assert.is(files[`${dir}/CATEGORY`], 'net-analyzer\n');
    assert.is(files[`${dir}/PF`], 'nmap-7.95-r1\n');
    assert.is(files[`${dir}/USE`], 'ipv6\n');
    const md5 = createHash('md5').update('ELF…').digest('hex');
    assert.is(files[`${dir}/CONTENTS`], `dir /usr/bin\nobj /usr/bin/nmap ${md5} 1700000000\nsym /usr/bin/nm -> nmap 1700000000\n`);
  } finally {
    t.remove();
  }
});

test.run();
