#!/usr/bin/env bash
# The demo (README): one backup of an embedded default database, end to end, on this machine.
#
#   bash scripts/demo.sh
#
# Installs what is missing (scripts/setup.sh), builds the three binaries in Release
# (build/release, the directory scripts/test.sh uses, so a later test run reuses it), then, in a
# fresh work directory under /tmp:
#   demo.db          a small SQLite shop database (customers, products, orders, order_items)
#   pki/             a throwaway CA + server certificate for the control plane's TLS
#   s3rver           a local S3 on 127.0.0.1 with the bucket "backups"
#   control plane    one agent, one sqlite target -> demo.db, one job "demo-nightly", storage -> s3rver
#   agent            connects over WSS, receives the job
# and asks the control plane to run the job now, follows the run to its end, downloads the
# stored (compressed + encrypted) object, restores it with backupy-decrypt and checks the copy
# against the source. The work directory is kept (its path is printed); every background
# process is stopped when the script ends, however it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=$ROOT/build/release
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
# null fields print as ""). node, not jq: node is in the base image, jq is not.
json() {
  node -e '
    let text = "";
    process.stdin.on("data", (d) => (text += d)).on("end", () => {
      let obj;
      try { obj = JSON.parse(text); } catch (e) { process.exit(3); }
      const values = process.argv.slice(1).map((k) => (obj[k] == null ? "" : String(obj[k])));
      process.stdout.write(values.join("\t") + "\n");
    });' "$@"
}

# api METHOD PATH OUT_FILE: calls the operator API, body to OUT_FILE, HTTP status to
# $API_STATUS. The admin token travels in a header file, so it never shows up in `ps`.
api() {
  local method=$1 path=$2 out=$3
  API_STATUS=$(curl --silent --show-error --cacert "$WORK/pki/ca.crt" \
    --header "@$WORK/admin-auth.header" --request "$method" \
    --output "$out" --write-out '%{http_code}' "$CP_URL$path") ||
    fail "curl $method $path failed" "$WORK/cp.log"
}

# ---------------------------------------------------------------------- steps --

