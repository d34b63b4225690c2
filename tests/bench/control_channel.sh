#!/usr/bin/env bash
# Control-channel benchmark: the numbers issue #2 asks for, measured on the
# release build against the real control plane over TLS on loopback.
#   1. idle agent RSS (after 15 s connected, heartbeats every second)
#   2. reconnect time after the control plane is killed and restarted
#   3. replay rate of a 10,000-entry outbox
# Usage: bash tests/bench/control_channel.sh [BUILD_DIR]   (default build/release)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
agent=$build/apps/agent/backupy-agent
cp_bin=$build/apps/control-plane/backupy-control-plane
tests=$build/tests/integration/integration_tests
for bin in "$agent" "$cp_bin" "$tests"; do
  [[ -x $bin ]] || { echo "missing $bin: build first (bash scripts/test.sh)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/backupy-bench-XXXXXX)
pids=()
stop() { kill -9 "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
cleanup() { for pid in "${pids[@]}"; do stop "$pid"; done; rm -rf "$work"; }
trap cleanup EXIT

bash tests/support/make-test-pki.sh "$work/pki"
key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
key_hash=$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)

wait_for() { # file pattern timeout_s
  local deadline=$((SECONDS + $3))
  until grep -q "$2" "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || { echo "timeout waiting for $2 in $1" >&2; tail -5 "$1" >&2; exit 1; }
    sleep 0.05
  done
}

start_cp() { # port logfile
  cat >"$work/cp.yaml" <<YAML
listen: "127.0.0.1:$1"
tls: {cert_file: $work/pki/server.crt, key_file: $work/pki/server.key}
heartbeat_interval_sec: 1
agents:
  - id: bench
    key_sha256: "$key_hash"
    config: {version: 1}
YAML
  "$cp_bin" serve --config "$work/cp.yaml" >"$2" 2>&1 &
  cp_pid=$!
  pids+=("$cp_pid")
  wait_for "$2" '"event":"listening"' 20
}

start_cp 0 "$work/cp1.log"
port=$(grep -o '"event":"listening"[^}]*' "$work/cp1.log" | grep -o '"port":[0-9]*' | cut -d: -f2)

BACKUPY_SERVER_URL=https://127.0.0.1:$port BACKUPY_AGENT_KEY=$key BACKUPY_STATE_DIR=$work/state \
  BACKUPY_CA_FILE=$work/pki/ca.crt BACKUPY_METRICS_LISTEN_ADDR= "$agent" run >"$work/agent.log" 2>&1 &
agent_pid=$!
pids+=("$agent_pid")
wait_for "$work/cp1.log" '"event":"register"' 20
sleep 15
rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/$agent_pid/status")
hwm_kib=$(awk '/VmHWM/ {print $2}' "/proc/$agent_pid/status")
threads=$(awk '/Threads/ {print $2}' "/proc/$agent_pid/status")

stop "$cp_pid"
wait_for "$work/agent.log" 'connection to control plane lost' 10
sleep 1
start=$(date +%s%N)
start_cp "$port" "$work/cp2.log"
wait_for "$work/cp2.log" '"event":"register"' 30
reconnect_ms=$((($(date +%s%N) - start) / 1000000))

"$tests" --gtest_filter='OutboxReplayTest.TenThousandEntriesArriveInOrderAndLeaveOnAck' \
  --gtest_output="json:$work/replay.json" >/dev/null
replay_ms=$(grep -o '"replay_10000_ms": *"*[0-9]*' "$work/replay.json" | grep -o '[0-9]*$')

echo "idle agent RSS:               ${rss_kib} KiB (peak ${hwm_kib} KiB, ${threads} threads)"
echo "reconnect after CP restart:   ${reconnect_ms} ms (from restart to Register, incl. CP start)"
echo "10,000-entry outbox replay:   ${replay_ms} ms ($((10000 * 1000 / (replay_ms > 0 ? replay_ms : 1))) entries/s)"
