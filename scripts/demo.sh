#!/usr/bin/env bash
# The demo (README): one backup of an embedded default database, end to end, on this machine,
# with the product's own defaults: the control plane in dev mode (it makes its own throwaway
# TLS certificate) storing backups in its embedded object store. Nothing else is needed.
#
#   bash scripts/demo.sh            # BACKUPY_BUILD_JOBS=N limits the build's parallel jobs
#
# Installs what is missing (scripts/setup.sh), builds the three binaries in Release
# (build/release, the directory scripts/test.sh uses, so a later test run reuses it), then, in a
# fresh work directory under /tmp:
#   demo.db          a small SQLite shop database (customers, products, orders, order_items)
#   control plane    `serve --dev`: one agent, one sqlite target -> demo.db, one job
#                    "demo-nightly", storage: local (objects/ in the work directory); it writes
#                    dev-tls/ (a throwaway CA + server certificate) and prints the CA to trust
#   agent            connects over WSS trusting that CA, receives the job
# and, with the operator CLI, runs the job now (`run --wait`), downloads the stored
# (compressed + encrypted) object (`download`), gets its decryption token (`token`), restores it
# with backupy-decrypt and checks the copy against the source (sqlite3 .dump identical). The
# work directory is kept (its path is printed); every background process is stopped when the
# script ends, however it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=$ROOT/build/release
BUILD_JOBS=${BACKUPY_BUILD_JOBS:-$(nproc)}
RUN_TIMEOUT_SEC=60
START_TIMEOUT_SEC=20

log() { printf '[demo %5.1fs] %s\n' "$(elapsed)" "$*"; }
elapsed() { awk -v s="$START_NS" -v n="$(date +%s%N)" 'BEGIN { printf "%.1f", (n - s) / 1e9 }'; }
START_NS=$(date +%s%N)

# fail MESSAGE [LOG...]: the precise reason, then the end of each log that can explain it.
fail() {
  local message=$1
  shift
  printf '\ndemo FAILED: %s\n' "$message" >&2
  local file
  for file in "$@"; do
    [[ -s $file ]] || continue
    printf -- '--- last lines of %s\n' "$file" >&2
    tail -n 20 "$file" >&2
  done
  [[ -n ${WORK:-} ]] && printf 'work directory (logs, configs): %s\n' "$WORK" >&2
  exit 1
}

# ------------------------------------------------------------------ processes --

