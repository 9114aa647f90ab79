import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseMarks, phase1Steps } from '../../../src/runtime/phase1/run';

const t0 = 1_000_000;
const tsv = (marks: [string, number][]) => marks.map(([n, ms]) => `${n}\t${t0 + ms}`).join('\n') + '\n';

test("the script's marks become durations: the container until the first, each step until the next, the stream and the finish after the run", () => {
  const marks = parseMarks(
    tsv([
      ['setup', 500],
      ['apt-update', 700],
      ['setup', 3700],
      ['files', 3800],
      ['apt-download', 4000],
      ['apt-install', 6000],
      ['files', 9000],
      ['rootfs-tar', 9500],
      ['end', 9900],
    ]),
    t0,
    t0 + 10_000,
  );
  const steps = Object.fromEntries(phase1Steps(marks, t0, t0 + 12_000, t0 + 12_500));
  assert.equal(steps, {
    container: 500 + 100,
    setup: 200 + 100,
    'apt-update': 3000,
    files: 200 + 500,
    'apt-download': 2000,
    'apt-install': 3000,
    'rootfs-tar': 400,
    stream: 2000,
    finish: 500,
  });
});

test('the durations add up to the whole of phase 1', () => {
  const marks = parseMarks(
    tsv([
      ['setup', 10],
      ['apt-update', 20],
      ['end', 90],
    ]),
    t0,
    t0 + 100,
  );
  const total = phase1Steps(marks, t0, t0 + 150, t0 + 170).reduce((n, [, ms]) => n + ms, 0);
  assert.is(total, 170);
});

test("marks outside the container's lifetime (another clock) are not believed: the whole run is the container's", () => {
  const skewed = parseMarks(
    tsv([
      ['setup', -60_000],
      ['end', -50_000],
    ]),
    t0,
    t0 + 10_000,
  );
  assert.equal(phase1Steps(skewed, t0, t0 + 11_000, t0 + 11_500), [
    ['container', 10_000],
    ['stream', 1000],
    ['finish', 500],
  ]);
});

test('a script that marks nothing (Gentoo) is timed as one container step; unknown names and broken lines are ignored', () => {
  assert.equal(phase1Steps(parseMarks('', t0, t0 + 5000), t0, t0 + 5000, t0 + 5000), [
    ['container', 5000],
    ['stream', 0],
    ['finish', 0],
  ]);
  const marks = parseMarks(`bogus\t${t0 + 5}\nsetup\tnot-a-time\nsetup\t${t0 + 10}\n`, t0, t0 + 100);
  assert.equal(
    marks.map(([n]) => n),
    ['setup', 'end'],
  );
});

test.run();
