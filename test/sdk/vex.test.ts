import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { debian } from '../../src/sdk/builder';
import { image } from '../../src/sdk/image';
import { Testing } from '../../src/sdk/testing';
import { vexDocument } from '../../src/runtime/image/sign/ship';

const deb = debian.builder('acme/bookworm', { suite: 'bookworm' });
const base = image('acme/web').builder(deb).packages('nginx-light').user('nobody').entrypoint('/usr/sbin/nginx');

test('.vex() records OpenVEX statements, the vulnerability and products normalized, calls adding up', () => {
  const img = base
    .vex({ vulnerability: 'CVE-2023-4911', status: 'not_affected', justification: 'vulnerable_code_not_in_execute_path' })
    .vex({
      '@context': 'https://openvex.dev/ns/v0.2.0',
      statements: [{ vulnerability: { name: 'CVE-2024-1' }, status: 'fixed', products: ['pkg:oci/web'] }],
    } as never);
  const def = Testing.synth(img).image('acme/web').def;
  assert.equal(def.vex, [
    { vulnerability: { name: 'CVE-2023-4911' }, status: 'not_affected', justification: 'vulnerable_code_not_in_execute_path' },
    { vulnerability: { name: 'CVE-2024-1' }, status: 'fixed', products: [{ '@id': 'pkg:oci/web' }] },
  ]);
});

test('VEX statements are not part of the key: they describe the image, they do not change it', () => {
  const plain = Testing.synth(base).image('acme/web').key;
  const withVex = Testing.synth(base.vex({ vulnerability: 'CVE-2023-4911', status: 'fixed' })).image('acme/web').key;
  assert.is(withVex, plain);
});

test('a statement OpenVEX would reject is a problem at its call site: status, justification, action', () => {
  const problems = (i: ReturnType<typeof image>) => i.state.problems.map((p) => p.message);
  assert.equal(problems(base.vex({ vulnerability: 'CVE-1', status: 'maybe' as never })), [
    '.vex(): CVE-1: status "maybe" is not one of not_affected, affected, fixed, under_investigation',
  ]);
  assert.match(problems(base.vex({ vulnerability: 'CVE-1', status: 'not_affected' }))[0], /not_affected needs a justification/);
  assert.match(
    problems(base.vex({ vulnerability: 'CVE-1', status: 'not_affected', justification: 'trust me' }))[0],
    /justification "trust me" is not one of/,
  );
  assert.match(problems(base.vex({ vulnerability: 'CVE-1', status: 'affected' }))[0], /affected needs an action_statement/);
  assert.match(problems(base.vex({ status: 'fixed' } as never))[0], /names no vulnerability/);
});

test('the attested OpenVEX document is about the pushed image unless a statement names its products', () => {
  const digest = `sha256:${'ab'.repeat(32)}`;
  const doc = vexDocument(
    '127.0.0.1:5000/acme/web',
    digest,
    [
      { vulnerability: { name: 'CVE-1' }, status: 'fixed' },
      { vulnerability: { name: 'CVE-2' }, status: 'fixed', products: [{ '@id': 'pkg:oci/other' }] },
    ],
    1700000000,
  );
  assert.is(doc['@context'], 'https://openvex.dev/ns/v0.2.0');
  assert.is(doc.timestamp, '2023-11-14T22:13:20.000Z');
  assert.equal(
    doc.statements.map((s) => s.products),
    [[{ '@id': `pkg:oci/web@sha256%3A${'ab'.repeat(32)}?repository_url=127.0.0.1%3A5000%2Facme%2Fweb` }], [{ '@id': 'pkg:oci/other' }]],
  );
});

test.run();
