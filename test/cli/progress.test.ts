import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Progress } from '../../src/cli/progress';

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: () => string } {
  let buf = '';
  return { isTTY, columns: 100, write: (s: string) => ((buf += s), true), text: () => buf } as unknown as NodeJS.WriteStream & {
    text: () => string;
  };
}

test('without a TTY each change is one plain line, logs only with verbose', () => {
  const out = fakeStream(false);
  const p = new Progress(out, false);
  p.event({ type: 'queued', id: 'a/b' });
  p.event({ type: 'building', id: 'a/b', phase: 'phase1', reason: 'no image a/b:123 in the engine' });
  p.event({ type: 'log', id: 'a/b', line: 'imgsdk: apt-get update' });
  p.event({ type: 'failed', id: 'a/b', error: 'a/b: link check failed:\n  usr/bin/x needs libz.so.1' });
  p.finish();
  assert.is(out.text(), 'a/b: queued\na/b: building (phase1) — no image a/b:123 in the engine\na/b: failed — a/b: link check failed:\n');
});

test('the reason is said once: at phase 1, or at the pipeline when phase 1 came from the cache', () => {
  const out = fakeStream(false);
  const p = new Progress(out, false);
  p.event({ type: 'building', id: 'a/b', phase: 'phase1', reason: 'packages' });
  p.event({ type: 'building', id: 'a/b', phase: 'pipeline', reason: 'packages' });
  p.event({ type: 'building', id: 'c/d', phase: 'pipeline', reason: 'files changed (/etc/app.conf)' });
  p.event({ type: 'building', id: 'c/d', phase: 'phase2', reason: 'files changed (/etc/app.conf)' });
  p.finish();
  assert.is(
    out.text(),
    'a/b: building (phase1) — packages\na/b: checking\nc/d: checking — files changed (/etc/app.conf)\nc/d: building (phase2)\n',
  );
});

test('on a TTY the last state is drawn once when finished, with the time the build took', () => {
  const out = fakeStream(true);
  const ci = process.env.CI;
  delete process.env.CI;
  try {
    const p = new Progress(out, false);
    p.event({ type: 'queued', id: 'a/b' });
    p.event({ type: 'done', id: 'a/b', digest: 'sha256:1', size: 1, reason: 'x' });
    p.finish();
    p.finish();
    const lines = out
      .text()
      .replace(/\x1b\[[0-9;]*[AJ]/g, '')
      .split('\n')
      .filter((l) => l.includes('done'));
    assert.ok(lines.length >= 1);
    assert.match(lines[lines.length - 1], /a\/b\s+done\s+0s/);
    assert.is(out.text().split('done').length - 1, lines.length, 'finish twice draws once');
  } finally {
    if (ci !== undefined) process.env.CI = ci;
  }
});

test("waiting for another deploy's lock is said without verbose, with who holds it", () => {
  const out = fakeStream(false);
  const p = new Progress(out, false);
  p.event({
    type: 'waiting',
    id: '-',
    holder: 'pid 42 ("imgsdk deploy")',
    line: 'waiting for pid 42 ("imgsdk deploy") to release /s/lock',
  });
  p.finish();
  assert.is(out.text(), 'imgsdk: waiting for pid 42 ("imgsdk deploy") to release /s/lock\n');
});

test('a builder being made is said without verbose, its own output is not, and ready says how long it took', () => {
  const out = fakeStream(false);
  const p = new Progress(out, false);
  p.event({ type: 'building', id: 'a/b', phase: 'builder', reason: 'new' });
  p.event({
    type: 'log',
    id: 'a/b',
    line: 'builder acme/bookworm: bootstrapping bookworm (minbase) with mmdebstrap from http://deb.debian.org/debian',
  });
  p.event({ type: 'log', id: 'a/b', line: 'mmdebstrap: I: downloading packages with apt...' });
  p.event({ type: 'log', id: 'a/b', line: 'builder acme/bookworm: imgsdk-builder/acme-bookworm:0123456789ab ready' });
  p.finish();
  const lines = out.text().trim().split('\n');
  assert.equal(lines.slice(0, 2), [
    'a/b: building (builder)',
    'a/b: builder acme/bookworm: bootstrapping bookworm (minbase) with mmdebstrap from http://deb.debian.org/debian',
  ]);
  assert.match(lines[2], /^a\/b: builder acme\/bookworm: imgsdk-builder\/acme-bookworm:0123456789ab ready \(\d+ s\)$/);
  assert.is(lines.length, 3);
});

test('the build of one platform of a multi-platform image names the platform', () => {
  const out = fakeStream(false);
  const p = new Progress(out, false);
  p.event({ type: 'building', id: 'a/jq', phase: 'phase1', reason: 'new', platform: 'linux/amd64' });
  p.event({ type: 'building', id: 'a/jq', phase: 'phase1', reason: 'new', platform: 'linux/arm64' });
  p.event({ type: 'building', id: 'a/jq', phase: 'pipeline', reason: 'new', platform: 'linux/arm64' });
  p.finish();
  assert.is(
    out.text(),
    'a/jq: building (phase1, linux/amd64) — new\na/jq: building (phase1, linux/arm64) — new\na/jq: checking (linux/arm64)\n',
  );
});

test("a warning of the build (setuid removed from a named package's file) is said without verbose, naming the image", () => {
  const out = fakeStream(false);
  const p = new Progress(out, false);
  const line =
    "setuid removed from /usr/bin/sudo (package sudo, which the image names): it may refuse to run without; .keep('setuid') keeps it";
  p.event({ type: 'warning', id: 'acme/admin', line });
  p.event({ type: 'log', id: 'acme/admin', line: 'a log line, said only when verbose' });
  p.finish();
  assert.is(out.text(), `imgsdk deploy: warning: acme/admin: ${line}\n`);
});

test.run();
