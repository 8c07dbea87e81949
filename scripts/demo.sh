#!/usr/bin/env bash
# `npm run demo`: runs case-intake against the machine's PostgreSQL and Redis with the demo
# directory and the embedded development SMTP server (no mailbox), on a database and Redis
# prefix made afresh for each run, sends a few sample messages, shows the resulting cases and a
# tour, then keeps the service running until Ctrl-C (or SIGTERM/SIGINT to npm or this script).
#
# Environment (the defaults are what the README describes; tests run a demo of their own):
#   DEMO_PORT (3000), DEMO_SMTP_PORT (2525), DEMO_DATABASE (case_intake_demo),
#   DEMO_QUEUE_PREFIX (case-intake-demo), DEMO_LOG_FILE (.tmp/demo.log)
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO_DB=${DEMO_DATABASE:-case_intake_demo}
DEMO_PORT=${DEMO_PORT:-3000}
DEMO_SMTP_PORT=${DEMO_SMTP_PORT:-2525}
DIRECTORY_FILE=fixtures/directory.json
LOG_FILE=${DEMO_LOG_FILE:-.tmp/demo.log}

export NODE_ENV=development
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DEMO_DB"
export REDIS_URL=redis://127.0.0.1:6379
export IMAP_URL=
export DEV_SMTP_LISTEN="127.0.0.1:$DEMO_SMTP_PORT"
export SMTP_URL="smtp://127.0.0.1:$DEMO_SMTP_PORT"
export SUPPORT_ADDRESS=support@support.example.com
export HOST=127.0.0.1
export PORT=$DEMO_PORT
export PUBLIC_URL="http://127.0.0.1:$DEMO_PORT"
export API_TOKEN=demo-api-token-change-me
export QUEUE_PREFIX=${DEMO_QUEUE_PREFIX:-case-intake-demo}
DEMO_STAFF_EMAIL=demo@support.example.com
DEMO_STAFF_PASSWORD=demo-password-change-me

say() { printf '\n==> %s\n' "$*"; }

# --- 1. dependencies and build --------------------------------------------------------------
if [ ! -d node_modules ]; then
  say "installing npm packages (npm ci, which also builds)"
  npm ci --no-audit --no-fund
elif [ ! -f dist/src/cli/main.js ] || [ -n "$(find src migrations -newer dist/.tsbuildinfo -print -quit 2>/dev/null || echo stale)" ]; then
  say "building (npm run build)"
  npm run --silent build
fi

# --- 2. PostgreSQL and Redis must already be running ----------------------------------------
pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_up() {
  # A PING over a plain TCP connection, so redis-cli is not needed.
  local reply
  reply=$( (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && IFS= read -r -t 2 line <&3 && printf '%s' "$line") 2>/dev/null || true)
  [[ "$reply" == "+PONG"* ]]
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

missing=0
if ! pg_up; then
  missing=1
  pg_version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1 || true)
  cat >&2 <<EOF
PostgreSQL is not reachable on 127.0.0.1:5432. Start it, then run the demo again:
  Debian:  pg_ctlcluster --skip-systemctl-redirect ${pg_version:-<version>} main start   (or: systemctl start postgresql)
  Docker:  docker compose up -d postgres
The demo connects as user "postgres" without a password (trust); set PGPASSWORD if yours needs one.
EOF
fi
if ! redis_up; then
  missing=1
  cat >&2 <<'EOF'
Redis is not reachable on 127.0.0.1:6379. Start it, then run the demo again:
  Debian:  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no   (or: systemctl start redis-server)
  Docker:  docker compose up -d redis
EOF
fi
[ "$missing" -eq 0 ] || exit 1

source scripts/lib/node.sh
use_lts_node

for port in "$DEMO_PORT" "$DEMO_SMTP_PORT"; do
  if port_busy "$port"; then
    echo "Port $port on 127.0.0.1 is already in use (an earlier demo still running?). Stop that process and try again, or choose other ports with DEMO_PORT and DEMO_SMTP_PORT." >&2
    exit 1
  fi
done

# --- 3. the demo database, schema and directory ---------------------------------------------
# Afresh each run: the same sample mail then makes the same held cases and approval requests
# (the captured mail lives in the service's memory, so an earlier run's links are gone anyway).
say "preparing database $DEMO_DB and Redis prefix $QUEUE_PREFIX (made afresh for every run)"
"$NODE" scripts/demo-reset.js "$DEMO_DB" "$QUEUE_PREFIX"
# `directory import` applies the migrations first.
"$NODE" bin/case-intake.js directory import "$DIRECTORY_FILE"
# A staff account for the dashboard (demo only: a fixed password printed below).
echo "$DEMO_STAFF_PASSWORD" | "$NODE" bin/case-intake.js staff add "$DEMO_STAFF_EMAIL"

# --- 4. the service, stopped with the demo ----------------------------------------------------
mkdir -p "$(dirname "$LOG_FILE")"
: >"$LOG_FILE"
SERVICE_PID=

