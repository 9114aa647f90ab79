import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { summary } from '../../src/cli/deploy';
import { describeLock } from '../../src/cli/lock';
import type { LockResult } from '../../src/app/lock';
import type { ImageResult } from '../../src/runtime/deploy/events';

const build = (platform: string, tags: string[]): ImageResult => ({
  id: 'a/jq',
  status: 'built',
  digest: `sha256:${platform === 'linux/amd64' ? 'a' : 'b'}`.padEnd(71, '0'),
  size: 1000,
  tags,
  cached: false,
  reason: 'new',
  platform,
});

test('a multi-platform summary names the tags of the platform the engine got, and no tag for the others', () => {
  const amd = build('linux/amd64', ['a/jq:latest', 'a/jq:0123456789ab']);
  const arm = build('linux/arm64', ['a/jq:ba9876543210']);
  const text = summary([{ ...amd, platforms: [amd, arm] }]);
  assert.match(text, /^a\/jq linux\/amd64: built sha256:a0+ \(loaded as a\/jq:latest, a\/jq:0123456789ab\)$/m);
  assert.match(
    text,
    /^a\/jq linux\/arm64: built sha256:b0+ \(not loaded \(the engine runs linux\/amd64\); in the image index that --oci and --push write\)$/m,
  );
  assert.not.match(text, /ba9876543210/);
});

test('after a deploy, the lock lines do not say what will rebuild: it was just built', () => {
  const r = {
    file: '/x/imgsdk.lock',
    written: true,
    resolved: ['a/web'],
    changes: [],
    rebuild: ['a/web'],
    previous: null,
    lock: { lockfileVersion: 1, builders: {}, images: { 'a/web': { packages: [1, 2] } } },
  } as unknown as LockResult;
  assert.match(describeLock(r), /^will rebuild: a\/web$/m);
  assert.not.match(describeLock(r, { rebuild: false }), /rebuild/);
  assert.match(describeLock(r, { rebuild: false }), /a\/web: 2 packages locked/);
});

test.run();
