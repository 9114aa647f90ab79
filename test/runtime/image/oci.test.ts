import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AccountDef, ImageConfigDef, ImageDef } from '../../../src/contract/assembly';
import { BuildError } from '../../../src/contract/errors';
import { canonicalJson } from '../../../src/contract/json';
import { sha256Digest } from '../../../src/util/hash';
import {
  DEFAULT_PATH,
  imageConfig,
  imageManifest,
  renderGroup,
  renderNsswitch,
  renderPasswd,
  resolveUser,
} from '../../../src/runtime/image/oci';

const D1 = 'sha256:' + '1'.repeat(64);
const D2 = 'sha256:' + '2'.repeat(64);

const app: AccountDef = { user: 'app', uid: 1000, group: 'app', gid: 1001, home: '/home/app', shell: '/sbin/nologin' };

function def(config: Partial<ImageConfigDef> = {}): ImageDef {
  return {
    id: 'example/app',
    parent: 'example/base',
    builder: 'debian/bookworm',
    packages: [],
    portage: {
      use: [],
      keywords: [],
      mask: [],
      unmask: [],
      unmaskUse: [],
      makeConf: {},
      packageEnv: [],
      overlays: [],
      provide: [],
      unprovide: [],
      patches: [],
      uninstall: [],
      noBinpkgCache: [],
      runtimeLibs: [],
      downloads: [],
      record: [],
      locales: [],
    },
    keep: [],
    purge: [],
    closure: null,
    copies: [],
    files: [],
    accounts: [app],
    needs: [],
    hooks: { configureBuilder: [], configureRootfs: [], finishRootfs: [] },
    config: {
      entrypoint: null,
      cmd: null,
      env: {},
      workdir: null,
      expose: [],
      volumes: [],
      labels: {},
      user: null,
      healthcheck: null,
      ...config,
    },
    allowRoot: false,
    tags: [],
    tests: [],
    debug: false,
    forbid: [],
  };
}

const opts = { key: 'k'.repeat(64), diffIds: [D1, D2], created: 1_700_000_000, accounts: [app] };

