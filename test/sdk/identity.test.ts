/**
 * Identity across copies of imgsdk: a construct library may depend on its own copy,
 * so an Image, App or Builder is recognized by a Symbol.for brand (Image.isImage, as
 * constructs' Construct.isConstruct), never by which class made it; an installed
 * copy is never redirected to another. Needs dist/ (`npx tsc -p tsconfig.json`).
 */
import Module from 'node:module';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { App, app } from '../../src/sdk/app';
import { Builder } from '../../src/sdk/builder';
import { Image, image } from '../../src/sdk/image';
import { loadApp } from '../../src/sdk/load';
import { assemble } from '../../src/sdk/synth';

const ROOT = resolve(__dirname, '..', '..');
type Sdk = typeof import('../../src/index');

/** A copy of imgsdk installed at `dir/node_modules/imgsdk`: its own files (dist/ copied), so its own classes. */
function installCopy(dir: string): string {
  const pkg = join(dir, 'node_modules', 'imgsdk');
  mkdirSync(pkg, { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  cpSync(join(ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
  return pkg;
}

let work: string;
let other: Sdk;

test.before(() => {
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is not built: run `npx tsc -p tsconfig.json`');
  work = mkdtempSync(join(tmpdir(), 'imgsdk-identity-'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  other = require(installCopy(join(work, 'other'))) as Sdk;
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test('an image of another copy of imgsdk is an Image here: isImage and instanceof, though the classes differ', () => {
  const theirs = other.image('lib/base');
  assert.is.not(other.Image, Image, 'two copies, two classes');
  assert.ok(Image.isImage(theirs));
  assert.ok(theirs instanceof Image);
  assert.ok(other.Image.isImage(image('app/web')));
  assert.not.ok(Image.isImage({ id: 'a/b' }), 'a look-alike is not an image');
  assert.not.ok(Image.isImage(null) || Image.isImage('a/b'));
});

test('apps and builders of another copy are recognized the same way', () => {
  assert.ok(App.isApp(other.app(other.image('lib/a'))) && other.app() instanceof App);
  assert.ok(Builder.isBuilder(other.debian.builder('lib/bookworm', { suite: 'bookworm' })));
  assert.not.ok(App.isApp(image('a/b')) || Builder.isBuilder(image('a/b')));
});

test("synth of this copy takes another copy's images as roots, parents and apps", () => {
  const deb = other.debian.builder('lib/bookworm', { suite: 'bookworm' });
  const base = other.image('lib/base').builder(deb).packages('ca-certificates');
  const web = image('app/web').from(base).packages('nginx-light');
  const asm = assemble(other.app(web));
  assert.equal([...asm.images.keys()].sort(), ['app/web', 'lib/base']);
  assert.is(asm.images.get('app/web')!.parent, 'lib/base');
  assert.is(asm.images.get('app/web')!.builder, 'lib/bookworm');
  assert.equal(assemble(app(web)).manifest, asm.manifest);
});

test("loadApp: an app whose construct library has its own copy of imgsdk keeps both copies (an installed imgsdk wins over imgsdk's fallback)", () => {
  const proj = join(work, 'project');
  installCopy(proj);
  const lib = join(proj, 'node_modules', 'team-bases');
  mkdirSync(lib, { recursive: true });
  writeFileSync(join(lib, 'package.json'), JSON.stringify({ name: 'team-bases', version: '1.0.0', main: 'index.js' }));
  writeFileSync(
    join(lib, 'index.js'),
    "const { debian, image } = require('imgsdk');\nexports.base = image('team/base').builder(debian.builder('team/bookworm', { suite: 'bookworm' })).packages('tzdata');\n",
  );
  installCopy(lib); // the library's own copy, at node_modules/team-bases/node_modules/imgsdk
  writeFileSync(
    join(proj, 'images.ts'),
    "import { image } from 'imgsdk';\nimport { base } from 'team-bases';\nexport const api = image('team/api').from(base).packages('curl');\n",
  );
  const theApp = loadApp(proj);
  const [api] = theApp.roots;
  assert.is(api.id, 'team/api');
  assert.ok(Image.isImage(api) && api instanceof Image);
  const parent = api.state.parent as Image;
  assert.ok(Image.isImage(parent));
  const classes = new Set([api.constructor, parent.constructor, Image]);
  assert.is(classes.size, 3, "the app's, the library's and this copy's Image are three classes");
  assert.is(Module.createRequire(join(lib, 'index.js')).resolve('imgsdk'), join(lib, 'node_modules', 'imgsdk', 'dist', 'index.js'));
  const asm = assemble(theApp);
  assert.equal([...asm.images.keys()].sort(), ['team/api', 'team/base']);
  assert.is(asm.images.get('team/api')!.builder, 'team/bookworm');
});

test('loadApp: an app in a folder with no imgsdk installed imports this copy (the fallback when Node finds none)', () => {
  const bare = join(work, 'bare');
  mkdirSync(bare);
  writeFileSync(join(bare, 'images.ts'), "import { image } from 'imgsdk';\nexport const one = image('bare/one').packages('hello');\n");
  assert.equal(
    loadApp(bare).roots.map((i) => i.id),
    ['bare/one'],
  );
});

test.run();
