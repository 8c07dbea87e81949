#!/usr/bin/env bash
# `node`, but the project's LTS (see scripts/lib/node.sh) or a clear refusal: the npm scripts
# that run JavaScript themselves (bench, chaos) go through this rather than whichever `node` is
# first on PATH.
set -euo pipefail
source "$(dirname "$0")/lib/node.sh"
use_lts_node
exec "$NODE" "$@"
