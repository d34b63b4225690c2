#!/usr/bin/env bash
# The container image's runtime layout without a Docker engine (docs/container.md).
#
# Assembles what the Dockerfile's runtime stages hold (paths and ids from
# deploy/image/layout.env) into a directory and runs the built binaries from it as the image's
# user, with tini as PID 1 in new PID, mount and network namespaces, as Docker would. Checks:
#   1. every shared library the binaries link comes from a package the Dockerfile installs;
#   2. `version` of all three binaries runs as uid BACKUPY_UID;
#   3. the state dir (owner BACKUPY_UID, 0700) lets the agent create its state; a state dir
#      owned by root makes it fail with a precise error instead;
#   4. `health-check` says unhealthy before the start, healthy while the agent runs (against an
#      unreachable control plane: disconnected is healthy) and unhealthy after it stopped;
#   5. the agent serves metrics on BACKUPY_METRICS_LISTEN_ADDR inside the network namespace;
#   6. tini reaps an orphaned zombie (the agent as PID 1, the control case, leaves it);
#   7. SIGTERM to PID 1 (Docker's stop) makes the agent exit 0 within 10 s;
#   8. the control plane serves /healthz from its state dir as the image's HEALTHCHECK asks.
# Must run as root (files owned by another uid, setpriv, unshare); it fails, never skips.
#
#   scripts/runtime-layout.sh --agent BIN --decrypt BIN --control-plane BIN
#   (defaults: build/release/apps/...)
set -euo pipefail
umask 022
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/../deploy/image/layout.env
source "$repo/deploy/image/layout.env"

agent_bin=$repo/build/release/apps/agent/backupy-agent
decrypt_bin=$repo/build/release/apps/decrypt/backupy-decrypt
cp_bin=$repo/build/release/apps/control-plane/backupy-control-plane
while (($#)); do
  case $1 in
    --agent) agent_bin=$2; shift 2 ;;
    --decrypt) decrypt_bin=$2; shift 2 ;;
    --control-plane) cp_bin=$2; shift 2 ;;
    *) echo "usage: scripts/runtime-layout.sh [--agent BIN] [--decrypt BIN] [--control-plane BIN]" >&2
       exit 2 ;;
  esac
done

fail() { echo "runtime-layout: FAIL: $*" >&2; exit 1; }
pass() { echo "runtime-layout: ok: $*"; }

[[ $(id -u) -eq 0 ]] || fail "must run as root (uid $(id -u)): it creates files owned by uid" \
  "$BACKUPY_UID, runs the binaries as that uid (setpriv) and as PID 1 of a new PID namespace" \
  "(unshare); run it as root or in CI"
for tool in setpriv unshare nsenter ip "$TINI" python3 ldd readelf dpkg-query curl pgrep; do
  command -v "$tool" >/dev/null || fail "$tool is missing (bash scripts/setup.sh installs it)"
done
for bin in "$agent_bin" "$decrypt_bin" "$cp_bin"; do
  [[ -x $bin ]] || fail "$bin is not an executable (build the apps first)"
done

work=$(mktemp -d /tmp/backupy-layout.XXXXXX)
chmod 0755 "$work"  # uid BACKUPY_UID must reach the layout inside
pids_to_kill=()
cleanup() {
  local pid child
  for pid in "${pids_to_kill[@]}"; do
    # unshare's child is PID 1 of its namespace: killing it ends every process in there
    # (unshare --kill-child alone does not hold: setpriv's uid change clears the death signal)
    for child in $(pgrep -P "$pid"); do kill -KILL "$child" 2>/dev/null || true; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
on_signal() { exit 143; }  # through cleanup as well
trap on_signal TERM INT

# Polls "$@" until it succeeds; fails with $what after $seconds.
await() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    ((SECONDS < deadline)) || fail "$what (waited ${seconds}s)"
    sleep 0.1
  done
}

