import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseTmpfiles, parseUnitDirs, runDirs } from '../../../src/runtime/rootfs/run-dirs';
import { file } from './_tar-fixture';

test('tmpfiles.d lines that make directories under /run are read; other types, trees and specifiers are not', () => {
  const text =
    '# comment\nd /run/tinyproxy 0755 tinyproxy tinyproxy -\nD /var/run/x 2775 - -\nf /run/y.pid\nd /var/lib/z 0755\nd %t/w 0700\n';
  assert.equal(parseTmpfiles(text), [
    { path: 'run/tinyproxy', mode: 0o755, user: 'tinyproxy', group: 'tinyproxy' },
    { path: 'run/x', mode: 0o2775, user: 'root', group: 'root' },
  ]);
});

test('the image gets the /run directories its tmpfiles.d files name, owned by their accounts, and nothing it has', () => {
  const conf = { ...file('usr/lib/tmpfiles.d/postgresql.conf', 40), sha256: 'x' };
  const body = Buffer.from('d /run/postgresql 2775 postgres postgres - -\nd /run/postgresql/sub 0700 postgres postgres\n');
  const dirs = runDirs(
    [conf],
    () => body,
    (u) => (u === 'postgres' ? 104 : undefined),
    (g) => (g === 'postgres' ? 105 : undefined),
  );
  assert.equal(
    dirs.map((d) => [d.path, d.type, d.mode.toString(8), d.uid, d.gid]),
    [
      ['run', 'dir', '755', 0, 0],
      ['run/postgresql', 'dir', '2775', 104, 105],
      ['run/postgresql/sub', 'dir', '700', 104, 105],
    ],
  );
  const again = runDirs(
    [conf, ...dirs],
    () => body,
    () => 1,
    () => 1,
  );
  assert.equal(again, []);
});

test("a service unit's directory settings and ExecStartPre mkdir/chown lines are read as the directories its daemon expects", () => {
  const sshd = '[Service]\nExecStartPre=/usr/sbin/sshd -t\nRuntimeDirectory=sshd\nRuntimeDirectoryMode=0755\n';
  assert.equal(parseUnitDirs(sshd), [{ path: 'run/sshd', mode: 0o755, user: 'root', group: 'root' }]);
  const redis =
    '[Service]\nUser=redis\nGroup=redis\nRuntimeDirectory=redis\nRuntimeDirectoryMode=2755\nStateDirectory=redis a/b\nLogsDirectory=redis\n';
  assert.equal(parseUnitDirs(redis), [
    { path: 'run/redis', mode: 0o2755, user: 'redis', group: 'redis' },
    { path: 'var/lib/redis', mode: 0o755, user: 'redis', group: 'redis' },
    { path: 'var/lib/a/b', mode: 0o755, user: 'redis', group: 'redis' },
    { path: 'var/log/redis', mode: 0o755, user: 'redis', group: 'redis' },
  ]);
  const mosquitto =
    '[Service]\nExecStartPre=/bin/mkdir -m 740 -p /var/log/mosquitto\nExecStartPre=/bin/chown mosquitto /var/log/mosquitto\nExecStartPre=-/bin/mkdir -p /run/mosquitto /etc/elsewhere\nExecStartPre=/bin/chown mosquitto:mosquitto /run/mosquitto\n';
  assert.equal(parseUnitDirs(mosquitto), [
    { path: 'var/log/mosquitto', mode: 0o740, user: 'mosquitto', group: 'root' },
    { path: 'run/mosquitto', mode: 0o755, user: 'mosquitto', group: 'mosquitto' },
  ]);
});

test("the image gets the directories of the units it is given, owned by their accounts, beside tmpfiles.d's", () => {
  const unit = { ...file('usr/lib/systemd/system/mosquitto.service', 90), sha256: 'u' };
  const body = Buffer.from('ExecStartPre=/bin/mkdir -m 740 -p /run/mosquitto\nExecStartPre=/bin/chown mosquitto /run/mosquitto\n');
  const dirs = runDirs(
    [],
    () => body,
    (u) => (u === 'mosquitto' ? 10001 : undefined),
    () => undefined,
    [unit],
  );
  assert.equal(
    dirs.map((d) => [d.path, d.mode.toString(8), d.uid, d.gid]),
    [
      ['run', '755', 0, 0],
      ['run/mosquitto', '740', 10001, 0],
    ],
  );
});

test.run();
