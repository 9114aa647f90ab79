import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseTmpfiles, runDirs } from '../../../src/runtime/rootfs/run-dirs';
import { file } from './_tar-fixture';

test('tmpfiles.d lines that make directories under /run are read; other types, trees and specifiers are not', () => {
  const text = '# comment\nd /run/tinyproxy 0755 tinyproxy tinyproxy -\nD /var/run/x 2775 - -\nf /run/y.pid\nd /var/lib/z 0755\nd %t/w 0700\n';
  assert.equal(parseTmpfiles(text), [
    { path: 'run/tinyproxy', mode: 0o755, user: 'tinyproxy', group: 'tinyproxy' },
    { path: 'run/x', mode: 0o2775, user: 'root', group: 'root' },
  ]);
});

test('the image gets the /run directories its tmpfiles.d files name, owned by their accounts, and nothing it has', () => {
  const conf = { ...file('usr/lib/tmpfiles.d/postgresql.conf', 40), sha256: 'x' };
  const body = Buffer.from('d /run/postgresql 2775 postgres postgres - -\nd /run/postgresql/sub 0700 postgres postgres\n');
  const dirs = runDirs([conf], () => body, (u) => (u === 'postgres' ? 104 : undefined), (g) => (g === 'postgres' ? 105 : undefined));
  assert.equal(dirs.map((d) => [d.path, d.type, d.mode.toString(8), d.uid, d.gid]), [
    ['run', 'dir', '755', 0, 0], ['run/postgresql', 'dir', '2775', 104, 105], ['run/postgresql/sub', 'dir', '700', 104, 105],
  ]);
  const again = runDirs([conf, ...dirs], () => body, () => 1, () => 1);
  assert.equal(again, []);
});

test.run();
