#!/usr/bin/env bash
# Control plane load benchmark (issue #5 "Load"): AGENTS simulated agents (cp_load, one
# thread) against one control plane over TLS on loopback, release build.
#   1. time until every agent has its RegisterAck (at most 100 handshakes in flight)
#   2. over a HOLD-second window with every agent connected: heartbeats/s the control plane
#      handled (its own messages_received_total{type="heartbeat"} from GET /metrics), its
#      CPU (utime+stime from /proc/PID/stat, % of one core) and memory (VmRSS, VmHWM)
#   3. GET /v1/agents and GET /metrics must both report AGENTS connected
# Usage: bash tests/bench/control_plane_load.sh [BUILD_DIR]   (default build/release)
# Knobs (environment): AGENTS=1000 HOLD=60 HEARTBEAT=5 (heartbeat_interval_sec)
#                      PING=10 (ping_interval_sec) PARALLEL=100
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
agents=${AGENTS:-1000}
hold=${HOLD:-60}
heartbeat=${HEARTBEAT:-5}
ping=${PING:-10}
parallel=${PARALLEL:-100}
cp_bin=$build/apps/control-plane/backupy-control-plane
load=$build/tests/bench/cp_load
for bin in "$cp_bin" "$load"; do
  [[ -x $bin ]] || { echo "missing $bin: build it first (ninja backupy-control-plane cp_load)" >&2; exit 1; }
done

# Every agent is one socket on each side (both ends run on this machine).
ulimit -n "$(ulimit -Hn)"
(($(ulimit -n) > 2 * agents + 100)) || {
  echo "open files limit $(ulimit -n) is too low for $agents agents" >&2
  exit 1
}

work=$(mktemp -d /tmp/backupy-cp-load-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

wait_for() { # file pattern timeout_s
  local deadline=$((SECONDS + $3))
  until grep -q "$2" "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || { echo "timeout waiting for $2 in $1" >&2; tail -5 "$1" >&2; exit 1; }
    sleep 0.1
  done
}

bash tests/support/make-test-pki.sh "$work/pki"
seed=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
admin_token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
admin_hash=$(printf '%s' "$admin_token" | sha256sum | cut -d' ' -f1)
{
  cat <<YAML
listen: "127.0.0.1:0"
tls: {cert_file: $work/pki/server.crt, key_file: $work/pki/server.key}
heartbeat_interval_sec: $heartbeat
ping_interval_sec: $ping
idle_timeout_sec: 90
admin: {token_sha256: ["$admin_hash"]}
agents:
YAML
  "$load" agents --count "$agents" --seed "$seed"
} >"$work/cp.yaml"

"$cp_bin" serve --config "$work/cp.yaml" >"$work/cp.log" 2>&1 &
cp_pid=$!
pids+=("$cp_pid")
wait_for "$work/cp.log" '"event":"listening"' 30
port=$(grep -o '"event":"listening"[^}]*' "$work/cp.log" | grep -o '"port":[0-9]*' | cut -d: -f2)

api() { # path
  curl -sS --fail --cacert "$work/pki/ca.crt" -H "Authorization: Bearer $admin_token" \
    "https://127.0.0.1:$port$1"
}
metric() { # series (exact, with labels); /metrics needs no token
  curl -sS --fail --cacert "$work/pki/ca.crt" "https://127.0.0.1:$port/metrics" | awk -v s="$1" '$1 == s {print $2}'
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$cp_pid/stat"; }
status_kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$cp_pid/status"; }

# The fleet stays connected a little longer than the window measured below.
"$load" run --port "$port" --ca "$work/pki/ca.crt" --count "$agents" --seed "$seed" \
  --hold $((hold + 15)) --parallel "$parallel" >"$work/load.out" 2>"$work/load.err" &
load_pid=$!
pids+=("$load_pid")
deadline=$((SECONDS + 60 + agents / 10))
until grep -q "^registered " "$work/load.out"; do
  kill -0 "$load_pid" 2>/dev/null || {
    echo "cp_load ended before every agent registered:" >&2
    cat "$work/load.out" >&2
    head -5 "$work/load.err" >&2
    exit 1
  }
  ((SECONDS < deadline)) || { echo "timeout: not every agent registered" >&2; exit 1; }
  sleep 0.1
done
connect_ms=$(awk '/^registered / {print $4}' "$work/load.out")
rss_connected_kib=$(status_kib VmRSS)

heartbeat_series='backupy_cp_messages_received_total{type="heartbeat"}'
hb0=$(metric "$heartbeat_series")
ticks0=$(cpu_ticks)
t0=$(date +%s%N)
sleep "$hold"
hb1=$(metric "$heartbeat_series")
ticks1=$(cpu_ticks)
t1=$(date +%s%N)
rss_kib=$(status_kib VmRSS)
hwm_kib=$(status_kib VmHWM)

connected_api=$(api /v1/agents | grep -o '"state":"connected"' | wc -l)
connected_metric=$(metric backupy_cp_agents_connected)

wait "$load_pid" || { echo "cp_load failed:" >&2; cat "$work/load.out" "$work/load.err" >&2; exit 1; }
failed=$(awk '/^sessions_failed / {print $2}' "$work/load.out")

hz=$(getconf CLK_TCK)
read -r elapsed hb_rate cpu_pct < <(awk -v h0="$hb0" -v h1="$hb1" -v c0="$ticks0" -v c1="$ticks1" \
  -v t0="$t0" -v t1="$t1" -v hz="$hz" 'BEGIN {
    s = (t1 - t0) / 1e9
    printf "%.1f %.1f %.1f\n", s, (h1 - h0) / s, 100 * (c1 - c0) / hz / s }')

printf '%-38s %s\n' "agents" "$agents (heartbeat ${heartbeat} s, ping ${ping} s)" \
  "time to connect all" "${connect_ms} ms (${parallel} handshakes in flight)" \
  "heartbeats/s handled" "$hb_rate (over ${elapsed} s; expected $((agents / heartbeat)))" \
  "CP RSS" "$(awk -v k="$rss_kib" 'BEGIN {printf "%.1f MiB", k / 1024}') (peak $(awk -v k="$hwm_kib" 'BEGIN {printf "%.1f MiB", k / 1024}'); $(awk -v k="$rss_connected_kib" 'BEGIN {printf "%.1f MiB", k / 1024}') right after all connected)" \
  "CP CPU" "${cpu_pct} % of one core" \
  "connected (GET /v1/agents, /metrics)" "$connected_api, $connected_metric" \
  "sessions failed" "$failed"

((connected_api == agents && ${connected_metric%.*} == agents && failed == 0)) || {
  echo "FAIL: not every agent stayed connected" >&2
  exit 1
}