PIDS=()
# Stops every background process this script started: SIGTERM (the agent and the control
# plane shut down gracefully), SIGKILL for whatever is still alive 5 s later.
stop_processes() {
  local pid alive=() still
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null && alive+=("$pid")
  done
  for _ in $(seq 50); do
    still=()
    for pid in "${alive[@]}"; do kill -0 "$pid" 2>/dev/null && still+=("$pid"); done
    alive=("${still[@]}")
    ((${#alive[@]} == 0)) && break
    sleep 0.1
  done
  for pid in "${alive[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_processes
  exit "$status"
}
trap cleanup EXIT
trap 'echo "demo: interrupted" >&2; exit 130' INT
trap 'echo "demo: terminated" >&2; exit 143' TERM

# wait_for_line FILE REGEX TIMEOUT_SEC PID: prints the first line of FILE matching REGEX; fails
# when PID exits first or the time is up (not_ready says which).
wait_for_line() {
  local file=$1 regex=$2 pid=$4 line deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    if line=$(grep -m1 -E "$regex" "$file" 2>/dev/null); then
      printf '%s\n' "$line"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# not_ready PID TIMEOUT_SEC: why a wait_for_line failed, for the error message.
not_ready() {
  if kill -0 "$1" 2>/dev/null; then
    echo "is still not ready after ${2}s"
  else
    local status=0
    wait "$1" 2>/dev/null || status=$?
    echo "exited (status $status)"
  fi
}

# ----------------------------------------------------------------------- JSON --

# json FIELD...: reads one JSON object on stdin, prints the fields tab-separated (missing or
# null fields print as ""). sqlite3's JSON functions: the demo needs sqlite3 anyway, and
# neither jq nor node.
json() {
  local file field columns=()
  # readfile() of the sqlite3 shell: the text never becomes part of the SQL statement.
  file=$(mktemp "${TMPDIR:-/tmp}/backupy-demo-json.XXXXXX")
  cat >"$file"
  for field in "$@"; do columns+=("coalesce(json_extract(j, '$.$field'), '')"); done
  local status=0
  sqlite3 -batch -noheader -separator $'\t' :memory: \
    "SELECT $(IFS=,; printf '%s' "${columns[*]}") FROM (SELECT CAST(readfile('$file') AS TEXT) AS j);" ||
    status=$?
  rm -f "$file"
  return "$status"
}

# cli COMMAND ARGS...: the operator CLI against the demo's control plane (BACKUPY_CP_URL and
# BACKUPY_CP_CA are exported once it runs). The admin token comes from a file, never argv.
cli() {
  "$CP_BIN" "$@" --token-file "$WORK/admin.token"
}

# api METHOD PATH OUT_FILE: the operator API, for the run's fields as JSON; body to OUT_FILE,
# HTTP status to $API_STATUS. The admin token travels in a header file, so it never shows up
# in `ps`.
api() {
  local method=$1 path=$2 out=$3
  API_STATUS=$(curl --silent --show-error --cacert "$CA_FILE" \
    --header "@$WORK/admin-auth.header" --request "$method" \
    --output "$out" --write-out '%{http_code}' "$CP_URL$path") ||
    fail "curl $method $path failed" "$WORK/cp.log"
}

# ---------------------------------------------------------------------- steps --

build() {
  log "installing missing packages (scripts/setup.sh --no-test-tools)"
  bash scripts/setup.sh --no-test-tools || fail "scripts/setup.sh failed (its message is above)"
  log "building backupy-agent, backupy-control-plane, backupy-decrypt (Release, $BUILD_DIR)"
  local cmake_log
  cmake_log=$(mktemp /tmp/backupy-demo-cmake.XXXXXX)
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$cmake_log" 2>&1 ||
    fail "cmake configure failed" "$cmake_log"
  rm -f "$cmake_log"
  ninja -C "$BUILD_DIR" -j "$BUILD_JOBS" backupy-agent backupy-control-plane backupy-decrypt ||
    fail "the build failed (ninja output above)"
  AGENT_BIN=$BUILD_DIR/apps/agent/backupy-agent
  CP_BIN=$BUILD_DIR/apps/control-plane/backupy-control-plane
  DECRYPT_BIN=$BUILD_DIR/apps/decrypt/backupy-decrypt
}

# The embedded default database: a small shop, a few thousand rows, foreign keys and indexes.
create_database() {
  DB=$WORK/demo.db
  # WAL, as most applications run SQLite: the agent must back up a live WAL database.
  sqlite3 "$DB" >/dev/null <<'SQL' || fail "sqlite3 could not create $DB"
PRAGMA journal_mode = WAL;
CREATE TABLE customers (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  email TEXT NOT NULL UNIQUE,
  country TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE products (
  id INTEGER PRIMARY KEY,
  sku TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  price_cents INTEGER NOT NULL CHECK (price_cents > 0)
);
CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers(id),
  status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'shipped', 'refunded')),
  placed_at TEXT NOT NULL
);
CREATE TABLE order_items (
  order_id INTEGER NOT NULL REFERENCES orders(id),
  product_id INTEGER NOT NULL REFERENCES products(id),
  quantity INTEGER NOT NULL CHECK (quantity > 0),
  unit_price_cents INTEGER NOT NULL,
  PRIMARY KEY (order_id, product_id)
);
CREATE INDEX orders_by_customer ON orders(customer_id);
CREATE INDEX orders_by_placed_at ON orders(placed_at);

BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
INSERT INTO customers
SELECT i,
       'Customer ' || i,
       'customer' || i || '@example.com',
       CASE i % 5 WHEN 0 THEN 'DE' WHEN 1 THEN 'FR' WHEN 2 THEN 'US' WHEN 3 THEN 'JP' ELSE 'BR' END,
       datetime('2023-01-01', '+' || (i * 7) || ' hours')
FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
INSERT INTO products
SELECT i, printf('SKU-%05d', i), 'Product ' || i, 199 + (i * 137) % 9800 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
INSERT INTO orders
SELECT i,
       1 + (i * 7919) % 1000,
       CASE i % 10 WHEN 0 THEN 'pending' WHEN 1 THEN 'refunded' WHEN 2 THEN 'paid' ELSE 'shipped' END,
       datetime('2024-01-01', '+' || (i * 97) || ' minutes')
FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000),
     k(j) AS (VALUES (0), (1), (2))
INSERT INTO order_items
SELECT n.i, 1 + (n.i * 31 + k.j * 67) % 200, 1 + (n.i + k.j) % 4,
       (SELECT price_cents FROM products WHERE id = 1 + (n.i * 31 + k.j * 67) % 200)
FROM n JOIN k ON k.j < 1 + n.i % 3;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
  SOURCE_COUNTS=$(row_counts "$DB")
}

# "table=count ..." for every table of a database, in name order.
row_counts() {
  local table counts=""
  for table in $(sqlite3 "$1" "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"); do
    counts+="$table=$(sqlite3 "$1" "SELECT count(*) FROM \"$table\"") "
  done
  printf '%s' "${counts% }"
}

