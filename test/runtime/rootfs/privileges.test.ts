import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stripPrivileges } from '../../../src/runtime/rootfs/privileges';
import { dir, file } from './_tar-fixture';

test('stripPrivileges removes setuid and setgid bits from files and reports each', () => {
  const { entries, stripped } = stripPrivileges([{ ...file('usr/bin/passwd'), mode: 0o4755 }, { ...file('usr/sbin/postdrop'), mode: 0o2555 }, file('usr/bin/ls')]);
  assert.equal(entries.map((e) => e.mode), [0o755, 0o555, 0o644]);
  assert.equal(stripped, [
    { path: 'usr/bin/passwd', from: 0o4755, to: 0o755, what: ['setuid'] },
    { path: 'usr/sbin/postdrop', from: 0o2555, to: 0o555, what: ['setgid'] },
  ]);
});

test('stripPrivileges keeps a setgid directory and a sticky world-writable one (/var/mail, /tmp)', () => {
  const { stripped } = stripPrivileges([dir('var/mail', 0o2775), dir('tmp', 0o1777)]);
  assert.equal(stripped, []);
});

test('stripPrivileges takes o+w from world-writable files and non-sticky directories, unless kept', () => {
  const input = [{ ...file('etc/app.conf'), mode: 0o666 }, dir('var/spool', 0o777)];
  assert.equal(stripPrivileges(input).entries.map((e) => e.mode), [0o664, 0o775]);
  assert.equal(stripPrivileges(input, { keepWorldWritable: true }).stripped, []);
});

test('stripPrivileges keeps setuid bits with keepSetuid, and reports dropped capabilities', () => {
  const { entries, stripped } = stripPrivileges([{ ...file('usr/bin/sudo'), mode: 0o4755 }, { ...file('usr/bin/ping'), mode: 0o755, caps: true }], { keepSetuid: true });
  assert.is(entries[0].mode, 0o4755);
  assert.equal(stripped, [{ path: 'usr/bin/ping', from: 0o755, to: 0o755, what: ['capabilities'] }]);
  assert.is(entries[1].caps, undefined);
});

test.run();
