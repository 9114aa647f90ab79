import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stripPrivileges } from '../../../src/runtime/rootfs/privileges';
import { dir, file } from './_tar-fixture';

test('stripPrivileges removes setuid and setgid bits from files and reports each', () => {
  const { entries, stripped } = stripPrivileges([
    { ...file('usr/bin/passwd'), mode: 0o4755 },
    { ...file('usr/sbin/postdrop'), mode: 0o2555 },
    file('usr/bin/ls'),
  ]);
  assert.equal(
    entries.map((e) => e.mode),
    [0o755, 0o555, 0o644],
  );
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
  assert.equal(
    stripPrivileges(input).entries.map((e) => e.mode),
    [0o664, 0o775],
  );
  assert.equal(stripPrivileges(input, { keepWorldWritable: true }).stripped, []);
});

test('stripPrivileges removes file capabilities and reports them; with keepSetuid it keeps them', () => {
  const ping = { ...file('usr/bin/ping'), mode: 0o755, caps: '\x01\x00\x00\x02\x00\x20\x00\x00' };
  const dropped = stripPrivileges([ping]);
  assert.equal(dropped.stripped, [{ path: 'usr/bin/ping', from: 0o755, to: 0o755, what: ['capabilities'] }]);
  assert.is(dropped.entries[0].caps, undefined);
  const kept = stripPrivileges([{ ...file('usr/bin/sudo'), mode: 0o4755 }, ping], { keepSetuid: true });
  assert.equal([kept.entries[0].mode, kept.entries[1].caps], [0o4755, ping.caps]);
  assert.equal(kept.stripped, []);
  // A value the reader could not read byte for byte cannot be written back.
  const odd = stripPrivileges([{ ...ping, caps: '\uFFFD' }], { keepSetuid: true });
  assert.equal(odd.stripped[0].what, ['capabilities (not carried: unreadable value)']);
});

test.run();
