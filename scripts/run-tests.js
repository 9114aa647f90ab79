#!/usr/bin/env node
// Runs the uvu suites (test/, the examples' and the constructs package's own tests), streaming their output,
// and closes with one plain line, "N passed, N failed, N skipped", that any CI
// reader understands. An optional argument filters test files by pattern.
'use strict';
const { spawn } = require('node:child_process');
const { join } = require('node:path');

const uvu = join(__dirname, '..', 'node_modules', 'uvu', 'bin.js');
const pattern = process.argv[2] || '.test.ts';
const suites = ['test', 'examples', 'constructs'];

function run(dir) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [uvu, '-r', 'ts-node/register', dir, pattern], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      out = (out + d.toString()).slice(-4096);
    });
    child.on('close', (code) => {
      const num = (label) => Number((out.match(new RegExp(`${label}:\\s+(\\d+)`)) || [])[1] || 0);
      resolve({ code, total: num('Total'), passed: num('Passed'), skipped: num('Skipped') });
    });
  });
}

(async () => {
  let passed = 0,
    failed = 0,
    skipped = 0,
    bad = false;
  for (const dir of suites) {
    const r = await run(dir);
    passed += r.passed;
    skipped += r.skipped;
    const f = r.total - r.passed - r.skipped;
    // A file that crashed before uvu counted anything still fails the run.
    failed += r.code !== 0 && f === 0 ? 1 : f;
    bad = bad || r.code !== 0;
  }
  process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  process.exitCode = bad || failed ? 1 : 0;
})();
