#!/usr/bin/env bash
# Makes sure the server binaries `npm run chaos` starts private instances of are installed:
# redis-server and redis-cli, and PostgreSQL's initdb/pg_ctl (under /usr/lib/postgresql/*/bin).
# The chaos run stops and starts its own instances on free ports; the machine's services are
# never touched. Idempotent and silent when everything is there.
set -euo pipefail
source "$(dirname "$0")/lib/apt.sh"

missing=()
command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 || missing+=(redis-server redis-tools)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null || missing+=(postgresql)
[[ ${#missing[@]} -eq 0 ]] && exit 0

apt_install ensure-chaos-servers "${missing[@]}"
if ! command -v redis-server >/dev/null 2>&1 || ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  echo "ensure-chaos-servers: installed ${missing[*]} but redis-server or initdb is still missing." >&2
  exit 1
fi
