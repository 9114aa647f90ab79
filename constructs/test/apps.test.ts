import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, noShell, nonRoot } from 'imgsdk';
import { Testing } from 'imgsdk/testing';
import { APP_ACCOUNT, bookworm, hostBinary, jvmApp, nginxConf, nodeApp, pythonApp, staticSite } from '../index';

// A project as a user has it: an app directory with node_modules, a site, a jar, a binary.
const root = mkdtempSync(join(tmpdir(), 'imgsdk-apps-test-'));
for (const [p, text] of Object.entries({
  'api/server.js': 'require("greet")\n',
  'api/node_modules/greet/index.js': 'module.exports = 1\n',
  'web/main.py': 'print(1)\n',
  'public/index.html': 'hi\n',
  'svc.jar': 'PK',
  srv: '\x7fELF',
})) {
  mkdirSync(join(root, p, '..'), { recursive: true });
  writeFileSync(join(root, p), text);
}
test.after(() => rmSync(root, { recursive: true, force: true }));
const at = (p: string) => join(root, p);
const HERE = relative(process.cwd(), __filename);

test('nodeApp: nodejs under tini, non-root, production, node_modules apart from the code', () => {
  const t = Testing.synth(nodeApp('acme/api', { dir: at('api'), main: 'server.js' })).image('acme/api');
  t.hasPackage('nodejs').hasPackage('tini').runsAsNonRoot().hasEntrypoint('/usr/bin/tini', '--', '/usr/bin/node', '/app/server.js');
  assert.equal(
    [t.config.user, t.config.env.NODE_ENV, t.config.env.PORT, t.config.expose, t.config.workdir],
    ['app', 'production', '8080', ['8080/tcp'], '/app'],
  );
  assert.equal(
    t.def.accounts.map((a) => [a.user, a.uid]),
    [[APP_ACCOUNT.user, APP_ACCOUNT.uid]],
  );
  assert.is(t.def.builder, bookworm.id);
});

test('every construct passes the noShell and nonRoot policies', () => {
  const all = [
    nodeApp('acme/api', { dir: at('api') }),
    pythonApp('acme/web', { dir: at('web') }),
    staticSite('acme/site', { dir: at('public') }),
    jvmApp('acme/svc', { jar: at('svc.jar') }),
    hostBinary('acme/srv', { binary: at('srv') }),
  ];
  assert.equal(Testing.problems(app(...all).policy(noShell(), nonRoot())), []);
});

test('the runtimes that ignore SIGTERM as PID 1 get tini; nginx, the JVM and a host binary do not', () => {
  const t = Testing.synth(
    pythonApp('acme/web', { dir: at('web') }),
    staticSite('acme/site', { dir: at('public') }),
    jvmApp('acme/svc', { jar: at('svc.jar') }),
    hostBinary('acme/srv', { binary: at('srv') }),
    hostBinary('acme/srv-init', { binary: at('srv'), init: true }),
  );
  t.image('acme/web').hasEntrypoint('/usr/bin/tini', '--', '/usr/bin/python3', '/app/main.py').hasPackage('python3');
  t.image('acme/site').hasEntrypoint('/usr/sbin/nginx', '-e', 'stderr').hasPackage('nginx-light');
  t.image('acme/svc')
    .hasEntrypoint('/usr/bin/java', '-XX:+UseSerialGC', '-Xss512k', '-jar', '/app/app.jar')
    .hasPackage('openjdk-17-jre-headless');
  t.image('acme/srv').hasEntrypoint('/usr/local/bin/srv').hasPackage('libc6');
  t.image('acme/srv-init').hasEntrypoint('/usr/bin/tini', '--', '/usr/local/bin/srv');
  for (const id of ['acme/site', 'acme/svc', 'acme/srv']) assert.is(t.image(id).config.init, undefined, id);
});

test('defaults are overridable: options, and any Image method after the construct', () => {
  const img = nodeApp('acme/api', {
    dir: at('api'),
    port: 3000,
    account: { user: 'api', uid: 2000 },
    env: { LOG: 'debug' },
    packages: ['ca-certificates'],
  })
    .env('NODE_ENV', 'development')
    .init(false);
  const t = Testing.synth(img).image('acme/api');
  assert.equal(
    [t.config.user, t.config.env.PORT, t.config.env.LOG, t.config.env.NODE_ENV, t.config.expose],
    ['api', '3000', 'debug', 'development', ['3000/tcp']],
  );
  t.hasPackage('ca-certificates').hasEntrypoint('/usr/bin/node', '/app/index.js');
});

test("the static site's nginx listens on the port as non-root with every writable path in /tmp", () => {
  const conf = nginxConf('/srv/www', 8080);
  assert.match(conf, /listen\s+8080;/);
  assert.match(conf, /root\s+\/srv\/www;/);
  assert.match(conf, /pid\s+\/tmp\/nginx\.pid;/);
  assert.not.match(conf, /^\s*user\s/m);
  const t = Testing.synth(staticSite('acme/site', { dir: at('public'), port: 8081 })).image('acme/site');
  const conf8081 = t.hasFile('/etc/nginx/nginx.conf').def.files.find((f) => f.path === '/etc/nginx/nginx.conf')!;
  assert.is(conf8081.sha256, createHash('sha256').update(nginxConf('/srv/www', 8081)).digest('hex'));
});

test("a problem in what the user passed names the user's file and line, not the construct's", () => {
  const line = Number(new Error().stack!.split('\n')[1].match(/:(\d+):\d+\)?$/)![1]) + 1;
  const bad = hostBinary('acme/bad', { binary: at('no-such-binary') });
  const problems = Testing.problems(bad);
  assert.ok(problems.length > 0);
  assert.ok(
    problems.every((p) => p.startsWith(`${HERE}:${line} acme/bad: `)),
    problems.join('\n'),
  );
});

test.run();