# Random agent key and admin token; only their sha256 goes into the YAML, and neither is printed.
create_secrets() {
  AGENT_KEY=$(openssl rand -hex 32)
  printf '%s\n' "$AGENT_KEY" >"$WORK/agent.key"
  openssl rand -hex 32 >"$WORK/admin.token"
  printf 'Authorization: Bearer %s\n' "$(cat "$WORK/admin.token")" >"$WORK/admin-auth.header"
  AGENT_KEY_SHA256=$("$CP_BIN" hash-key <<<"$AGENT_KEY")
  ADMIN_TOKEN_SHA256=$("$CP_BIN" hash-key <"$WORK/admin.token")
  # Decryption tokens stay verifiable across restarts; the local store's URL key derives from it.
  openssl rand -hex 32 >"$WORK/token-signing.key"
}

# No tls: section (serve --dev brings its own certificate) and no storage settings beyond the
# type: the embedded store keeps the objects in objects/ beside this file.
write_cp_config() {
  cat >"$WORK/cp.yaml" <<YAML
# Written by scripts/demo.sh, for serve --dev. Reference: packages/controlplane/config.example.yaml
listen: "127.0.0.1:0"
heartbeat_interval_sec: 5
agents:
  - id: demo-agent
    key_sha256: "$AGENT_KEY_SHA256"
    config:
      version: 1
      targets:
        - id: demo-db
          type: sqlite
          display_name: Demo shop database
          connection: {database: "$DB"}
      jobs:
        - id: demo-nightly
          target_id: demo-db
          cron: "0 3 * * *"
          retention_days: 7
          compression: zstd
          encryption_enabled: true
          timeout_sec: 300
admin:
  token_sha256:
    - "$ADMIN_TOKEN_SHA256"
storage:
  type: local
  dir: objects
token_signing_key_file: token-signing.key
YAML
}

