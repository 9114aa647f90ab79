import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bootstrapKey, builderRef, ensureDebianBuilder } from '../../../../src/runtime/phase1/builders/debian';
import { builderConfig } from '../../../../src/runtime/phase1/builders/foreign';
import type { Engine } from '../../../../src/runtime/engine/engine';
import { debian } from '../../../../src/sdk/builder';

test("a foreign builder's config names its platform and carries the import changes as config", () => {
  const c = builderConfig(
    ['ENV PATH=/usr/sbin:/usr/bin', 'CMD ["/bin/sh"]', 'LABEL org.imgsdk="1" org.imgsdk.builder="acme/bookworm" org.imgsdk.key="ab12"'],
    'linux/arm64',
    `sha256:${'a'.repeat(64)}`,
  );
  const doc = JSON.parse(c.json);
  assert.equal([doc.architecture, doc.os, doc.variant], ['arm64', 'linux', 'v8']);
  assert.equal(doc.config, {
    Env: ['PATH=/usr/sbin:/usr/bin'],
    Cmd: ['/bin/sh'],
    Labels: { 'org.imgsdk': '1', 'org.imgsdk.builder': 'acme/bookworm', 'org.imgsdk.key': 'ab12' },
  });
  assert.equal(doc.rootfs, { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] });
  assert.match(c.digest, /^sha256:[0-9a-f]{64}$/);
  assert.is(
    builderConfig(['CMD ["/bin/sh"]'], 'linux/arm64', `sha256:${'a'.repeat(64)}`).digest,
    builderConfig(['CMD ["/bin/sh"]'], 'linux/arm64', `sha256:${'a'.repeat(64)}`).digest,
  );
});

test('a change it does not understand is an error, not a silently different builder', () => {
  assert.throws(() => builderConfig(['WORKDIR /x'], 'linux/arm64', `sha256:${'a'.repeat(64)}`), /WORKDIR \/x" is not ENV, CMD or LABEL/);
});

test("a builder naming platforms, as lock and shell see it, means its host platform's builder: the one a builder naming none has", async () => {
  const plain = debian.builder('acme/bookworm', { suite: 'bookworm' }).def;
  const named = debian.builder('acme/bookworm', { suite: 'bookworm', platforms: ['linux/amd64', 'linux/arm64'] }).def;
  const ref = builderRef(plain, bootstrapKey(plain));
  const asked: string[] = [];
  // A stand-in engine that has the plain builder: reusing it must bootstrap nothing.
  const engine = {
    inspectImage: async (r: string) => (
      asked.push(r),
      r === ref ? { id: 'sha256:x', labels: { 'org.imgsdk.key': bootstrapKey(plain) } } : null
    ),
  } as unknown as Engine;
  assert.is(await ensureDebianBuilder(engine, named, {}), ref);
  assert.equal(asked, [ref]);
});

test.run();