test('canonicalJson sorts keys recursively, keeps array order, drops undefined, no whitespace', () => {
  assert.is(canonicalJson({ b: 1, a: [{ d: 2, c: 'x' }, 3], u: undefined, n: null }), '{"a":[{"c":"x","d":2},3],"b":1,"n":null}');
  assert.throws(() => canonicalJson({ a: NaN }), /\$\.a is NaN/);
  assert.is(sha256Digest(''), 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

test('the image config is canonical JSON with the fields Docker reads', () => {
  const cfg = imageConfig(
    def({
      entrypoint: ['/usr/bin/app'],
      cmd: ['--serve'],
      env: { ZED: '1', ALPHA: 'a=b' },
      workdir: '/srv',
      expose: ['8080/tcp', '53/udp', '9090'],
      volumes: ['/data'],
      labels: { 'org.opencontainers.image.title': 'app', 'org.imgsdk.id': 'spoofed' },
      user: 'app',
      healthcheck: { cmd: ['/usr/bin/app', 'ping'], interval: 30, timeout: 5, retries: 3, startPeriod: 0 },
    }),
    { ...opts, extraLabels: { 'build.note': 'x' } },
  );
  const doc = JSON.parse(cfg.json);
  assert.is(cfg.json, canonicalJson(doc)); // sorted, no whitespace
  assert.is(cfg.digest, sha256Digest(cfg.json));
  assert.is(doc.architecture, 'amd64');
  assert.is(doc.os, 'linux');
  assert.is(doc.created, '2023-11-14T22:13:20Z');
  assert.equal(doc.rootfs, { type: 'layers', diff_ids: [D1, D2] });
  assert.equal(doc.history, [
    { created: '2023-11-14T22:13:20Z', created_by: 'imgsdk' },
    { created: '2023-11-14T22:13:20Z', created_by: 'imgsdk' },
  ]);
  assert.equal(doc.config, {
    Entrypoint: ['/usr/bin/app'],
    Cmd: ['--serve'],
    Env: ['ALPHA=a=b', `PATH=${DEFAULT_PATH}`, 'ZED=1'],
    ExposedPorts: { '53/udp': {}, '8080/tcp': {}, '9090/tcp': {} },
    Healthcheck: { Test: ['CMD', '/usr/bin/app', 'ping'], Interval: 30e9, Timeout: 5e9, Retries: 3 },
    Labels: {
      'build.note': 'x',
      'org.imgsdk.id': 'example/app',
      'org.imgsdk.key': opts.key,
      'org.opencontainers.image.title': 'app',
    },
    User: '1000',
    Volumes: { '/data': {} },
    WorkingDir: '/srv',
  });
});

test('the same input gives the same bytes; any change gives another digest', () => {
  const a = imageConfig(def({ cmd: ['x'] }), opts);
  assert.equal(imageConfig(def({ cmd: ['x'] }), opts), a);
  assert.is.not(imageConfig(def({ cmd: ['y'] }), opts).digest, a.digest);
  assert.is.not(imageConfig(def({ cmd: ['x'] }), { ...opts, created: 0 }).digest, a.digest);
  assert.is.not(imageConfig(def({ cmd: ['x'] }), { ...opts, diffIds: [D2, D1] }).digest, a.digest);
  assert.is.not(imageConfig(def({ cmd: ['x'] }), { ...opts, arch: 'arm64' }).digest, a.digest);
});

test('an env PATH replaces the default; unset fields are left out', () => {
  const doc = JSON.parse(imageConfig(def({ env: { PATH: '/bin' } }), { ...opts, diffIds: [D1] }).json);
  assert.equal(doc.config.Env, ['PATH=/bin']);
  assert.equal(Object.keys(doc.config).sort(), ['Env', 'Labels']);
});

test('history can be given per layer and must match the layer count', () => {
  const doc = JSON.parse(imageConfig(def(), { ...opts, history: [{ createdBy: 'imgsdk example/base' }, { comment: 'app' }] }).json);
  assert.equal(
    doc.history.map((h: { created_by: string; comment?: string }) => [h.created_by, h.comment]),
    [
      ['imgsdk example/base', undefined],
      ['imgsdk', 'app'],
    ],
  );
  assert.throws(() => imageConfig(def(), { ...opts, history: [{}] }), /2 layers/);
});

test('user names resolve through the accounts; root, nobody and numbers need none', () => {
  assert.is(resolveUser('x', 'root', []), '0:0');
  assert.is(resolveUser('x', 'nobody', []), '65534:65534');
  assert.is(resolveUser('x', '1234', []), '1234');
  assert.is(resolveUser('x', '1234:5', []), '1234:5');
  // A name is its uid alone: the runtime takes its groups, the supplementary ones too, from the image's files.
  assert.is(resolveUser('x', 'app', [app]), '1000');
  assert.is(resolveUser('x', 'app', [app, { ...app, uid: 2000 }]), '2000'); // later wins
  assert.is(resolveUser('x', 'app:nobody', [app]), '1000:65534');
  assert.is(resolveUser('x', 'nobody', [{ ...app, user: 'nobody', uid: 99, gid: 99 }]), '99');
  assert.throws(
    () => resolveUser('example/app', 'ghost', [app]),
    (e: unknown) => e instanceof BuildError && /example\/app: user "ghost"/.test((e as Error).message),
  );
  assert.throws(() => resolveUser('x', 'app:', [app]), /not a name/);
});

test('the manifest lists config and layers with their media types', () => {
  const m = imageManifest(D1, 123, [{ digest: D2, size: 456, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }]);
  assert.equal(JSON.parse(m.json), {
    config: { digest: D1, mediaType: 'application/vnd.oci.image.config.v1+json', size: 123 },
    layers: [{ digest: D2, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: 456 }],
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    schemaVersion: 2,
  });
  assert.is(m.json, canonicalJson(JSON.parse(m.json)));
  assert.is(m.digest, sha256Digest(m.json));
  assert.is(m.size, Buffer.byteLength(m.json));
});

test('passwd and group always hold root and nobody, then the accounts by id, later wins', () => {
  const accounts: AccountDef[] = [
    { user: 'web', uid: 2000, group: 'web', gid: 2000, home: '/srv', shell: '' },
    app,
    { ...app, home: '/opt/app' },
  ];
  assert.is(
    renderPasswd(accounts),
    'root:x:0:0:root:/root:/sbin/nologin\n' +
      'app:x:1000:1001:app:/opt/app:/sbin/nologin\n' +
      'web:x:2000:2000:web:/srv:/sbin/nologin\n' +
      'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n',
  );
  assert.is(renderGroup(accounts), 'root:x:0:\napp:x:1001:\nweb:x:2000:\nnobody:x:65534:\n');
  assert.is(renderPasswd([]), 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n');
  assert.throws(() => renderPasswd([{ ...app, home: '/a:b' }]), /contains ':'/);
});

test('nsswitch.conf reads accounts from files and hosts from files, then DNS', () => {
  assert.is(renderNsswitch(), 'passwd: files\ngroup: files\nhosts: files dns\n');
});

test.run();
