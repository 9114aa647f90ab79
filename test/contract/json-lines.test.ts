import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsonLines, pathKey } from '../../src/contract/json-lines';

test('jsonLines gives the line each value starts on, by path', () => {
  const text = JSON.stringify({ a: 1, b: { c: ['x', { d: null }] }, 'e\n"': true }, null, 2);
  const r = jsonLines(text);
  assert.ok(r.ok);
  if (!r.ok) return;
  const line = (re: RegExp) => text.split('\n').findIndex((l) => re.test(l)) + 1;
  assert.is(r.lines.get(pathKey([])), 1);
  assert.is(r.lines.get(pathKey(['a'])), line(/"a": 1/));
  assert.is(r.lines.get(pathKey(['b', 'c', 0])), line(/"x"/));
  assert.is(r.lines.get(pathKey(['b', 'c', 1, 'd'])), line(/"d": null/));
  assert.is(r.lines.get(pathKey(['e\n"'])), line(/true/));
});

test('jsonLines accepts what JSON.parse accepts and stops where it does, with line and column', () => {
  for (const ok of ['0', '-1.5e3', '"\\u00e9\\n"', '[]', '{}', ' [1, {"a": [true, false, null]}] ']) {
    JSON.parse(ok);
    assert.ok(jsonLines(ok).ok, ok);
  }
  for (const [bad, line, column] of [
    ['{\n "a": ,\n}', 2, 7],
    ['[1,\n2', 2, 2],
    ['{"a":1} x', 1, 9],
    ['"a\tb"', 1, 3],
    ['01', 1, 2],
    ['[1,]', 1, 4],
  ] as const) {
    assert.throws(() => JSON.parse(bad));
    const r = jsonLines(bad);
    assert.not.ok(r.ok, bad);
    if (!r.ok) assert.equal([r.line, r.column], [line, column], bad);
  }
});

test.run();
