#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is compiled TypeScript (`npm run build`, run by `npm ci` through `prepare`).
require('../dist/src/cli/main.js').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err && err.message ? err.message : err); process.exitCode = 1; },
);
