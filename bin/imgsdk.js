#!/usr/bin/env node
'use strict';
// Node 22.1+ keeps the compiled code of the CLI's modules between runs (a no-op deploy
// is mostly start-up); older runtimes have no such call and compile as always.
const mod = require('node:module');
if (typeof mod.enableCompileCache === 'function') mod.enableCompileCache();
// The command's work is done when main settles: a timer or socket that images.ts left
// open must not keep the process alive after it printed its result.
require('../dist/cli/main.js')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exit(code);
  });
