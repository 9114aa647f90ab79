'use strict';
// Preloaded with `node -r` by synth.bench.ts when /usr/bin/time is missing: writes
// "<peak RSS KiB> <user s> <system s>" (as `time -f '%M %U %S'` does) to
// $IMGSDK_BENCH_MAXRSS at exit.
const { writeFileSync } = require('node:fs');
const file = process.env.IMGSDK_BENCH_MAXRSS;
if (file) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(file, `${u.maxRSS} ${u.userCPUTime / 1e6} ${u.systemCPUTime / 1e6}\n`);
  });
}
