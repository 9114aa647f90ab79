/**
 * The error contract: every code imgsdk throws is in ERROR_CODES with its exit code
 * and meaning, the classes map to the exit codes the CLI returns, and the sites that
 * used to throw plain Errors (or a UsageError from inside a build) throw a class and
 * code of the map, naming what failed.
 */
import { Graph } from '@dagrejs/graphlib';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AssemblyError,
  BuildError,
  CancelledError,
  ERROR_CODES,
  EngineError,
  FetchError,
  ImgsdkError,
  LockError,
  RootfsError,
  UnavailableError,
  UsageError,
  ValidationError,
  exitCodeOf,
  isRetryable,
  type ErrorCode,
} from '../../src/contract/errors';
import { platformInfo } from '../../src/contract/platform';
import { builderConfig } from '../../src/runtime/phase1/builders/foreign';
import { snapshotSource } from '../../src/runtime/phase1/builders/portage-snapshot';
import { parseLatest } from '../../src/runtime/phase1/builders/stage3';
import { purge } from '../../src/runtime/rootfs/purge';
import { levels } from '../../src/sdk/graph';
import { parsePretend } from '../../src/sdk/portage/lock';

const SRC = join(__dirname, '..', '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every code literal given to an error class in src/: `new ImgsdkError('X'`, `new FetchError('X'`, `super('X'`. */
function codesUsed(): Map<string, string> {
  const used = new Map<string, string>();
  for (const f of sources(SRC)) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:new (?:ImgsdkError|FetchError)|super)\(\s*'([A-Z_]+)'/g)) used.set(m[1], relative(SRC, f));
  }
  return used;
}

test('every code used in src/ is in ERROR_CODES, and every code of the map is used', () => {
  const used = codesUsed();
  assert.ok(used.size >= 15, `the reader finds the codes (${[...used.keys()].join(', ')})`);
  assert.equal(
    [...used.keys()].filter((c) => !(c in ERROR_CODES)),
    [],
  );
  assert.equal(
    Object.keys(ERROR_CODES).filter((c) => !used.has(c)),
    [],
  );
});

test('every code has an exit code and a one-line meaning', () => {
  for (const [code, { exit, meaning }] of Object.entries(ERROR_CODES)) {
    assert.ok(Number.isInteger(exit) && exit > 0 && exit < 256, code);
    assert.ok(meaning.length > 10 && !meaning.includes('\n'), code);
  }
});

test('a code outside the map does not type-check', () => {
  // @ts-expect-error 'BUIDL' is not an ErrorCode (tsconfig.check.json fails if this line compiles)
  const e = new ImgsdkError('BUIDL', 'typo');
  const code: ErrorCode = 'BUILD';
  assert.is(new ImgsdkError(code, 'x').code, 'BUILD');
  assert.is(e.message, 'typo');
});

test('exit codes per class: usage 2, cancelled 130, every other error 1, anything else 1', () => {
  assert.is(new UsageError('x').exitCode, 2);
  assert.is(new CancelledError().exitCode, 130);
  for (const e of [
    new ValidationError([{ id: 'a/b', message: 'm' }]),
    new AssemblyError('x'),
    new EngineError('x'),
    new BuildError('a/b', 'x'),
    new RootfsError('x'),
    new LockError('x'),
    new FetchError('FETCH', 'x'),
    new FetchError('INTEGRITY', 'x'),
    new ImgsdkError('INTERNAL', 'x'),
  ]) {
    assert.instance(e, ImgsdkError);
    assert.is(e.exitCode, 1, e.name);
    assert.is(exitCodeOf(e), 1);
  }
  assert.is(exitCodeOf(new UsageError('x')), 2);
  assert.is(exitCodeOf(new Error('plain')), 1);
  assert.is(exitCodeOf('a string'), 1);
});