build() {
  log "installing missing packages and test tools (scripts/setup.sh)"
  bash scripts/setup.sh || fail "scripts/setup.sh failed (its message is above)"
  log "building backupy-agent, backupy-control-plane, backupy-decrypt (Release, $BUILD_DIR)"
  local cmake_log
  cmake_log=$(mktemp /tmp/backupy-demo-cmake.XXXXXX)
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$cmake_log" 2>&1 ||
    fail "cmake configure failed" "$cmake_log"
  rm -f "$cmake_log"
  ninja -C "$BUILD_DIR" backupy-agent backupy-control-plane backupy-decrypt ||
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

create_pki() {
  bash tests/support/make-test-pki.sh "$WORK/pki" || fail "could not create the throwaway PKI"
}

# A local S3 for the demo. s3rver accepts only the access key id "S3RVER" and does not verify
# signatures, which is fine on loopback for a demo and nowhere else.
# TODO(#5): replace s3rver by the control plane's embedded object store.
start_s3() {
  node tests/support/node/s3rver_main.js --dir "$WORK/s3" --bucket backups \
    --address 127.0.0.1 --port 0 >"$WORK/s3rver.log" 2>&1 &
  PIDS+=($!)
  local line
  line=$(wait_for_line "$WORK/s3rver.log" '^\{"port":' "$START_TIMEOUT_SEC" "$!") ||
    fail "s3rver $(not_ready "$!" "$START_TIMEOUT_SEC")" "$WORK/s3rver.log"
  S3_PORT=$(json port <<<"$line")
  S3_ENDPOINT=http://127.0.0.1:$S3_PORT
}

# Random agent key and admin token; only their sha256 goes into the YAML, and neither is printed.
create_secrets() {
  AGENT_KEY=$(openssl rand -hex 32)
  local admin_token
  admin_token=$(openssl rand -hex 32)
  printf 'Authorization: Bearer %s\n' "$admin_token" >"$WORK/admin-auth.header"
  AGENT_KEY_SHA256=$("$CP_BIN" hash-key <<<"$AGENT_KEY")
  ADMIN_TOKEN_SHA256=$("$CP_BIN" hash-key <<<"$admin_token")
  # s3rver ignores the secret, but the control plane needs one to sign the URLs.
  openssl rand -hex 20 >"$WORK/s3-secret-access-key"
  openssl rand -hex 32 >"$WORK/token-signing.key"
}

write_cp_config() {
  cat >"$WORK/cp.yaml" <<YAML
# Written by scripts/demo.sh. Reference: packages/controlplane/config.example.yaml
listen: "127.0.0.1:0"
tls:
  cert_file: pki/server.crt
  key_file: pki/server.key
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
  type: s3
  endpoint: "$S3_ENDPOINT"
  region: us-east-1
  bucket: backups
  path_style: true
  access_key_id: S3RVER          # the only key id s3rver accepts
  secret_access_key_file: s3-secret-access-key
  url_ttl_sec: 900
token_signing_key_file: token-signing.key
YAML
}

start_control_plane() {
  "$CP_BIN" serve --config "$WORK/cp.yaml" >"$WORK/cp.log" 2>&1 &
  PIDS+=($!)
  CP_PID=$!
  local line
  line=$(wait_for_line "$WORK/cp.log" '"event":"listening"' "$START_TIMEOUT_SEC" "$CP_PID") ||
    fail "the control plane $(not_ready "$CP_PID" "$START_TIMEOUT_SEC")" "$WORK/cp.log"
  CP_URL=https://127.0.0.1:$(json port <<<"$line")
}

start_agent() {
  BACKUPY_SERVER_URL=$CP_URL BACKUPY_AGENT_KEY=$AGENT_KEY BACKUPY_STATE_DIR=$WORK/agent-state \
    BACKUPY_CA_FILE=$WORK/pki/ca.crt BACKUPY_METRICS_LISTEN_ADDR="" \
    "$AGENT_BIN" run >"$WORK/agent.log" 2>&1 &
  PIDS+=($!)
  AGENT_PID=$!
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

run_job() {
  api POST /v1/jobs/demo-nightly/run "$WORK/run-request.json"
  [[ $API_STATUS == 202 ]] ||
    fail "POST /v1/jobs/demo-nightly/run answered $API_STATUS: $(cat "$WORK/run-request.json")" \
      "$WORK/cp.log"
  RUN_ID=$(json run_id <"$WORK/run-request.json")
  log "run $RUN_ID dispatched to demo-agent; its steps (control-plane time, UTC):"
}

# Follows the run until it ends. The run's state comes from GET /v1/runs/{id}; its steps from
# the control plane's run_update log lines, because a demo-sized run passes through all of them
# (queued, dumping, waiting_for_upload, uploading, completed) faster than any sensible polling.
follow_run() {
  local deadline=$((SECONDS + RUN_TIMEOUT_SEC)) status="" step="" error=""
  PRINTED_UPDATES=0
  while :; do
    api GET "/v1/runs/$RUN_ID" "$WORK/run.json"
    [[ $API_STATUS == 200 ]] ||
      fail "GET /v1/runs/$RUN_ID answered $API_STATUS: $(cat "$WORK/run.json")" "$WORK/cp.log"
    IFS=$'\t' read -r status step error < <(json status current_step error <"$WORK/run.json")
    print_new_updates
    case $status in
      success) return 0 ;;
      failed | cancelled) fail "the run ended $status: ${error:-no reason given}" "$WORK/agent.log" ;;
    esac
    ((SECONDS < deadline)) ||
      fail "the run did not finish within ${RUN_TIMEOUT_SEC}s (status $status, step $step)" \
        "$WORK/agent.log" "$WORK/cp.log"
    kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent exited during the run" "$WORK/agent.log"
    sleep 0.2
  done
}

