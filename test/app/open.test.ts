/**
 * Opening an app: every default read in one place. The assembly and the state
 * directory sit beside the app (as CDK keeps cdk.out beside cdk.json), whatever the
 * working directory; flags and IMGSDK_OUTDIR / IMGSDK_STATE_DIR name directories
 * relative to the working directory.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assembleApp, findApp, locate, openAssembly } from '../../src/app/open';
import { outDirOf, stateDirOf, stateDirOfAssembly } from '../../src/contract/defaults';
import { UsageError } from '../../src/contract/errors';

const APP = `
import { debian, image } from 'imgsdk';
const deb = debian.builder('open/bookworm', { suite: 'bookworm' });
export const note = image('open/note').builder(deb).file('/note.txt', 'x\\n').user('nobody');
`;

function project(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'imgsdk-app-open-'));
  writeFileSync(join(dir, 'images.ts'), APP);
  mkdirSync(join(dir, 'scripts'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs `f` with the working directory at `dir`. */
async function inDir<T>(dir: string, f: () => T | Promise<T>): Promise<T> {
  const was = process.cwd();
  process.chdir(dir);
  try {
    return await f();
  } finally {
    process.chdir(was);
  }
}

test('the out dir, state dir and lock file default beside the app, from any working directory', async () => {
  const p = project();
  try {
    const expected = {
      appFile: join(p.dir, 'images.ts'),
      appDir: p.dir,
      outDir: join(p.dir, 'imgsdk.out'),
      stateDir: join(p.dir, '.imgsdk'),
      lockFile: join(p.dir, 'imgsdk.lock'),
      epoch: undefined,
    };
    assert.equal(await inDir(p.dir, () => locate({}, {})), expected);
    assert.equal(await inDir(join(p.dir, 'scripts'), () => locate({ app: '..' }, {})), expected);
    assert.equal(await inDir(tmpdir(), () => locate({ app: join(p.dir, 'images.ts') }, {})), expected);
  } finally {
    p.remove();
  }
});

test('flags and environment variables name directories relative to the working directory; a flag wins', async () => {
  const p = project();
  try {
    const cwd = join(p.dir, 'scripts');
    const env = { IMGSDK_OUTDIR: 'env-out', IMGSDK_STATE_DIR: 'env-state', SOURCE_DATE_EPOCH: '1700000000' };
    const byEnv = await inDir(cwd, () => locate({ app: '..' }, env));
    assert.is(byEnv.outDir, join(cwd, 'env-out'));
    assert.is(byEnv.stateDir, join(cwd, 'env-state'));
    assert.is(byEnv.epoch, 1700000000);
    const byFlag = await inDir(cwd, () => locate({ app: '..', out: 'o', state: 's', lock: 'l.lock' }, env));
    assert.equal([byFlag.outDir, byFlag.stateDir, byFlag.lockFile], [join(cwd, 'o'), join(cwd, 's'), join(cwd, 'l.lock')]);
  } finally {
    p.remove();
  }
});

test('a bad SOURCE_DATE_EPOCH is a usage error naming the variable', () => {
  assert.throws(
    () => locate({}, { SOURCE_DATE_EPOCH: 'yesterday' }),
    (e: Error) => e instanceof UsageError && /SOURCE_DATE_EPOCH/.test(e.message),
  );
});

test('an assembly directory as --app: it is the out dir, the state directory sits beside it, and --lock is refused', async () => {
  const p = project();
  try {
    const opened = await inDir(p.dir, () => openAssembly({}, {}));
    assert.is(opened.assembly.dir, join(p.dir, 'imgsdk.out'));
    assert.ok(opened.assembly.manifest.images['open/note']);
    const at = await inDir(tmpdir(), () => locate({ app: join(p.dir, 'imgsdk.out') }, {}));
    assert.equal(at, {
      appFile: null,
      appDir: p.dir,
      outDir: join(p.dir, 'imgsdk.out'),
      stateDir: join(p.dir, '.imgsdk'),
      lockFile: null,
      epoch: undefined,
    });
    assert.throws(() => locate({ app: join(p.dir, 'imgsdk.out'), lock: 'x.lock' }, {}), /--lock and --frozen-lock apply to an app/);
  } finally {
    p.remove();
  }
});

test('assembleApp assembles in memory and writes nothing', async () => {
  const p = project();
  try {
    const r = await inDir(join(p.dir, 'scripts'), () => assembleApp({ app: '..' }, {}));
    assert.equal(Object.keys(r.assembly.manifest.images), ['open/note']);
    assert.ok(r.assembly.manifest.sources?.['images.ts'], 'the app file is named relative to the app, not to the working directory');
    assert.is(locate({ app: p.dir }, {}).outDir, join(p.dir, 'imgsdk.out'));
    const { existsSync } = await import('node:fs');
    assert.not.ok(existsSync(join(p.dir, 'imgsdk.out')));
  } finally {
    p.remove();
  }
});

test('clean finds the app: --app, else ./images.ts, else the assembly in ./imgsdk.out, else none', async () => {
  const p = project();
  const empty = mkdtempSync(join(tmpdir(), 'imgsdk-app-none-'));
  try {
    assert.is((await inDir(p.dir, () => findApp({}, {})))?.appFile, join(p.dir, 'images.ts'));
    assert.is(await inDir(empty, () => findApp({}, {})), null);
    await inDir(p.dir, () => openAssembly({}, {}));
    rmSync(join(p.dir, 'images.ts'));
    const at = await inDir(p.dir, () => findApp({}, {}));
    assert.equal([at?.appFile, at?.outDir, at?.stateDir], [null, join(p.dir, 'imgsdk.out'), join(p.dir, '.imgsdk')]);
  } finally {
    p.remove();
    rmSync(empty, { recursive: true, force: true });
  }
});

test('the defaults module: beside the app unless the environment says otherwise', () => {
  assert.is(outDirOf('/src/web', {}), '/src/web/imgsdk.out');
  assert.is(stateDirOf('/src/web', {}), '/src/web/.imgsdk');
  assert.is(stateDirOfAssembly('/src/web/imgsdk.out', {}), '/src/web/.imgsdk');
  assert.is(stateDirOfAssembly('', {}), join(process.cwd(), '.imgsdk'), 'an assembly in memory: the working directory');
  assert.is(stateDirOf('/src/web', { IMGSDK_STATE_DIR: '/var/cache/imgsdk' }), '/var/cache/imgsdk');
  assert.is(outDirOf('/src/web', { IMGSDK_OUTDIR: 'out' }), resolve('out'));
});

test('without --app the nearest images.ts here or above is the app, with its assembly, state and lock beside it', async () => {
  const p = project();
  try {
    mkdirSync(join(p.dir, 'web', 'src'), { recursive: true });
    const at = await inDir(join(p.dir, 'web', 'src'), () => locate({}, {}));
    assert.equal(
      [at.appFile, at.outDir, at.stateDir, at.lockFile],
      [join(p.dir, 'images.ts'), join(p.dir, 'imgsdk.out'), join(p.dir, '.imgsdk'), join(p.dir, 'imgsdk.lock')],
    );
    assert.is(await inDir(join(p.dir, 'scripts'), () => findApp({}, {})?.appFile), join(p.dir, 'images.ts'));
    // A nearer images.ts wins over one further up.
    writeFileSync(join(p.dir, 'web', 'images.ts'), APP);
    assert.is(await inDir(join(p.dir, 'web', 'src'), () => locate({}, {}).appFile), join(p.dir, 'web', 'images.ts'));
  } finally {
    p.remove();
  }
});

test.run();