test('retryable failures: an engine or registry that does not answer or answers 5xx/429, an interruption, a dependency not in the cache yet', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5000'), { code: 'ECONNREFUSED' });
  const retryable: [string, unknown][] = [
    ['unavailable', new UnavailableError('acme/web: acme/base is not in the registry cache yet')],
    ['interrupted', new CancelledError('acme/web: cancelled')],
    ['engine unreachable', new EngineError('cannot connect to the engine at unix:///var/run/docker.sock')],
    ['engine 500', new EngineError('no space left on device', { statusCode: 500 })],
    ['engine 429', new EngineError('too many requests', { statusCode: 429 })],
    ['fetch failed, refused', new TypeError('fetch failed', { cause: refused })],
    ['DNS not yet', Object.assign(new Error('getaddrinfo EAI_AGAIN registry'), { code: 'EAI_AGAIN' })],
    ['undici socket', Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })],
    [
      'registry 503 in the cache',
      new BuildError('acme/web', 'registry cache: GET manifest k.build: HTTP 503 unavailable', { phase: 'cache' }),
    ],
    [
      'a build failing because its engine went away',
      new BuildError('acme/web', 'phase 1 failed', { cause: new EngineError('socket hang up') }),
    ],
  ];
  for (const [what, e] of retryable) assert.ok(isRetryable(e), what);
  const permanent: [string, unknown][] = [
    ['bad definition', new ValidationError([{ id: 'acme/web', message: 'USE flag "+ipv 6" is not a flag' }])],
    ['usage', new UsageError('--platform "sparc" is not a platform imgsdk knows')],
    ['package missing', new BuildError('acme/web', 'E: Unable to locate package nginx-lite', { phase: 'phase1' })],
    ['link check', new RootfsError('acme/web: /usr/sbin/nginx needs libpcre2-8.so.0, which no layer has')],
    ['engine 404', new EngineError('no such image', { statusCode: 404 })],
    ['registry refuses a manifest', new BuildError('acme/web', 'registry cache: GET manifest k.build: HTTP 400 bad', { phase: 'cache' })],
    ['a 503 outside the cache', new BuildError('acme/web', 'the app answered HTTP 503 in its health check')],
    ['a forged cache entry', new BuildError('acme/web', 'registry cache entry r/acme/web:k.build: carries key f…', { phase: 'cache' })],
    ['a plain error', new Error('boom')],
    ['nothing', undefined],
  ];
  for (const [what, e] of permanent) assert.not.ok(isRetryable(e), what);
  assert.is(new UnavailableError('x').exitCode, 75, 'EX_TEMPFAIL');
});

test('no module of src/ throws a plain Error (only Testing assertions and errno-style engine errors do)', () => {
  const allowed = new Set(['sdk/testing.ts', 'runtime/engine/light.ts', 'runtime/engine/watch.ts']);
  const plain = sources(SRC)
    .filter((f) => !allowed.has(relative(SRC, f).split('\\').join('/')))
    .flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .map((l, i) => [relative(SRC, f), i + 1, l] as const),
    )
    .filter(([, , l]) => /\bnew Error\(/.test(l))
    .map(([f, n]) => `${f}:${n}`);
  assert.equal(plain, []);
});

test('runtime/rootfs/purge: an unknown keep category is a RootfsError (exit 1) naming the image, not a UsageError', () => {
  try {
    purge([], { image: 'acme/web', keep: ['header'], purge: [] });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, RootfsError);
    assert.not.instance(e, UsageError);
    assert.is((e as RootfsError).exitCode, 1);
    assert.match((e as Error).message, /^acme\/web: unknown purge category in keep: header \(known: docs, /);
  }
});

test('runtime/phase1/builders/stage3: a latest-stage3 file without a stage3 line is a FETCH error', () => {
  assert.throws(
    () => parseLatest('# nothing\n'),
    (e: unknown) => e instanceof FetchError && e.code === 'FETCH' && /no "<date>\/stage3-/.test(e.message),
  );
});

test('runtime/phase1/builders/portage-snapshot: a snapshot that is no date, latest or image is an AssemblyError naming it', () => {
  assert.throws(
    () => snapshotSource('yesterday', 'https://distfiles.gentoo.org'),
    (e: unknown) => e instanceof AssemblyError && /portage snapshot "yesterday"/.test(e.message),
  );
});

test('runtime/phase1/builders/foreign: a builder change imgsdk cannot write into a config is an INTERNAL error', () => {
  assert.throws(
    () => builderConfig(['RUN true'], 'linux/arm64', `sha256:${'0'.repeat(64)}`),
    (e: unknown) => e instanceof ImgsdkError && e.code === 'INTERNAL' && /change "RUN true"/.test(e.message),
  );
});

test('contract/platform: platformInfo of an unknown platform is a PLATFORM error listing the known ones', () => {
  assert.throws(
    () => platformInfo('linux/s390x'),
    (e: unknown) =>
      e instanceof ImgsdkError && e.code === 'PLATFORM' && /unknown platform "linux\/s390x" \(known: linux\/amd64/.test(e.message),
  );
});

test('sdk/portage/lock: emerge output that cannot be read is a LockError quoting the line', () => {
  assert.throws(
    () => parsePretend('[ebuild  N     ] not-an-atom  USE="x"\n'),
    (e: unknown) => e instanceof LockError && /cannot read the package of: \[ebuild/.test(e.message),
  );
});

test('sdk/graph: levels of a cycle is an INTERNAL error naming an image on it', () => {
  const g = new Graph();
  g.setEdge('a/one', 'a/two');
  g.setEdge('a/two', 'a/one');
  assert.throws(
    () => levels(g, ['a/one', 'a/two']),
    (e: unknown) => e instanceof ImgsdkError && e.code === 'INTERNAL' && /a\/(one|two) is on a dependency cycle/.test(e.message),
  );
});

test.run();
