#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is compiled TypeScript (`npm run build`, run by `npm ci` through `prepare`).
// One-shot commands exit as soon as they are done, even if a client library (a Redis reconnect
// timer while Redis is down) would keep the event loop alive; `start` ends on its own.
require('../dist/src/cli/main.js').main(process.argv.slice(2)).then(
  (code) => {
    if (process.argv[2] === 'start') process.exitCode = code;
    else process.exit(code);
  },
  (err) => {
    console.error(err && err.message ? err.message : err);
    process.exit(1);
  },
);