stop_service() {
  local pid=$SERVICE_PID
  SERVICE_PID=
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    echo
    echo "stopping case-intake (pid $pid)..."
    kill -TERM "$pid" 2>/dev/null || true
    # Graceful stop waits for in-flight jobs; give it 15 s, then insist.
    for _ in $(seq 1 75); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "case-intake did not stop within 15 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}
# On Ctrl-C or SIGTERM (to this script, or to npm, which passes it on: package.json's `exec`
# makes this script npm's child) stop the service, then die of the same signal, as a program
# stopped by it does: npm then ends quietly instead of reporting a failed script.
trap 'stop_service' EXIT
trap 'stop_service; trap - INT; kill -INT $$' INT
trap 'stop_service; trap - TERM; kill -TERM $$' TERM

say "starting case-intake (log: $LOG_FILE)"
"$NODE" bin/case-intake.js start >>"$LOG_FILE" 2>&1 &
SERVICE_PID=$!

healthy() {
  "$NODE" -e '
    fetch(process.env.PUBLIC_URL + "/healthz").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));
  '
}
for i in $(seq 1 60); do
  if ! kill -0 "$SERVICE_PID" 2>/dev/null; then
    echo "case-intake exited during start; the end of its log:" >&2
    tail -n 30 "$LOG_FILE" >&2
    exit 1
  fi
  healthy && break
  if [ "$i" -eq 60 ]; then
    echo "case-intake did not answer on $PUBLIC_URL/healthz within 30 s; see $LOG_FILE" >&2
    exit 1
  fi
  sleep 0.5
done

# --- 5. sample mail and what to look at -------------------------------------------------------
say "sending sample messages to $SUPPORT_ADDRESS through SMTP $DEV_SMTP_LISTEN"
"$NODE" scripts/send-sample.js
sleep 1
newest=$("$NODE" -e '
  fetch(process.env.PUBLIC_URL + "/api/cases?limit=1", { headers: { authorization: "Bearer " + process.env.API_TOKEN } })
    .then((r) => r.json()).then((j) => console.log(j.cases[0]?.reference ?? "CASE-000001"), () => console.log("CASE-000001"));
')

cat <<EOF

==> case-intake is running (pid $SERVICE_PID) on a fresh database: the tour below works on every run

A tour:
  1. Dashboard    $PUBLIC_URL/dashboard
                  sign in as $DEMO_STAFF_EMAIL / $DEMO_STAFF_PASSWORD: the cases, held ones first
  2. Mail         $PUBLIC_URL/dev/mail   (signed in as in 1)
                  the mail the service sent, kept by its development SMTP server until it stops
  3. Authorize    there, open "[CASE-000003] Authorize dave@acme.test to open cases for Acme
                  Production?" (sent to Bob, Acme Production's administrator), click Authorize,
                  then Authorize on the page it opens: CASE-000003 opens on the dashboard
  4. Portal       $PUBLIC_URL/portal/login
                  sign in as alice@acme.test (Acme's company admin; no password): her link arrives
                  in the mail of 2 ("Your sign-in link for the support portal"); click "Sign in to
                  the support portal" in it, then Sign in. She sees every Acme case; a held one
                  offers Authorize and Ignore on its page

API and log:
  Health:     curl -s $PUBLIC_URL/healthz
  Cases:      curl -s -H 'Authorization: Bearer $API_TOKEN' $PUBLIC_URL/api/cases
    held:     curl -s -H 'Authorization: Bearer $API_TOKEN' '$PUBLIC_URL/api/cases?status=suspended&limit=20'
  One case:   curl -s -H 'Authorization: Bearer $API_TOKEN' $PUBLIC_URL/api/cases/$newest
              (pipe any of these into jq . to pretty-print)
  Log:        tail -f $LOG_FILE

The cases (the next run starts again from an empty database):
EOF
"$NODE" scripts/send-sample.js --list --limit 5

sample="node scripts/send-sample.js"
if [ "$DEMO_PORT" != 3000 ] || [ "$DEMO_SMTP_PORT" != 2525 ]; then
  sample="DEV_SMTP_LISTEN=$DEV_SMTP_LISTEN PORT=$PORT $sample"
fi
cat <<EOF

Send more mail (to $SUPPORT_ADDRESS, through the development SMTP server on $DEV_SMTP_LISTEN):
  $sample --from someone@acme.test --subject "Disk full on prod"
  $sample --from bob@acme.test --cc acme-dev@support.example.com --attach README.md
  swaks --server $DEV_SMTP_LISTEN --to $SUPPORT_ADDRESS --from gina@globex.test   (or any SMTP client)
  DATABASE_URL=$DATABASE_URL QUEUE_PREFIX=$QUEUE_PREFIX npx case-intake ingest < fixtures/intake/with-attachments.eml
Then:  $sample --list

Press Ctrl-C to stop.
EOF

# Keep running until Ctrl-C (the trap stops the service) or until the service exits by itself.
set +e
wait "$SERVICE_PID"
status=$?
set -e
if [ -n "$SERVICE_PID" ]; then
  SERVICE_PID=
  echo "case-intake exited with status $status; the end of its log:" >&2
  tail -n 20 "$LOG_FILE" >&2
  exit "$status"
fi
