#!/usr/bin/env bash
# The test suite, from a fresh clone: installs what is missing, starts what is not running,
# then runs the type check, the linter and jest against real PostgreSQL, Redis, Dovecot,
# an SMTP capture server and a headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

# Dependencies: `npm ci` when node_modules is missing or older than the lock file.
# The registry reachable here serves only this platform's builds of optional native packages, so
# the lock file lacks the other platforms' entries and `npm ci` may call it out of sync;
# `npm install` then installs the same pinned versions from the lock.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund || npm install --no-audit --no-fund
fi

bash scripts/ensure-dovecot.sh
bash scripts/ensure-chromium.sh
bash scripts/ensure-services.sh

npx tsc --noEmit -p .
npx eslint .
npx jest "$@"
