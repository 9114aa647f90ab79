import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { image, noShell } from 'imgsdk';
import { Testing } from 'imgsdk/testing';
import * as images from './images';

const asm = Testing.synth(images.default);
const nginx = asm.image('examples/debian-nginx');
const conf = readFileSync(join(__dirname, 'nginx.conf'), 'utf8');

test('nginx-light is installed from a bookworm builder', () => {
  nginx.hasPackage('nginx-light');
  const builder = asm.manifest.builders[nginx.def.builder];
  assert.is(builder.kind, 'debian');
  assert.is(builder.def.debian?.suite, 'bookworm');
  assert.match(nginx.file('apt/packages.list') ?? '', /^nginx-light$/m);
});

test('nginx runs in the foreground as nobody on port 8080', () => {
  nginx.runsAsNonRoot().hasEntrypoint('/usr/sbin/nginx', '-e', 'stderr', '-g', 'daemon off;');
  assert.is(nginx.config.user, 'nobody');
  assert.equal(nginx.config.expose, ['8080/tcp']);
});

test('nginx.conf listens on 8080, keeps pid and temp files in /tmp and logs to stderr/stdout', () => {
  nginx.hasFile('/etc/nginx/nginx.conf');
  assert.match(conf, /listen\s+8080;/);
  assert.match(conf, /^pid\s+\/tmp\/nginx\.pid;$/m);
  assert.match(conf, /^error_log\s+stderr\b/m);
  assert.match(conf, /access_log\s+\/dev\/stdout;/);
  for (const t of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) assert.match(conf, new RegExp(`${t}_temp_path\\s+/tmp/`));
});

test('the app carries the noShell and nonRoot policies', () => {
  // noShell's forbidden paths travel to the runtime, which checks the built rootfs.
  assert.ok(nginx.def.forbid.includes('bin/sh'));
  const withShell = image('examples/debian-nginx-sh').from(images.nginx).packages('dash');
  assert.equal(Testing.problems(images.default.add(withShell)).length, 1);
  assert.match(Testing.problems(images.default.add(withShell))[0], /policy noShell: installs the shell package dash/);
  assert.ok(noShell().forbid?.includes('bin/bash'));
});

test('running as root is refused by the nonRoot policy even with allowRoot()', () => {
  const root = image('examples/debian-nginx-root').from(images.nginx).user('root').allowRoot();
  assert.match(Testing.problems(images.default.add(root)).join('\n'), /examples\/debian-nginx-root: policy nonRoot: runs as root/);
});

test.run();
