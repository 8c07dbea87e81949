#!/usr/bin/env bash
# The test suite, from a fresh clone: installs what is missing, starts what is not running,
# then runs the type check, the linter and jest, on the project's Node LTS, against real
# PostgreSQL, Redis, Dovecot, an SMTP capture server and a headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

# Dependencies: `npm ci` when node_modules is missing or older than the lock file. `npm ci`
# installs exactly what package-lock.json says and never writes it; a lock out of step with
# package.json is an error to fix in the commit that caused it, not something to paper over here.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

source scripts/lib/node.sh
use_lts_node
echo "node $("$NODE" -v) ($NODE)"

bash scripts/ensure-dovecot.sh
bash scripts/ensure-chromium.sh
bash scripts/ensure-services.sh

"$NODE" node_modules/.bin/tsc --noEmit -p .
"$NODE" node_modules/.bin/eslint .
"$NODE" node_modules/.bin/jest "$@"