start_control_plane() {
  "$CP_BIN" serve --dev --config "$WORK/cp.yaml" >"$WORK/cp.log" 2>&1 &
  PIDS+=($!)
  CP_PID=$!
  local line
  line=$(wait_for_line "$WORK/cp.log" '"event":"listening"' "$START_TIMEOUT_SEC" "$CP_PID") ||
    fail "the control plane $(not_ready "$CP_PID" "$START_TIMEOUT_SEC")" "$WORK/cp.log"
  CP_URL=https://127.0.0.1:$(json port <<<"$line")
  # What serve --dev tells the operator: the CA agents (and the CLI) must trust.
  DEV_NOTICE=$(grep -m1 '^dev mode: agents must trust ' "$WORK/cp.log") ||
    fail "serve --dev printed no 'dev mode: agents must trust' line" "$WORK/cp.log"
  CA_FILE=${DEV_NOTICE#dev mode: agents must trust }
  CA_FILE=${CA_FILE%% *}
  [[ -s $CA_FILE ]] || fail "the CA file serve --dev named ($CA_FILE) does not exist" "$WORK/cp.log"
  export BACKUPY_CP_URL=$CP_URL BACKUPY_CP_CA=$CA_FILE
}

start_agent() {
  BACKUPY_SERVER_URL=$CP_URL BACKUPY_AGENT_KEY=$AGENT_KEY BACKUPY_STATE_DIR=$WORK/agent-state \
    BACKUPY_CA_FILE=$CA_FILE BACKUPY_METRICS_LISTEN_ADDR=127.0.0.1:0 \
    "$AGENT_BIN" run >"$WORK/agent.log" 2>&1 &
  PIDS+=($!)
  AGENT_PID=$!
  # Port 0: the kernel picks a free port, which the agent logs.
  local serving
  serving=$(wait_for_line "$WORK/agent.log" '"msg":"serving /metrics and /healthz"' \
    "$START_TIMEOUT_SEC" "$AGENT_PID") ||
    fail "the agent $(not_ready "$AGENT_PID" "$START_TIMEOUT_SEC") (waiting for its /metrics)" \
      "$WORK/agent.log"
  METRICS_URL=http://127.0.0.1:$(json port <<<"$serving")/metrics
  # The job can only be dispatched to a registered agent (409 "offline" before that). A refused
  # key would only show as a long reconnect backoff: stop at the first auth_failed instead.
  local line
  line=$(wait_for_line "$WORK/cp.log" '"event":"(register|auth_failed)"[,}]' \
    "$START_TIMEOUT_SEC" "$AGENT_PID") ||
    fail "the agent $(not_ready "$AGENT_PID" "$START_TIMEOUT_SEC") (waiting for it to register)" \
      "$WORK/agent.log" "$WORK/cp.log"
  [[ $line != *'"event":"auth_failed"'* ]] ||
    fail "the control plane refused the agent's connection" "$WORK/agent.log" "$WORK/cp.log"
}

# `run --wait` prints the run id, follows the run (progress on stderr) and exits 0 only on
# success. Then the run's steps as the control plane logged them (a demo-sized run passes
# through all of them faster than the CLI polls) and its fields from GET /v1/runs/{id}.
run_job() {
  local run_start_ns
  run_start_ns=$(date +%s%N)
  RUN_ID=$(timeout "$RUN_TIMEOUT_SEC" "$CP_BIN" run demo-nightly --wait \
    --token-file "$WORK/admin.token" 2>"$WORK/run.log") ||
    fail "backupy-control-plane run demo-nightly --wait failed (or took over ${RUN_TIMEOUT_SEC}s)" \
      "$WORK/run.log" "$WORK/agent.log" "$WORK/cp.log"
  RUN_WALL=$(awk -v s="$run_start_ns" -v n="$(date +%s%N)" 'BEGIN { printf "%.1f", (n - s) / 1e9 }')
  log "run $RUN_ID of demo-nightly succeeded; its steps (control-plane time, UTC):"
  local line ts status step percent
  while IFS= read -r line; do
    IFS=$'\t' read -r ts status step percent < <(json ts status current_step progress_percent <<<"$line")
    log "  ${ts:11:12}  $(printf '%-9s %-19s %3s%%' "$status" "$step" "$percent")"
  done < <(grep -F '"event":"run_update"' "$WORK/cp.log" | grep -F "\"run_id\":\"$RUN_ID\"")
  api GET "/v1/runs/$RUN_ID" "$WORK/run.json"
  [[ $API_STATUS == 200 ]] ||
    fail "GET /v1/runs/$RUN_ID answered $API_STATUS: $(cat "$WORK/run.json")" "$WORK/cp.log"
  IFS=$'\t' read -r S3_KEY SIZE SHA256 COMPRESSION ENGINE_VERSION < <(
    json s3_key size_bytes sha256 compression db_engine_version <"$WORK/run.json")
  # The agent's own time for dump -> compress -> encrypt -> upload (BackupCompleted.duration_ms).
  DURATION_MS=$(grep -F '"type":"backup_completed"' "$WORK/cp.log" |
    grep -m1 -F "\"run_id\":\"$RUN_ID\"" | json duration_ms)
  [[ $DURATION_MS =~ ^[0-9]+$ ]] || fail "no backup_completed result for $RUN_ID" "$WORK/cp.log"
}

# The agent's own account of the run, as Prometheus would scrape it (docs/metrics.md).
check_metrics() {
  curl --silent --show-error --fail "$METRICS_URL" >"$WORK/metrics.txt" ||
    fail "GET $METRICS_URL failed" "$WORK/agent.log"
  LAST_SUCCESS=$(grep '^backupy_agent_last_success_timestamp_seconds{job_id="demo-nightly"' \
    "$WORK/metrics.txt") || fail "the agent's /metrics has no last success for demo-nightly" \
    "$WORK/metrics.txt"
  grep -q '^backupy_agent_runs_total{job_id="demo-nightly",status="success"} 1$' \
    "$WORK/metrics.txt" || fail "the agent's /metrics does not count the run" "$WORK/metrics.txt"
}

# `download` checks size and sha256 against what the agent reported; the file in the embedded
# store must be the same bytes.
fetch_object() {
  OBJECT=$WORK/$RUN_ID.bkpy
  STORED=$WORK/objects/$S3_KEY
  cli download "$RUN_ID" --out "$OBJECT" >"$WORK/download.log" 2>&1 ||
    fail "backupy-control-plane download $RUN_ID failed" "$WORK/download.log" "$WORK/cp.log"
  [[ -f $STORED ]] || fail "the embedded store has no file $STORED"
  cmp -s "$OBJECT" "$STORED" || fail "the downloaded object differs from $STORED"
}

# backupy-decrypt with the run's decryption token (it carries the data key and the expected
# sha256), then the restored copy must be the source: the same SQL dump, integrity_check ok.
restore_and_verify() {
  TOKEN_FILE=$WORK/$RUN_ID.token
  cli token "$RUN_ID" >"$TOKEN_FILE" 2>"$WORK/token.log" ||
    fail "backupy-control-plane token $RUN_ID failed" "$WORK/token.log" "$WORK/cp.log"
  RESTORED=$WORK/restored.db
  rm -f "$RESTORED"
  "$DECRYPT_BIN" --token-file "$TOKEN_FILE" --in "$OBJECT" --out "$RESTORED" \
    >"$WORK/decrypt.log" 2>&1 || fail "backupy-decrypt failed" "$WORK/decrypt.log"
  local integrity restored_counts
  integrity=$(sqlite3 "$RESTORED" 'PRAGMA integrity_check') ||
    fail "sqlite3 cannot open the restored database $RESTORED"
  [[ $integrity == ok ]] || fail "integrity_check of the restored database: $integrity"
  sqlite3 "$DB" .dump >"$WORK/source.sql" || fail "sqlite3 cannot dump $DB"
  sqlite3 "$RESTORED" .dump >"$WORK/restored.sql" || fail "sqlite3 cannot dump $RESTORED"
  cmp -s "$WORK/source.sql" "$WORK/restored.sql" ||
    fail "the restored database differs from the source (diff $WORK/source.sql $WORK/restored.sql)"
  restored_counts=$(row_counts "$RESTORED")
  [[ $restored_counts == "$SOURCE_COUNTS" ]] ||
    fail "row counts differ: source [$SOURCE_COUNTS], restored [$restored_counts]"
}

# start.sh in the work directory: the control plane and the agent of this demo again, for
# looking around with the CLI after the demo stopped them (Ctrl-C stops both).
write_start_script() {
  {
    printf '#!/usr/bin/env bash\n'
    printf '# Written by scripts/demo.sh: starts its control plane (serve --dev) and agent again.\n'
    printf 'CP_BIN=%q AGENT_BIN=%q CA_FILE=%q WORK=%q\n' "$CP_BIN" "$AGENT_BIN" "$CA_FILE" "$WORK"
    cat <<'SCRIPT'
set -euo pipefail
cd "$WORK"
trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT
"$CP_BIN" serve --dev --config cp.yaml >cp-again.log 2>&1 &
cp_pid=$!
port=""
while [[ -z $port ]]; do
  kill -0 "$cp_pid" 2>/dev/null || { echo "the control plane exited: see $WORK/cp-again.log" >&2; exit 1; }
  sleep 0.1
  port=$(sed -n 's/.*"event":"listening".*"port":\([0-9]*\).*/\1/p' cp-again.log)
done
BACKUPY_SERVER_URL=https://127.0.0.1:$port BACKUPY_AGENT_KEY=$(cat agent.key) \
  BACKUPY_STATE_DIR=$WORK/agent-state BACKUPY_CA_FILE=$CA_FILE BACKUPY_METRICS_LISTEN_ADDR="" \
  "$AGENT_BIN" run >agent-again.log 2>&1 &
cat <<EOF
The control plane (https://127.0.0.1:$port) and the agent run (logs: cp-again.log and
agent-again.log in $WORK); Ctrl-C stops both. In another shell:
  export BACKUPY_CP_URL=https://127.0.0.1:$port BACKUPY_CP_CA=$CA_FILE
  export BACKUPY_ADMIN_TOKEN=\$(cat $WORK/admin.token)
EOF
wait
SCRIPT
  } >"$WORK/start.sh"
}

human_size() {
  awk -v b="$1" 'BEGIN {
    split("B KiB MiB GiB", u); i = 1
    while (b >= 1024 && i < 4) { b /= 1024; i++ }
    if (i == 1) printf "%d %s", b, u[i]; else printf "%.1f %s", b, u[i] }'
}

