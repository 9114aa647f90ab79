import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IgnoreRules, parseIgnoreFile } from '../../src/sdk/ignore';

const ignored = (patterns: string[], paths: string[]) => paths.filter((p) => new IgnoreRules(patterns).ignores(p));

test('a .dockerignore file gives one pattern a line, without comments and blank lines', () => {
  assert.equal(parseIgnoreFile('# deps\n\nnode_modules\r\n  *.log  \n!keep.log\n'), ['node_modules', '*.log', '!keep.log']);
});

test('* and ? stay within one component, and a bare name matches only at the root', () => {
  const paths = ['a.log', 'src/a.log', 'ab.txt', 'a.txt'];
  assert.equal(ignored(['*.log'], paths), ['a.log']);
  assert.equal(ignored(['?.txt'], paths), ['a.txt']);
  assert.equal(ignored(['src/*.log'], paths), ['src/a.log']);
});

test('** spans any number of components, none included', () => {
  const paths = ['a.log', 'src/a.log', 'src/deep/b.log', 'src/x.js'];
  assert.equal(ignored(['**/*.log'], paths), ['a.log', 'src/a.log', 'src/deep/b.log']);
  assert.equal(ignored(['src/**'], paths), ['src/a.log', 'src/deep/b.log', 'src/x.js']);
});

test('a pattern that matches a directory leaves out everything below it', () => {
  assert.equal(ignored(['node_modules'], ['node_modules', 'node_modules/x/index.js', 'lib/node_modules/y']), [
    'node_modules',
    'node_modules/x/index.js',
  ]);
});

test('! re-includes, and the last pattern that matches decides', () => {
  const paths = ['a.log', 'keep.log', 'b.txt'];
  assert.equal(ignored(['*.log', '!keep.log'], paths), ['a.log']);
  assert.equal(ignored(['!keep.log', '*.log'], paths), ['a.log', 'keep.log'], 'an exception before the pattern changes nothing');
  assert.ok(new IgnoreRules(['*.log', '!keep.log']).hasExceptions);
  assert.not.ok(new IgnoreRules(['*.log']).hasExceptions);
});

test('leading slashes, ./ and .. are cleaned as Docker cleans them; escapes and classes work', () => {
  assert.equal(ignored(['/build', './dist/', 'x/../tmp'], ['build', 'dist/a', 'tmp', 'x']), ['build', 'dist/a', 'tmp']);
  assert.equal(ignored(['\\*.md', '[ab].js'], ['*.md', 'x.md', 'a.js', 'c.js']), ['*.md', 'a.js']);
  assert.equal(ignored(['file.[!a]s'], ['file.js', 'file.as']), ['file.js']);
});

test.run();
