import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { app, type AppInput } from '../../src/sdk/app';
import { debian } from '../../src/sdk/builder';
import { buildGraph, builderNode, dependenciesOf, descendantsOf, findCycles, levels } from '../../src/sdk/graph';
import { image } from '../../src/sdk/image';
import { dependents } from '../../src/sdk/lock';
import { resolveApp } from '../../src/sdk/resolve';
import { assemble } from '../../src/sdk/synth';

const deb = debian.builder('acme/bookworm', { from: 'debian:bookworm-slim' });
const other = debian.builder('acme/trixie', { suite: 'trixie', from: 'debian:trixie-slim' });

/** The graph of an app, resolved but not validated, so cycles can be in it. */
function graphOf(...inputs: AppInput[]) {
  const r = resolveApp(app(...inputs));
  return { g: buildGraph(r.images, r.builders), ids: [...r.images.keys()] };
}

const a = image('acme/a').builder(deb);
const b = image('acme/b').from(a);
const c = image('acme/c').from(b);

test('a chain has one image per level, in order', () => {
  const { g, ids } = graphOf(c);
  assert.equal(levels(g, ids), [['acme/a'], ['acme/b'], ['acme/c']]);
  assert.equal(assemble(c).manifest.order, [['acme/a'], ['acme/b'], ['acme/c']]);
});

test('a fan has the base alone, then every child in one sorted level', () => {
  const kids = ['acme/k3', 'acme/k1', 'acme/k2'].map((id) => image(id).from(a));
  const { g, ids } = graphOf(kids);
  assert.equal(levels(g, ids), [['acme/a'], ['acme/k1', 'acme/k2', 'acme/k3']]);
});

test('a diamond through .copy() puts the join one level below both sides', () => {
  const left = image('acme/left').from(a);
  const right = image('acme/right').from(a).packages('curl');
  const join = image('acme/join')
    .from(left)
    .copy({ from: right, paths: ['/usr/bin/curl'] });
  const { g, ids } = graphOf(join);
  assert.equal(levels(g, ids), [['acme/a'], ['acme/left', 'acme/right'], ['acme/join']]);
  assert.equal(dependenciesOf(g, 'acme/join'), ['acme/left', 'acme/right']);
  assert.equal(
    g
      .edges()
      .filter((e) => e.w === 'acme/join')
      .map((e) => [e.v, e.name])
      .sort(),
    [
      ['acme/left', 'parent'],
      ['acme/right', 'copy:acme/right'],
      [builderNode('acme/bookworm'), 'builder'],
    ].sort(),
  );
});

test('a level is decided by the longest path, not the shortest', () => {
  const late = image('acme/late')
    .from(a)
    .copy({ from: c, paths: ['/x'] });
  const { g, ids } = graphOf(late);
  assert.equal(levels(g, ids), [['acme/a'], ['acme/b'], ['acme/c'], ['acme/late']]);
});

test('dependsOn lists parent and copy sources, never builders, sorted and once', () => {
  const twice = image('acme/twice')
    .from(b)
    .copy({ from: b, paths: ['/x'] })
    .copy({ from: a, paths: ['/y'] });
  const m = assemble(twice).manifest;
  assert.equal(m.images['acme/twice'].dependsOn, ['acme/a', 'acme/b']);
  assert.equal(m.images['acme/b'].dependsOn, ['acme/a']);
  assert.equal(m.images['acme/a'].dependsOn, []);
});

test('builders are nodes with an edge to every image that uses them, also an inherited builder', () => {
  const solo = image('acme/solo').builder(other);
  const { g } = graphOf(c, solo);
  assert.equal(g.successors(builderNode('acme/bookworm'))!.sort(), ['acme/a', 'acme/b', 'acme/c']);
  assert.equal(g.successors(builderNode('acme/trixie')), ['acme/solo']);
  assert.equal(g.node(builderNode('acme/trixie')), { kind: 'builder', id: 'acme/trixie' });
  assert.equal(g.node('acme/solo'), { kind: 'image', id: 'acme/solo' });
});

test('an image id equal to a builder id is still two nodes', () => {
  const same = image('acme/bookworm').builder(deb);
  const { g } = graphOf(same);
  assert.ok(g.hasNode('acme/bookworm') && g.hasNode(builderNode('acme/bookworm')));
  assert.equal(levels(g, ['acme/bookworm']), [['acme/bookworm']]);
});

test('descendantsOf follows parent and copy edges', () => {
  const user = image('acme/user')
    .builder(deb)
    .copy({ from: b, paths: ['/x'] });
  const { g } = graphOf(c, user);
  assert.equal(descendantsOf(g, 'acme/a'), ['acme/b', 'acme/c', 'acme/user']);
  assert.equal(descendantsOf(g, 'acme/c'), []);
});

test('dependents (over a manifest) is descendantsOf (over the graph) plus the image itself: one walk', () => {
  const user = image('acme/user')
    .builder(deb)
    .copy({ from: b, paths: ['/x'] });
  const { g } = graphOf(c, user);
  const { manifest } = assemble(app(c, user));
  for (const id of ['acme/a', 'acme/b', 'acme/c', 'acme/user'])
    assert.equal(dependents(manifest, [id]), [id, ...descendantsOf(g, id)].sort(), id);
});

test('findCycles is empty for a DAG and names each cycle through from and copy', () => {
  assert.equal(findCycles(graphOf(c).g), []);
  const { g } = graphOf(
    image('acme/x').builder(deb).from('acme/y'),
    image('acme/y').from('acme/x'),
    image('acme/p')
      .builder(deb)
      .copy({ from: 'acme/q', paths: ['/q'] }),
    image('acme/q')
      .builder(deb)
      .copy({ from: 'acme/r', paths: ['/r'] }),
    image('acme/r').builder(deb).from('acme/p'),
    image('acme/self')
      .builder(deb)
      .copy({ from: 'acme/self', paths: ['/s'] }),
  );
  const cycles = findCycles(g).sort((m, n) => (m[0] < n[0] ? -1 : 1));
  assert.equal(cycles, [['acme/p', 'acme/q', 'acme/r'], ['acme/self'], ['acme/x', 'acme/y']]);
});

test.run();
