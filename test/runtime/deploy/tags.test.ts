import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Manifest } from '../../../src/contract/assembly';
import type { Engine, ImageInfo } from '../../../src/runtime/engine/engine';
import { pruneKeyTags, retag } from '../../../src/runtime/deploy/tags';

/** An engine that holds tags in memory: tag → image id. */
function tagEngine(tags: Record<string, string>) {
  const removed: string[] = [];
  const info = (id: string): ImageInfo => ({
    id,
    repoTags: Object.keys(tags)
      .filter((t) => tags[t] === id)
      .sort(),
    labels: {},
    size: 0,
  });
  const engine = {
    async inspectImage(ref: string) {
      const id = tags[ref] ?? (Object.values(tags).includes(ref) ? ref : null);
      return id ? info(id) : null;
    },
    async tagImage(id: string, repo: string, tag: string) {
      tags[`${repo}:${tag}`] = id;
    },
    async removeImage(ref: string) {
      removed.push(ref);
      delete tags[ref];
      return true;
    },
  } as unknown as Engine;
  return { engine, tags, removed };
}

const KEY = 'a'.repeat(64);
const OLD = 'b'.repeat(64);
const manifest = (key: string, platforms?: Record<string, string>) =>
  ({
    images: {
      'acme/web': {
        key,
        ...(platforms
          ? { platforms: Object.fromEntries(Object.entries(platforms).map(([p, k]) => [p, { key: k, builderKey: '', inputs: {} }])) }
          : {}),
      },
    },
  }) as unknown as Manifest;

test('a deploy takes the key tags of keys the image no longer has off it, and leaves latest, the current key and other repositories alone', async () => {
  const { engine, tags, removed } = tagEngine({
    'acme/web:latest': 'sha256:1',
    [`acme/web:${KEY.slice(0, 12)}`]: 'sha256:1',
    [`acme/web:${OLD.slice(0, 12)}`]: 'sha256:1',
    'acme/web:v1': 'sha256:1',
    [`acme/other:${OLD.slice(0, 12)}`]: 'sha256:1',
    [`acme/web:${'c'.repeat(12)}`]: 'sha256:2',
  });
  const lines: string[] = [];
  const gone = await pruneKeyTags(engine, manifest(KEY), 'acme/web', 'sha256:1', (l) => lines.push(l));
  assert.equal(gone, [`acme/web:${OLD.slice(0, 12)}`]);
  assert.equal(removed, gone);
  assert.equal(Object.keys(tags).sort(), [
    'acme/other:bbbbbbbbbbbb',
    'acme/web:aaaaaaaaaaaa',
    'acme/web:cccccccccccc',
    'acme/web:latest',
    'acme/web:v1',
  ]);
  assert.match(lines[0], 'untagged acme/web:bbbbbbbbbbbb');
});

test('the key tags of every platform of a multi-platform image stay', async () => {
  const arm = 'd'.repeat(64);
  const { engine, removed } = tagEngine({ [`acme/web:${KEY.slice(0, 12)}`]: 'sha256:1', [`acme/web:${arm.slice(0, 12)}`]: 'sha256:1' });
  assert.equal(
    await pruneKeyTags(engine, manifest(KEY, { 'linux/amd64': KEY, 'linux/arm64': arm }), 'acme/web', 'sha256:1', () => undefined),
    [],
  );
  assert.equal(removed, []);
});

test('retag puts each tag on the image once and says so', async () => {
  const { engine, tags } = tagEngine({ 'acme/web:latest': 'sha256:0' });
  const lines: string[] = [];
  await retag(engine, 'sha256:1', ['acme/web:latest', 'acme/web:v1'], (l) => lines.push(l));
  await retag(engine, 'sha256:1', ['acme/web:latest', 'acme/web:v1'], (l) => lines.push(l));
  assert.is(tags['acme/web:latest'], 'sha256:1');
  assert.equal(lines, ['tagged acme/web:latest', 'tagged acme/web:v1']);
});

test.run();
