import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEPENDS, parseRows } from '../../../src/contract/builder-files';
import { enrichPackages, parseDpkgStatus } from '../../../src/runtime/phase1/dpkg';
import { SCRIPTS_DIR } from '../../../src/runtime/phase1/run';
import { partialPackages } from '../../../src/runtime/rootfs/slim';

const STATUS = `Package: nginx-light
Status: install ok installed
Section: httpd
Priority: optional
Depends: libnginx-mod-http-echo (>= 1:0.63-4~), nginx (>= 1.22.1-9)

Package: nginx
Status: install ok installed
Section: httpd
Priority: optional
Depends: nginx-common (= 1.22.1-9), iproute2, libc6 (>= 2.34), libssl3 (>= 3.0.0)

Package: nginx-common
Status: install ok installed
Section: httpd
Priority: optional
Depends: debconf (>= 0.5) | debconf-2.0

Package: libnginx-mod-http-echo
Status: install ok installed
Section: httpd
Depends: libc6 (>= 2.14)

Package: debconf
Status: install ok installed
Section: admin
Priority: required
Provides: debconf-2.0
Pre-Depends: perl-base (>= 5.20.1-3~)

Package: perl-base
Status: install ok installed
Essential: yes
Section: perl
Priority: required

Package: iproute2
Status: install ok installed
Section: net
Priority: important
Depends: libcap2-bin, libc6

Package: libcap2-bin
Status: install ok installed
Section: utils
Priority: optional

Package: libc6
Status: install ok installed
Section: libs
Priority: optional

Package: libssl3
Status: install ok installed
Section: libs
Priority: optional
Depends: libc6 (>= 2.34)

Package: removed-thing
Status: deinstall ok config-files
Section: libs
`;

/**
 * The status as debian.sh hands it to the closure: what `dpkg-query -W -f
 * '${Package}\t${Pre-Depends}, ${Depends}\t${Provides}\n'` prints for the installed packages.
 */
function dpkgQuery(status: string): string {
  return status
    .split(/\n\s*\n/)
    .filter((s) => /^Status: .*\binstalled$/m.test(s))
    .map((s) => {
      const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(s)?.[1] ?? '';
      return `${field('Package')}\t${field('Pre-Depends')}, ${field('Depends')}\t${field('Provides')}\n`;
    })
    .join('');
}

/** Runs lib.sh's pkg_closure (the builder's own code, here on the host's sh and awk): the closure and depends.tsv. */
function closure(roots: readonly string[], status: string): { closure: string[]; depends: string } {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-closure-'));
  try {
    writeFileSync(join(dir, 'roots'), roots.map((r) => `${r}\n`).join(''));
    const r = spawnSync(
      'sh',
      ['-c', '. "$1/lib.sh" && pkg_closure "$2/roots" "$2/closure" "" "" "$2/depends.tsv"', 'sh', SCRIPTS_DIR, dir],
      { input: dpkgQuery(status), encoding: 'utf8' },
    );
    assert.is(r.status, 0, r.stderr);
    return {
      closure: readFileSync(join(dir, 'closure'), 'utf8').split('\n').filter(Boolean),
      depends: readFileSync(join(dir, 'depends.tsv'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const names = [
  'nginx-light',
  'nginx',
  'nginx-common',
  'libnginx-mod-http-echo',
  'debconf',
  'perl-base',
  'iproute2',
  'libcap2-bin',
  'libc6',
  'libssl3',
];
const resolved = closure(['nginx-light'], STATUS);
const pkgs = enrichPackages(
  resolved.closure.map((name) => ({ name, version: '1', origin: 'debian' })),
  parseDpkgStatus(STATUS),
  parseRows(DEPENDS, resolved.depends),
);

test('dpkg status gives section, priority, essential and installed packages only', () => {
  const s = parseDpkgStatus(STATUS);
  assert.not.ok(s.has('removed-thing'));
  assert.equal(s.get('perl-base'), { name: 'perl-base', section: 'perl', priority: 'required', essential: true, provides: [] });
});

test("the closure of the builder's script is the requested package and everything it depends on", () => {
  assert.equal(resolved.closure, [...names].sort());
});

test("dependencies resolve alternatives and virtual packages to the installed package, in the closure of the builder's script", () => {
  assert.equal(pkgs.find((p) => p.name === 'nginx-common')!.depends, ['debconf']);
  assert.equal(pkgs.find((p) => p.name === 'nginx')!.depends, ['iproute2', 'libc6', 'libssl3', 'nginx-common']);
});

test('the requested package and its ordinary dependencies stay whole; libraries, base packages and what only they pull in are slimmed', () => {
  const partial = partialPackages(['nginx-light'], pkgs);
  assert.equal([...partial].sort(), ['debconf', 'iproute2', 'libc6', 'libcap2-bin', 'libssl3', 'perl-base']);
});

test('a library that is asked for by name stays whole', () => {
  assert.not.ok(partialPackages(['libssl3'], pkgs).has('libssl3'));
  assert.ok(partialPackages(['libssl3'], pkgs).has('libc6'));
});

test('a package without a depends.tsv row has no dependencies; one missing from the status is left as it was', () => {
  const [known, unknown] = enrichPackages(
    [
      { name: 'libc6', version: '1', origin: 'debian' },
      { name: 'elsewhere', version: '1', origin: 'debian' },
    ],
    parseDpkgStatus(STATUS),
    [],
  );
  assert.equal(known.depends, []);
  assert.is(unknown.depends, undefined);
});

test('a virtual package asked for by name keeps the package that provides it whole', () => {
  assert.not.ok(partialPackages(['debconf-2.0'], pkgs).has('debconf'));
});

test.run();
