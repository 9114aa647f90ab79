import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../src/contract/errors';
import { debian } from '../../src/sdk/builder';
import { image } from '../../src/sdk/image';
import { assemble } from '../../src/sdk/synth';
import { checkImageId } from '../../src/sdk/validate';

const deb = debian.builder('acme/bookworm', { suite: 'bookworm' });

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.problems.map((p) => `${p.id.length > 60 ? '<long>' : p.id}: ${p.message}`);
    throw e;
  }
  return [];
}

test('an image id of up to 255 characters is taken; a longer one is refused at synth, naming its length', () => {
  const ok = `acme/${'a'.repeat(250)}`;
  assert.is(ok.length, 255);
  assert.is(checkImageId(ok), null);
  const long = `acme/${'a'.repeat(251)}`;
  assert.match(checkImageId(long)!, /is 256 characters long; a registry takes repository names of at most 255$/);
});

test('a 2000-character id is one problem at synth, not ENAMETOOLONG at deploy', () => {
  const id = `acme/${'x'.repeat(1995)}`;
  const found = problems(() => assemble(image(id).builder(deb).user('nobody'), { epoch: 0 }));
  assert.equal(found.length, 1, found.join('\n'));
  assert.match(found[0], /^<long>: "acme\/x+…x+" is 2000 characters long/);
  assert.ok(found[0].length < 200, 'the message does not repeat the whole id');
});

test('a long parent or copy-source id given as a string is refused too', () => {
  const id = `acme/${'p'.repeat(300)}`;
  const found = problems(() =>
    assemble(
      image('acme/child')
        .builder(deb)
        .from(id)
        .copy({ from: id, paths: ['/x'] })
        .user('nobody'),
      { epoch: 0 },
    ),
  );
  assert.ok(found.filter((p) => p.includes('305 characters long')).length >= 2, found.join('\n'));
});

test('a builder id whose image name (imgsdk-builder/<id>) would pass 255 characters is refused', () => {
  const b = debian.builder(`acme/${'b'.repeat(236)}`, { suite: 'bookworm' });
  const found = problems(() => assemble(image('acme/x').builder(b).user('nobody'), { epoch: 0 }));
  assert.ok(
    found.some((p) => p.includes('241 characters long; a builder id takes at most 240')),
    found.join('\n'),
  );
  assert.equal(
    problems(() =>
      assemble(
        image('acme/x')
          .builder(debian.builder(`acme/${'b'.repeat(235)}`, { suite: 'bookworm' }))
          .user('nobody'),
        { epoch: 0 },
      ),
    ),
    [],
  );
});

test.run();
