import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { referenceKind, referenceReader, referencesOf } from '../../../src/runtime/rootfs/references';
import { elf, file } from './_tar-fixture';

test('a configuration file names paths, locales and, on lines about users, accounts', () => {
  const conf = [
    'user www-data;',
    'LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so',
    'include_shell "/usr/share/lighttpd/use-ipv6.pl " + server.port',
    "lc_messages = 'C.UTF-8'",
    "lc_time = 'en_US.UTF-8'",
    'trusted_users = uucp',
  ].join('\n');
  const r = referencesOf('config', Buffer.from(conf));
  assert.equal(r.paths, ['usr/lib/apache2/modules/mod_mpm_event.so', 'usr/share/lighttpd/use-ipv6.pl']);
  assert.equal(r.locales, ['C.utf8', 'en_US.utf8']);
  assert.ok(r.accounts.includes('www-data') && r.accounts.includes('uucp'));
  assert.not.ok(r.accounts.includes('LoadModule'), 'only lines about users or groups');
  assert.equal(r.commands, []);
});

test('a shell script names the commands it runs, after a line start, a pipe, a semicolon or $(', () => {
  const sh = '#!/bin/sh\nset -e\nTMP=$(mktemp -d)\nchmod 700 "$TMP" && rm -rf "$TMP"\ncat /etc/x | sort\n';
  const r = referencesOf('script', Buffer.from(sh));
  for (const c of ['mktemp', 'chmod', 'rm', 'cat', 'sort']) assert.ok(r.commands.includes(c), c);
  assert.not.ok(r.commands.includes('etc'));
});

test('a program that calls system() names the first word of its command-line strings (varnish: rm -rf vmod_cache)', () => {
  const body = Buffer.concat([
    Buffer.from('\x7fELF\0'),
    Buffer.from('rm -rf vmod_cache\0'),
    Buffer.from('Hello world and more\0'),
    Buffer.from('exec %s\0'),
  ]);
  assert.equal(referencesOf('program', body).commands, ['exec', 'rm']);
});

test('what is read: configuration by place or name, shell scripts, programs that call system(); not libc nor large files', () => {
  assert.is(referenceKind({ ...file('etc/nginx/nginx.conf', 10), sha256: 'a' }), 'config');
  assert.is(referenceKind({ ...file('var/lib/postgresql/data/postgresql.conf', 10) }), 'config');
  assert.is(referenceKind({ ...file('usr/sbin/apache2ctl', 10), shebang: '/bin/sh' }), 'script');
  assert.is(referenceKind(file('usr/sbin/varnishd', 10, elf({ interp: '/lib64/ld-linux-x86-64.so.2', shell: true }))), 'program');
  assert.is(referenceKind(file('usr/lib/libc.so.6', 10, elf({ soname: 'libc.so.6', shell: true }))), null);
  assert.is(referenceKind(file('usr/share/doc/x.txt', 10)), null);
  assert.is(referenceKind(file('etc/big.conf', 2 * 1024 * 1024)), null);
});

test('the reader reads each body once and gives nothing for a file it cannot read', () => {
  let reads = 0;
  const refs = referenceReader((e) => {
    reads++;
    return e.path.endsWith('a.conf') ? Buffer.from('listen /run/a.sock') : null;
  });
  const a = { ...file('etc/a.conf', 10), sha256: 'aa' };
  assert.equal(refs(a).paths, []);
  assert.equal(refs({ ...a, path: 'etc/b.conf', sha256: 'bb' }).paths, []);
  assert.is(reads, 2);
  refs(a);
  assert.is(reads, 2);
});

test.run();
