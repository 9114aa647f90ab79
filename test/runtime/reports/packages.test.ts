import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { debian, gentoo, image } from '../../../src';
import { renderPackagesMd } from '../../../src/runtime/reports/packages';
import { assemble } from '../../../src/sdk/synth';

const bob = gentoo.builder('kubler/bob', { stage3: 'amd64-hardened-nomultilib' });
const glibc = image('kubler/glibc').builder(bob).packages('sys-libs/glibc');
const nmap = image('mynamespace/nmap').from(glibc).packages('net-analyzer/nmap').keep('headers');
const asm = assemble([nmap]);
const def = asm.images.get('mynamespace/nmap')!;
const key = asm.manifest.images['mynamespace/nmap'].key;

const report = () =>
  renderPackagesMd({
    def,
    key,
    builder: 'kubler/bob',
    size: 12_345_678,
    packages: [
      { name: 'net-analyzer/nmap', version: '7.95', use: ['ipv6', '-nls'], origin: 'gentoo' },
      { name: 'virtual/libc', version: '1-r1', origin: 'gentoo' },
    ],
    inherited: [{ id: 'kubler/glibc', packages: [{ name: 'sys-libs/glibc', version: '2.40-r5', use: ['multiarch'], origin: 'gentoo' }] }],
    purged: { categories: [{ category: 'docs', count: 3, bytes: 2048 }], globbed: [], globbedBytes: 0, dangling: [] },
    slimmed: { packages: [], count: 0, bytes: 0 },
  });

test('PACKAGES.md lists installed packages with their USE flags, as Kubler does, without virtual packages', () => {
  const md = report();
  assert.match(md, `### mynamespace/nmap:${key.slice(0, 12)}`);
  assert.match(md, '#### Installed\n\n| Package | Version | Details |\n|---|---|---|\n| net-analyzer/nmap | 7.95 | ipv6 -nls |');
  assert.not.match(md, 'virtual/libc');
});

test('PACKAGES.md lists inherited packages under each ancestor, then scratch', () => {
  assert.match(
    report(),
    '#### Inherited\n\n**FROM kubler/glibc**\n\n| Package | Version | Details |\n|---|---|---|\n| sys-libs/glibc | 2.40-r5 | multiarch |\n\n**FROM scratch**',
  );
});

test('PACKAGES.md shows the purge as check boxes, kept categories marked', () => {
  const md = report();
  assert.match(md, '- [x] docs (3 entries, 2.0 kB)');
  assert.match(md, '- [ ] headers (kept)');
  assert.match(md, '- [ ] static-libs\n');
});

test('PACKAGES.md has no date, so the same build gives the same file', () => {
  assert.is(report(), report());
  assert.not.match(report(), /20\d\d-\d\d-\d\d/);
});

test('a Debian package shows its architecture and source package', () => {
  const b = debian.builder('t/bookworm');
  const web = image('t/web').builder(b).packages('nginx-light');
  const a = assemble([web]);
  const md = renderPackagesMd({
    def: a.images.get('t/web')!,
    key: a.manifest.images['t/web'].key,
    builder: 't/bookworm',
    size: 1,
    packages: [{ name: 'nginx-light', version: '1.22.1-9', arch: 'all', source: 'nginx', origin: 'debian' }],
    inherited: [],
    purged: { categories: [], globbed: [], globbedBytes: 0, dangling: [] },
    slimmed: { packages: ['libc6'], count: 10, bytes: 5000 },
  });
  assert.match(md, '| nginx-light | 1.22.1-9 | all, source nginx |');
  assert.match(md, '#### Slimmed');
  assert.match(md, 'libc6');
});

test.run();
