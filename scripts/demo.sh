#!/usr/bin/env bash
# `npm run demo`: runs case-intake against the machine's PostgreSQL and Redis with the demo
# directory and the embedded development SMTP server (no mailbox), sends a few sample messages,
# shows the resulting cases, then keeps the service running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO_DB=case_intake_demo
DIRECTORY_FILE=fixtures/directory.json
LOG_DIR=.tmp
LOG_FILE="$LOG_DIR/demo.log"

export NODE_ENV=development
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DEMO_DB"
export REDIS_URL=redis://127.0.0.1:6379
export IMAP_URL=
export DEV_SMTP_LISTEN=127.0.0.1:2525
export SMTP_URL=smtp://127.0.0.1:2525
export SUPPORT_ADDRESS=support@support.example.com
export HOST=127.0.0.1
export PORT=3000
export PUBLIC_URL=http://127.0.0.1:3000
export API_TOKEN=demo-api-token-change-me
export QUEUE_PREFIX=case-intake-demo
DEMO_STAFF_EMAIL=demo@support.example.com
DEMO_STAFF_PASSWORD=demo-password-change-me

say() { printf '\n==> %s\n' "$*"; }

# --- 1. dependencies and build --------------------------------------------------------------
if [ ! -d node_modules ]; then
  say "installing npm packages (npm ci, which also builds)"
  if ! npm ci --no-audit --no-fund; then
    # npm ci refuses a package-lock.json that lacks other platforms' optional binaries;
    # npm install takes the same locked versions (and builds through `prepare` too).
    say "npm ci failed; trying npm install"
    npm install --no-audit --no-fund
  fi
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

for port in 3000 2525; do
  if port_busy "$port"; then
    echo "Port $port on 127.0.0.1 is already in use (an earlier demo still running?). Stop that process and try again." >&2
    exit 1
  fi
done

# --- 3. the demo database, schema and directory ---------------------------------------------
say "preparing database $DEMO_DB"
if command -v psql >/dev/null; then
  if [ "$(psql -h 127.0.0.1 -U postgres -d postgres -Atqc "select 1 from pg_database where datname = '$DEMO_DB'")" != 1 ]; then
    psql -h 127.0.0.1 -U postgres -d postgres -qc "create database $DEMO_DB"
    echo "created database $DEMO_DB"
  fi
else
  node -e '
    const { Client } = require("pg");
    const name = process.argv[1];
    const c = new Client({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres" });
    (async () => {
      await c.connect();
      const r = await c.query("select 1 from pg_database where datname = $1", [name]);
      if (!r.rowCount) { await c.query(`create database ${name}`); console.log(`created database ${name}`); }
      await c.end();
    })().catch((e) => { console.error(`cannot create database ${name}: ${e.message}`); process.exit(1); });
  ' "$DEMO_DB"
fi
node bin/case-intake.js migrate
node bin/case-intake.js directory import "$DIRECTORY_FILE"
# A staff account for the dashboard (demo only: a fixed password printed below).
echo "$DEMO_STAFF_PASSWORD" | node bin/case-intake.js staff add "$DEMO_STAFF_EMAIL"

# --- 4. the service, stopped with the demo ----------------------------------------------------
mkdir -p "$LOG_DIR"
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
trap 'stop_service' EXIT
trap 'stop_service; exit 130' INT
trap 'stop_service; exit 143' TERM

say "starting case-intake (log: $LOG_FILE)"
node bin/case-intake.js start >>"$LOG_FILE" 2>&1 &
SERVICE_PID=$!

healthy() {
  node -e '
    fetch("http://127.0.0.1:3000/healthz").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));
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
    echo "case-intake did not answer on http://127.0.0.1:3000/healthz within 30 s; see $LOG_FILE" >&2
    exit 1
  fi
  sleep 0.5
done

# --- 5. sample mail and what to look at -------------------------------------------------------
say "sending sample messages to $SUPPORT_ADDRESS through SMTP $DEV_SMTP_LISTEN"
node scripts/send-sample.js
sleep 1
newest=$(node -e '
  fetch("http://127.0.0.1:3000/api/cases?limit=1", { headers: { authorization: "Bearer " + process.env.API_TOKEN } })
    .then((r) => r.json()).then((j) => console.log(j.cases[0]?.reference ?? "CASE-000001"), () => console.log("CASE-000001"));
')

cat <<EOF

==> case-intake is running (pid $SERVICE_PID)

Dashboard:     http://127.0.0.1:3000/dashboard   (sign in as $DEMO_STAFF_EMAIL / $DEMO_STAFF_PASSWORD)
Outbound mail: http://127.0.0.1:3000/dev/mail   (signed in as staff: the approval requests for the
               held cases are there; click Authorize in one, then look at the case list again)
Health:       curl -s http://127.0.0.1:3000/healthz
Cases:        curl -s -H 'Authorization: Bearer $API_TOKEN' http://127.0.0.1:3000/api/cases
  held only:  curl -s -H 'Authorization: Bearer $API_TOKEN' 'http://127.0.0.1:3000/api/cases?status=suspended&limit=20'
One case:     curl -s -H 'Authorization: Bearer $API_TOKEN' http://127.0.0.1:3000/api/cases/$newest
              (pipe any of these into jq . to pretty-print)
Log:          tail -f $LOG_FILE

Newest cases (earlier demo runs' cases stay in the database; see them with --list --limit 50):
EOF
node scripts/send-sample.js --list --limit 5

cat <<EOF

Send more mail (to $SUPPORT_ADDRESS, through the development SMTP server on $DEV_SMTP_LISTEN):
  node scripts/send-sample.js --from someone@acme.test --subject "Disk full on prod"
  node scripts/send-sample.js --from bob@acme.test --cc acme-dev@support.example.com --attach README.md
  swaks --server $DEV_SMTP_LISTEN --to $SUPPORT_ADDRESS --from gina@globex.test   (or any SMTP client)
  DATABASE_URL=$DATABASE_URL QUEUE_PREFIX=$QUEUE_PREFIX node bin/case-intake.js ingest < fixtures/intake/with-attachments.eml
Then:  node scripts/send-sample.js --list

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