# ---- the layout: the Dockerfile's COPY and `install -d` lines --------------------------------
image=$work/root
install -d "$image$BIN_DIR"
install -m 0755 "$agent_bin" "$decrypt_bin" "$cp_bin" "$image$BIN_DIR/"
install -d -o "$BACKUPY_UID" -g "$BACKUPY_GID" -m 0700 "$image$AGENT_STATE_DIR" "$image$CP_STATE_DIR"
state=$image$AGENT_STATE_DIR
cp_state=$image$CP_STATE_DIR

# The image's environment: a clean one, the layout's binaries first in PATH. The image sets
# BACKUPY_STATE_DIR to AGENT_STATE_DIR (the agent's default); here it points into the layout.
agent_key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
image_env=(env -i "PATH=$image$BIN_DIR:/usr/bin:/bin" HOME=/nonexistent LC_ALL=C.UTF-8
  "BACKUPY_STATE_DIR=$state" "BACKUPY_METRICS_LISTEN_ADDR=$AGENT_METRICS_LISTEN_ADDR"
  "BACKUPY_AGENT_KEY=$agent_key" BACKUPY_SERVER_URL=wss://127.0.0.1:9/ BACKUPY_DISABLE_DISCOVERY=true)
as_user=(setpriv --reuid "$BACKUPY_UID" --regid "$BACKUPY_GID" --clear-groups --)

# ---- 1. shared libraries ---------------------------------------------------------------------
dockerfile_arg() { python3 "$repo/tests/image/lint_dockerfile.py" --root "$repo" --print-arg "$1" "$2"; }
lib_packages() {  # sets $packages: the Debian packages owning the libraries "$@" link directly
  # (DT_NEEDED; apt brings their own dependencies), located where ldd resolves them
  local bin name lib candidate found
  packages=""
  for bin in "$@"; do
    local resolved needed
    resolved=$(ldd "$bin")
    needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    [[ -n $needed ]] || fail "readelf lists no NEEDED libraries for $bin"
    for name in $needed; do
      lib=$(awk -v n="$name" '$1 == n && $2 == "=>" {print $3}' <<<"$resolved")
      [[ $lib == /* ]] || fail "$(basename "$bin") needs $name, which ldd does not resolve here"
      found=""
      # usrmerge: dpkg may know the file under /lib or under /usr/lib
      for candidate in "$lib" "${lib/#\/usr\/lib//lib}" "${lib/#\/lib//usr/lib}"; do
        found=$(dpkg-query -S "$candidate" 2>/dev/null | head -n 1 | cut -d: -f1 || true)
        if [[ -n $found ]]; then break; fi
      done
      [[ -n $found ]] || fail "no Debian package owns $lib (needed by $(basename "$bin"))"
      packages+=" $found"
    done
  done
}
check_libraries() {  # stage, ARG prefix, binaries...
  local stage=$1 prefix=$2
  shift 2
  local listed installed
  listed=$(dockerfile_arg "$stage" "${prefix}_LIBRARIES")
  # libc6 is Essential: in every Debian image
  installed=" libc6 $(dockerfile_arg "$stage" "${prefix}_PACKAGES") $listed "
  lib_packages "$@"
  local pkg sanitizer=""
  for pkg in $(tr ' ' '\n' <<<"$packages" | sort -u); do
    case $pkg in libasan* | libubsan* | liblsan* | libtsan*) sanitizer+=" $pkg"; continue ;; esac
    [[ $installed == *" $pkg "* ]] ||
      fail "$(basename -a "$@" | tr '\n' ' ')link a library from $pkg, which the Dockerfile's" \
        "$stage stage does not install (add it to ${prefix}_LIBRARIES)"
  done
  for pkg in $listed; do  # and nothing stale: each listed library is linked
    [[ " $packages " == *" $pkg "* ]] ||
      fail "${prefix}_LIBRARIES lists $pkg, which no binary of the $stage stage links"
  done
  pass "stage $stage installs every library package $(basename -a "$@" | tr '\n' ' ')link" \
    "${sanitizer:+(sanitizer runtime$sanitizer: not in a Release image)}"
}
check_libraries agent AGENT "$agent_bin" "$decrypt_bin"
check_libraries control-plane CP "$cp_bin" "$decrypt_bin"

# ---- 2. version as the image's user ----------------------------------------------------------
out=$("${as_user[@]}" "${image_env[@]}" backupy-agent version) || fail "backupy-agent version failed"
[[ $out == "backupy-agent "* ]] || fail "backupy-agent version printed '$out'"
"${as_user[@]}" "${image_env[@]}" backupy-decrypt --version >/dev/null || fail "backupy-decrypt --version failed"
"${as_user[@]}" "${image_env[@]}" backupy-control-plane version >/dev/null ||
  fail "backupy-control-plane version failed"
pass "version as uid $BACKUPY_UID: $out"

# ---- 3. state directory permissions ----------------------------------------------------------
[[ $(stat -c '%u:%g %a' "$state") == "$BACKUPY_UID:$BACKUPY_GID 700" ]] ||
  fail "state dir is $(stat -c '%u:%g %a' "$state")"
root_owned=$work/root-owned-state
install -d -m 0700 "$root_owned"  # what a volume created by root looks like
set +e
err=$("${as_user[@]}" "${image_env[@]}" "BACKUPY_STATE_DIR=$root_owned" backupy-agent run 2>&1 >/dev/null)
rc=$?
set -e
[[ $rc -eq 1 ]] || fail "agent with a root-owned state dir exited $rc, expected 1 ($err)"
[[ $err == *"backupy-agent: directory is not writable: $root_owned: Permission denied"* ]] ||
  fail "agent with a root-owned state dir said: $err"
pass "a root-owned state dir is refused: ${err%%$'\n'*}"

# ---- 4-7. the agent under tini as PID 1 ------------------------------------------------------
# start_pid1 LOG CMD...: runs CMD as PID 1 of new PID+mount+network namespaces (loopback up),
# as the image's user; sets $ns_parent (unshare) and $pid1 (host pid of namespace PID 1).
start_pid1() {
  local log=$1
  shift
  unshare --pid --fork --kill-child --mount-proc --net -- sh -c 'ip link set lo up && exec "$@"' sh \
    "${as_user[@]}" "${image_env[@]}" "$@" >"$log" 2>&1 &
  ns_parent=$!
  pids_to_kill+=("$ns_parent")
  pid1=""
  await 5 "no PID 1 under unshare $ns_parent" find_pid1 "$1"
}
find_pid1() {  # the child of unshare once it runs $1
  pid1=$(pgrep -P "$ns_parent" | head -n 1) || return 1
  [[ $(ps -o comm= -p "$pid1") == "$(basename "$1" | cut -c1-15)" ]]
}
in_ns() { nsenter --target "$pid1" --pid --mount --net -- "${as_user[@]}" "${image_env[@]}" "$@"; }
health() { in_ns backupy-agent health-check; }
healthy() { health_out=$(health) && [[ $health_out == healthy:* ]]; }

out=$("${as_user[@]}" "${image_env[@]}" backupy-agent health-check) &&
  fail "health-check before the start said healthy: $out"
[[ $out == "unhealthy: agent is not running"* ]] || fail "health-check before the start: $out"
pass "before the start: $out"

# Creates an orphan in the namespace (what a dump tool's or hook's child becomes when its
# parent exits), waits until it is re-parented to PID 1 and ends it: $orphan (its host pid) is
# then a zombie until PID 1 reaps it.
make_orphan() {
  in_ns sh -c '(exec sleep 60) & exit 0'
  orphan=""
  await 5 "the orphan did not appear under PID 1" orphan_reparented
  kill -TERM "$orphan"
}
orphan_reparented() { orphan=$(pgrep -P "$pid1" -x sleep); }
zombie() { [[ $(ps -o stat= -p "$1" 2>/dev/null) == Z* ]]; }
gone() { ! ps -p "$1" >/dev/null 2>&1; }

start_pid1 "$work/agent.log" "$TINI" -- backupy-agent run
[[ $(ps -o uid= -p "$pid1" | tr -d ' ') == "$BACKUPY_UID" ]] || fail "tini does not run as uid $BACKUPY_UID"
await 15 "health-check never said healthy ($(health || true); log: $(tail -n 3 "$work/agent.log"))" healthy
pass "while running: $health_out"
agent_pid=$(pgrep -P "$pid1" -x backupy-agent) || fail "backupy-agent is not a child of tini"
for file in state.db agent.lock; do
  [[ $(stat -c %u "$state/$file" 2>/dev/null) == "$BACKUPY_UID" ]] ||
    fail "$state/$file is missing or not owned by uid $BACKUPY_UID"
done
[[ $(stat -c %a "$state") == 700 ]] || fail "the agent left its state dir at mode $(stat -c %a "$state")"
pass "uid $BACKUPY_UID created state.db and agent.lock in its 0700 state dir"

metrics() {
  local text
  text=$(nsenter --target "$pid1" --net -- curl -fsS --max-time 2 2>/dev/null \
    "http://127.0.0.1:$AGENT_METRICS_PORT/metrics") && grep -q '^backupy_agent_' <<<"$text"
}
await 10 "no metrics on port $AGENT_METRICS_PORT inside the namespace" metrics
pass "metrics on $AGENT_METRICS_LISTEN_ADDR"

make_orphan
await 5 "the orphan $orphan stayed a zombie under tini" gone "$orphan"
pass "tini reaped the orphan $orphan"

started=$SECONDS
kill -TERM "$pid1"
await 10 "SIGTERM: the agent still runs after 10 s" gone "$agent_pid"
rc=0
wait "$ns_parent" || rc=$?
[[ $rc -eq 0 ]] || fail "after SIGTERM PID 1 exited $rc, expected 0 ($(tail -n 3 "$work/agent.log"))"
pass "SIGTERM to tini: the agent exited 0 in $((SECONDS - started)) s"
out=$("${as_user[@]}" "${image_env[@]}" backupy-agent health-check) && fail "health-check after the stop: $out"
pass "after the stop: $out"

# The control case: the agent itself as PID 1 does not reap what it did not spawn, which is
# why the image runs tini (and proves the check above can fail).
start_pid1 "$work/agent-pid1.log" backupy-agent run
await 15 "health-check never said healthy with the agent as PID 1" healthy
make_orphan
await 5 "the orphan $orphan never exited" zombie "$orphan"
sleep 1  # a zombie that is still there a second later is not being reaped
zombie "$orphan" || fail "the agent as PID 1 reaped the orphan: the control case no longer holds"
kill -TERM "$pid1"
rc=0
wait "$ns_parent" || rc=$?
[[ $rc -eq 0 ]] || fail "the agent as PID 1 exited $rc after SIGTERM"
pass "control: without tini the orphan stays a zombie"

# ---- 8. the control plane from its state dir, health-checked like the image ---------------------
port=${CP_HEALTH_URL##*:}
port=${port%%/*}
cat >"$image$CP_CONFIG" <<EOF
listen: "0.0.0.0:$port"
agents: []
EOF
chown "$BACKUPY_UID:$BACKUPY_GID" "$image$CP_CONFIG"
start_pid1 "$work/cp.log" "$TINI" -- backupy-control-plane serve --dev --config "$image$CP_CONFIG"
cp_health() { nsenter --target "$pid1" --net -- curl -fsS -k --max-time 2 -o /dev/null "$CP_HEALTH_URL" 2>/dev/null; }
await 15 "the control plane never answered $CP_HEALTH_URL ($(tail -n 3 "$work/cp.log"))" cp_health
[[ $(stat -c %u "$cp_state/catalog.db") == "$BACKUPY_UID" ]] || fail "catalog.db is not owned by uid $BACKUPY_UID"
kill -TERM "$pid1"
rc=0
wait "$ns_parent" || rc=$?
[[ $rc -eq 0 ]] || fail "the control plane exited $rc after SIGTERM"
pass "control plane: catalog in its state dir, $CP_HEALTH_URL healthy, SIGTERM exits 0"
echo "runtime-layout: all checks passed"
