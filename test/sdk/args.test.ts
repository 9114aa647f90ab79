import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkArgs, describeValue } from '../../src/sdk/args';
import { debian, gentoo } from '../../src/sdk/builder';
import { Image, image, IMAGE_SIGNATURES } from '../../src/sdk/image';
import { assemble } from '../../src/sdk/synth';
import { ValidationError } from '../../src/contract/errors';

const deb = debian.builder('acme/deb', { suite: 'bookworm' });
const base = () => image('acme/args').builder(deb).packages('hello').user('nobody');

/** The problems synth reports for `img` (none: []). */
function problemsOf(img: Image): string[] {
  try {
    assemble(img);
    return [];
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    return e.message.split('\n').slice(1);
  }
}

test('checkArgs names the method, the argument, what it must be and what it was', () => {
  assert.is(checkArgs('.packages()', ['...string'], ['a', 42]), '.packages(): argument 2 must be a string, not a number (42)');
  assert.is(checkArgs('.env()', ['string', 'string'], ['A']), '.env(): argument 2 (a string) is missing');
  assert.is(checkArgs('.workdir()', ['string'], ['/a', '/b']), '.workdir(): it takes 1 argument, not 2');
  assert.is(
    checkArgs('.account()', ['{user:string,uid:integer}'], [{ user: 'a', uid: 1.5 }]),
    ".account(): argument 1's uid must be a whole number, not a number (1.5)",
  );
  assert.is(checkArgs('.user()', ['string|integer'], [7]), null);
  assert.is(checkArgs('.file()', ['string', '?object'], ['/a', undefined]), null);
  assert.is(describeValue(Symbol('x')), 'a symbol');
  assert.is(describeValue(new Map()), 'a Map');
});

test('every public method of Image has a signature', () => {
  const methods = Object.getOwnPropertyNames(Image.prototype).filter((n) => {
    const d = Object.getOwnPropertyDescriptor(Image.prototype, n)!;
    return n !== 'constructor' && typeof d.value === 'function' && !['next', 'portageNext', 'problemAt', 'hook'].includes(n);
  });
  assert.equal(
    methods.filter((m) => !(m in IMAGE_SIGNATURES)),
    [],
    'methods without a line in IMAGE_SIGNATURES',
  );
});

test('every method called from JavaScript with a wrong type in any position records a problem naming it, and never crashes', () => {
  const wrong: unknown[] = [42, null, {}, [], Symbol('s'), () => 1, 'text', true];
  let tried = 0;
  for (const [name, params] of Object.entries(IMAGE_SIGNATURES)) {
    for (let pos = 0; pos < Math.max(params.length, 1); pos++) {
      for (const bad of wrong) {
        const args: unknown[] = [];
        if (params.length === 0)
          args.push(bad); // a method that takes nothing, given something
        else args[pos] = bad;
        const call = () => (base() as unknown as Record<string, (...a: unknown[]) => Image>)[name](...args);
        let img: Image;
        try {
          img = call();
        } catch (e) {
          assert.unreachable(`.${name}(${args.map((a) => describeValue(a)).join(', ')}) threw ${(e as Error).message}`);
          return;
        }
        assert.ok(Image.isImage(img), `.${name}() returns an image`);
        const problems = problemsOf(img);
        if (checkArgs(`.${name}()`, params, args) !== null) {
          assert.ok(
            problems.some((p) => p.includes(`.${name}(): argument`) || p.includes(`.${name}(): it takes`)),
            `.${name}(${args.map(describeValue).join(', ')}): ${problems.join(' | ') || 'no problem'}`,
          );
          tried++;
        }
      }
    }
  }
  assert.ok(tried > 100, `${tried} wrong calls tried`);
});

test("the problem is at the caller's line, and the image keeps the rest of what it was given", () => {
  const img = base()
    .packages(42 as unknown as string)
    .env('A', 'b');
  const problems = problemsOf(img);
  assert.equal(problems.length, 1);
  assert.match(problems[0], /args\.test\.ts:\d+ acme\/args: \.packages\(\): argument 1 must be a string, not a number \(42\)$/);
});

test('image() and the builders take the wrong types as problems too', () => {
  assert.match(
    problemsOf(image(42 as unknown as string).builder(deb)).join('\n'),
    /image\(\): argument 1 must be a string, not a number \(42\)/,
  );
  const b = debian.builder(7 as unknown as string, 'bookworm' as unknown as object);
  assert.match(
    problemsOf(image('acme/x').builder(b).packages('hello').user('nobody')).join('\n'),
    /debian\.builder\(\): argument 1 must be a string, not a number \(7\); argument 2 must be an object/,
  );
  const g = gentoo.builder('acme/bob', { stage3: 5 } as unknown as { stage3: string });
  assert.match(
    problemsOf(image('acme/y').builder(g).packages('app-misc/jq').user('nobody')).join('\n'),
    /gentoo\.builder\(\): argument 2's stage3 must be a string, not a number \(5\)/,
  );
});

test('a lone surrogate in any text given to the SDK is refused naming the image, not silently turned into U+FFFD', () => {
  const img = base()
    .file('/etc/a\uD800b', 'x')
    .env('A', 'ok\uDC00')
    .closure({ roots: ['/usr/bin/\uD83D'] })
    .file('/etc/ok-\u{1F600}', 'a well-formed pair is fine');
  const problems = problemsOf(img);
  assert.is(problems.length, 3, problems.join('\n'));
  assert.match(problems[0], /acme\/args: \.file\(\): argument 1 holds a lone surrogate \(\\ud800 at index 6\)/);
  assert.match(problems[1], /\.env\(\): argument 2 holds a lone surrogate \(\\udc00/);
  assert.match(problems[2], /\.closure\(\): argument 1's roots\[0\] holds a lone surrogate \(\\ud83d/);
  assert.match(problemsOf(image('acme/\uDFFF')).join('\n'), /image\(\): argument 1 holds a lone surrogate/);
});

test.run();
