import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeName, printableName } from '../../../src/runtime/rootfs/names';

const bytes = (...b: number[]) => Buffer.from(b).toString('latin1');
const utf8 = (s: string) => Buffer.from(s).toString('latin1');

test('decodeName accepts exactly valid UTF-8: U+FFFD itself yes; stray, overlong and surrogate bytes no', () => {
  assert.is(decodeName(utf8('caf\u00e9')), 'caf\u00e9');
  assert.is(decodeName(utf8('a\uFFFDb')), 'a\uFFFDb');
  assert.is(decodeName(utf8('\u{1F600}')), '\u{1F600}');
  for (const bad of [bytes(0xff), bytes(0xc0, 0xaf), bytes(0xed, 0xa0, 0x80), bytes(0xe2, 0x82), bytes(0xf4, 0x90, 0x80, 0x80)])
    assert.is(decodeName(bad), null);
});

test('printableName escapes invalid bytes, control characters and backslashes, so different names never print alike', () => {
  assert.is(printableName(utf8('usr/bin/ok')), 'usr/bin/ok');
  assert.is(printableName(utf8('caf\u00e9 \uFFFD')), 'caf\u00e9 \uFFFD');
  assert.is(printableName(bytes(0x61, 0xff)), 'a\\xff');
  assert.is(printableName(utf8('a\tb\nc\x01\x7f\\')), 'a\\tb\\nc\\x01\\x7f\\\\');
  const names = [bytes(0x61, 0xff), bytes(0x61, 0xfe), utf8('a\uFFFD'), utf8('a\\xff'), bytes(0x61, 0xed, 0xa0, 0x80)];
  assert.is(new Set(names.map(printableName)).size, names.length);
});

test.run();