# Prints the run's run_update log lines not printed yet (time as the control plane saw it).
print_new_updates() {
  local lines=() i ts status step percent
  mapfile -t lines < <(grep -F '"event":"run_update"' "$WORK/cp.log" | grep -F "\"run_id\":\"$RUN_ID\"")
  for ((i = PRINTED_UPDATES; i < ${#lines[@]}; i++)); do
    IFS=$'\t' read -r ts status step percent < <(json ts status current_step progress_percent <<<"${lines[i]}")
    log "  ${ts:11:12}  $(printf '%-9s %-19s %3s%%' "$status" "$step" "$percent")"
  done
  PRINTED_UPDATES=${#lines[@]}
}

# Downloads the stored object and checks it is exactly what the agent reported.
fetch_object() {
  IFS=$'\t' read -r S3_KEY SIZE SHA256 COMPRESSION ENGINE_VERSION < <(
    json s3_key size_bytes sha256 compression db_engine_version <"$WORK/run.json")
  OBJECT=$WORK/$RUN_ID.bkpy
  local code
  code=$(curl --silent --show-error --output "$OBJECT" --write-out '%{http_code}' \
    "$S3_ENDPOINT/backups/$S3_KEY") || fail "could not download $S3_KEY from s3rver"
  [[ $code == 200 ]] || fail "GET $S3_KEY from s3rver answered $code" "$WORK/s3rver.log"
  local size sha
  size=$(stat -c %s "$OBJECT")
  sha=$(sha256sum "$OBJECT" | cut -d' ' -f1)
  [[ $size == "$SIZE" ]] || fail "the stored object has $size bytes, the agent reported $SIZE"
  [[ $sha == "$SHA256" ]] || fail "the stored object's sha256 is $sha, the agent reported $SHA256"
}

# backupy-decrypt with a decryption token from the control plane (it carries the data key and
# the expected sha256), then the restored copy must match the source table by table.
restore_and_verify() {
  TOKEN_FILE=$WORK/$RUN_ID.token
  api POST "/v1/runs/$RUN_ID/decryption-token" "$WORK/token-reply.json"
  [[ $API_STATUS == 200 ]] || fail "the decryption token request answered $API_STATUS" "$WORK/cp.log"
  json token <"$WORK/token-reply.json" | tr -d '\n' >"$TOKEN_FILE"
  rm -f "$WORK/token-reply.json"
  chmod 600 "$TOKEN_FILE"
  RESTORED=$WORK/restored.db
  rm -f "$RESTORED"
  "$DECRYPT_BIN" --token-file "$TOKEN_FILE" --in "$OBJECT" --out "$RESTORED" \
    >"$WORK/decrypt.log" 2>&1 || fail "backupy-decrypt failed" "$WORK/decrypt.log"
  local integrity restored_counts
  integrity=$(sqlite3 "$RESTORED" 'PRAGMA integrity_check') ||
    fail "sqlite3 cannot open the restored database $RESTORED"
  [[ $integrity == ok ]] || fail "integrity_check of the restored database: $integrity"
  restored_counts=$(row_counts "$RESTORED")
  [[ $restored_counts == "$SOURCE_COUNTS" ]] ||
    fail "row counts differ: source [$SOURCE_COUNTS], restored [$restored_counts]"
}

human_size() {
  awk -v b="$1" 'BEGIN {
    split("B KiB MiB GiB", u); i = 1
    while (b >= 1024 && i < 4) { b /= 1024; i++ }
    if (i == 1) printf "%d %s", b, u[i]; else printf "%.1f %s", b, u[i] }'
}

summary() {
  local raw ratio
  raw=$(stat -c %s "$DB")
  ratio=$(awk -v r="$raw" -v s="$SIZE" 'BEGIN { printf "%.1f", r / s }')
  cat <<EOF

Backup demo OK in $(elapsed) s.
  run id          $RUN_ID (job demo-nightly, agent demo-agent)
  stored object   s3://backups/$S3_KEY
  size            $(human_size "$SIZE") stored ($COMPRESSION + AES-256-GCM) for a $(human_size "$raw") database: ${ratio}x smaller
  sha256          $SHA256
  engine          $ENGINE_VERSION
  restored        $SOURCE_COUNTS, integrity_check ok

Files in $WORK:
  demo.db (source), $RUN_ID.bkpy (stored object), restored.db,
  $RUN_ID.token (decryption token: holds the data key, keep it secret),
  cp.yaml, cp.log, agent.log, s3rver.log, agent-state/
Restore it again:
  $DECRYPT_BIN \\
    --token-file $TOKEN_FILE --in $OBJECT --out $WORK/restored-again.db
The control plane, the agent and s3rver have been stopped.
EOF
}

main() {
  local build_start=$SECONDS
  build
  log "build ready in $((SECONDS - build_start)) s"
  # Everything the demo writes from here on (keys, tokens, the decrypted database) is readable
  # by its owner only. (Not earlier: the build tree and node_modules keep the usual modes.)
  umask 077
  WORK=$(mktemp -d /tmp/backupy-demo.XXXXXX)
  START_NS=$(date +%s%N)  # the demo's own time, build excluded
  log "work directory: $WORK"
  create_database
  log "demo database: $(human_size "$(stat -c %s "$DB")"), $SOURCE_COUNTS"
  create_pki
  create_secrets
  start_s3
  log "s3rver listening on $S3_ENDPOINT (bucket backups)"
  write_cp_config
  start_control_plane
  log "control plane listening on $CP_URL"
  start_agent
  log "agent registered"
  run_job
  follow_run
  fetch_object
  log "downloaded $S3_KEY ($(human_size "$SIZE"), sha256 matches)"
  restore_and_verify
  log "restored with backupy-decrypt; row counts match, integrity_check ok"
  stop_processes
  summary
}

main "$@"
