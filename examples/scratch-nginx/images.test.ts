import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'imgsdk/testing';
import * as images from './images';

const nginx = Testing.synth(images.nginx).image('zawadidone/nginx');
const raw = readFileSync(join(__dirname, 'nginx.conf'), 'utf8');
// Directives only: the comments mention the paths the post used.
const conf = raw.replace(/^\s*#.*\n/gm, '');

test('nginx comes from Portage and is pruned to the closure of /usr/sbin/nginx', () => {
  nginx.hasPackage('www-servers/nginx');
  assert.equal(nginx.def.closure, { roots: ['/usr/sbin/nginx'], keep: ['/etc/nginx/**', '/usr/share/nginx/html/**'] });
});

test('the config files of the folder are added to /etc/nginx', () => {
  nginx.hasFile('/etc/nginx/nginx.conf').hasFile('/etc/nginx/conf.d/default.conf').hasFile('/usr/share/nginx/html/index.html');
  const added = nginx.def.files.find((f) => f.path === '/etc/nginx/nginx.conf')!;
  assert.is(nginx.file(`files/${added.sha256}`), raw);
});

test('nginx.conf writes only to /tmp and logs to stderr and stdout', () => {
  assert.match(conf, /^pid\s+\/tmp\/nginx\.pid;$/m);
  assert.match(conf, /^error_log\s+stderr\b/m);
  assert.match(conf, /^\s*access_log\s+\/dev\/stdout\b/m);
  for (const t of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) assert.match(conf, new RegExp(`${t}_temp_path /tmp/`));
  assert.not.match(conf, /\/var\/(log|cache)|\/dev\/shm|^user\s/m);
});

test('default.conf listens on 8080, the port the image exposes', () => {
  assert.match(readFileSync(join(__dirname, 'default.conf'), 'utf8'), /listen\s+8080;/);
  assert.equal(nginx.config.expose, ['8080/tcp']);
});

test('nginx runs in the foreground as the nginx user', () => {
  nginx.runsAsNonRoot();
  assert.is(nginx.config.user, 'nginx');
  assert.equal(nginx.config.cmd, ['/usr/sbin/nginx', '-e', 'stderr', '-g', 'daemon off;']);
  assert.equal(
    nginx.def.accounts.map((a) => [a.user, a.uid]),
    [['nginx', 101]],
  );
});

test.run();