summary() {
  local raw ratio throughput
  raw=$(stat -c %s "$DB")
  ratio=$(awk -v r="$raw" -v s="$SIZE" 'BEGIN { printf "%.1f", r / s }')
  throughput=$(awk -v r="$raw" -v ms="$DURATION_MS" \
    'BEGIN { if (ms < 1) ms = 1; printf "%.1f MiB/s", r / 1048576 / (ms / 1000) }')
  cat <<EOF

Backup demo OK in $(elapsed) s (build excluded).
  run           $RUN_ID (job demo-nightly, agent demo-agent, $ENGINE_VERSION)
  source        $(human_size "$raw") SQLite database: $SOURCE_COUNTS
  stored        $(human_size "$SIZE") ($COMPRESSION + AES-256-GCM), ${ratio}x smaller; sha256 ${SHA256:0:16}...
  throughput    $throughput: the agent's dump, compress, encrypt and upload took $DURATION_MS ms
                (fixed costs dominate at this size; ${RUN_WALL} s from \`run\` to success as the CLI polls)
  restored      sqlite3 .dump identical to the source, integrity_check ok
  metrics       $LAST_SUCCESS
                (the agent's /metrics; saved in metrics.txt; alert rules in docs/metrics.md)

Where everything lives (kept; the control plane and the agent have been stopped):
  work dir      $WORK
  stored object $STORED
                (the embedded object store: storage type local, dir objects/)
  catalog       $WORK/catalog.db (SQLite: agents, sessions, runs, results; data keys sealed
                under $WORK/master.key, generated on the first start)
  dev TLS       $(dirname "$CA_FILE")/ca.crt, server.crt, server.key (reused by the next serve --dev)
  also          cp.yaml, cp.log, agent.log, agent-state/, admin.token (operator API token),
                restored.db, $RUN_ID.token (decryption token: holds the data key)

Look at it yourself: start both again (same certificate, same store, same catalog: the run
above is still listed), then use the operator CLI:
  bash $WORK/start.sh        # prints the exports for the CLI
  backupy-control-plane agents
  backupy-control-plane run demo-nightly --wait     # prints the new run id
  backupy-control-plane runs list
  backupy-control-plane download RUN --out run.bkpy
  backupy-control-plane token RUN > run.token
  backupy-decrypt --token-file run.token --in run.bkpy --out restored.db
(backupy-control-plane is $CP_BIN,
 backupy-decrypt is $DECRYPT_BIN.)
Restore this run again without any server:
  $DECRYPT_BIN \\
    --token-file $TOKEN_FILE --in $OBJECT --out $WORK/restored-again.db
EOF
}

main() {
  local build_start=$SECONDS
  build
  log "build ready in $((SECONDS - build_start)) s"
  # Everything the demo writes from here on (keys, tokens, the decrypted database) is readable
  # by its owner only. (Not earlier: the build tree keeps the usual modes.)
  umask 077
  WORK=$(mktemp -d /tmp/backupy-demo.XXXXXX)
  START_NS=$(date +%s%N)  # the demo's own time, build excluded
  log "work directory: $WORK"
  create_database
  log "demo database: $(human_size "$(stat -c %s "$DB")"), $SOURCE_COUNTS"
  create_secrets
  write_cp_config
  start_control_plane
  log "control plane (serve --dev, storage: local) listening on $CP_URL"
  log "$DEV_NOTICE"
  start_agent
  log "agent registered (BACKUPY_CA_FILE=$CA_FILE)"
  run_job
  check_metrics
  log "the agent's /metrics counts the run and its last success time"
  fetch_object
  log "downloaded $RUN_ID.bkpy with the CLI ($(human_size "$SIZE"); size and sha256 checked, same bytes as the store's file)"
  restore_and_verify
  log "restored with backupy-decrypt; SQL dump identical to the source, integrity_check ok"
  stop_processes
  write_start_script
  summary
}

main "$@"
