import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builderConfig } from '../../../src/runtime/builders/foreign';

test('a foreign builder\'s config names its platform and carries the import changes as config', () => {
  const c = builderConfig(['ENV PATH=/usr/sbin:/usr/bin', 'CMD ["/bin/sh"]', 'LABEL org.imgsdk="1" org.imgsdk.builder="acme/bookworm" org.imgsdk.key="ab12"'], 'linux/arm64', `sha256:${'a'.repeat(64)}`);
  const doc = JSON.parse(c.json);
  assert.equal([doc.architecture, doc.os, doc.variant], ['arm64', 'linux', 'v8']);
  assert.equal(doc.config, { Env: ['PATH=/usr/sbin:/usr/bin'], Cmd: ['/bin/sh'], Labels: { 'org.imgsdk': '1', 'org.imgsdk.builder': 'acme/bookworm', 'org.imgsdk.key': 'ab12' } });
  assert.equal(doc.rootfs, { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] });
  assert.match(c.digest, /^sha256:[0-9a-f]{64}$/);
  assert.is(builderConfig(['CMD ["/bin/sh"]'], 'linux/arm64', `sha256:${'a'.repeat(64)}`).digest, builderConfig(['CMD ["/bin/sh"]'], 'linux/arm64', `sha256:${'a'.repeat(64)}`).digest);
});

test('a change it does not understand is an error, not a silently different builder', () => {
  assert.throws(() => builderConfig(['WORKDIR /x'], 'linux/arm64', `sha256:${'a'.repeat(64)}`), /WORKDIR \/x" is not ENV, CMD or LABEL/);
});

test.run();
