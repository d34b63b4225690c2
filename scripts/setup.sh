#!/usr/bin/env bash
# Installs every Debian package the project needs to build and test, then the Node test
# tools (npm ci in tests/support/node).
# Idempotent: when everything is already present it returns in well under a second.
#   --no-test-tools   skip the Node test tools (scripts/demo.sh needs none of them)
#   --build-only      only what compiling the apps needs (BUILD_PACKAGES): no test tools, test
#                     servers or developer tools; the Dockerfile's build stage uses it
set -euo pipefail
test_tools=true
build_only=false
for arg in "$@"; do
  case $arg in
    --no-test-tools) test_tools=false ;;
    --build-only) build_only=true; test_tools=false ;;
    *) echo "usage: scripts/setup.sh [--no-test-tools] [--build-only]" >&2; exit 2 ;;
  esac
done

# Compiling the apps (cmake -DBACKUPY_BUILD_TESTS=OFF) needs these and nothing else.
BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libboost-dev libboost-system-dev
  libprotobuf-dev protobuf-compiler
  libssl-dev
  libsqlite3-dev
  libyaml-cpp-dev libzstd-dev zlib1g-dev
  nlohmann-json3-dev
  # CRON_TZ time zones (packages/cron): date/tz reads the OS time zone database from tzdata
  libhowardhinnant-date-dev tzdata
  # the control plane's /metrics (prometheus-cpp core)
  prometheus-cpp-dev
  ca-certificates
  # client libraries for the database drivers
  libpq-dev libmariadb-dev libhiredis-dev libmongoc-dev
)

# Tests and development on top of that.
TEST_PACKAGES=(
  ccache git openssl sqlite3 zstd python3
  libgtest-dev libgmock-dev
  # promtool (from prometheus) lints a scrape in the control plane tests
  prometheus
  clang-format
  procps curl
  # tini: PID 1 of the container image; scripts/runtime-layout.sh runs the agent under it
  # (and brings up loopback in its network namespace with iproute2's ip)
  tini iproute2
  # real database servers for the integration tests (tests/support db_servers.hpp); installing
  # them starts no service here (no systemd)
  postgresql-15 postgresql-client-15 mariadb-server mariadb-client redis-server redis-tools
  # the deploy/ checks (tests/deploy): PyYAML, systemd-analyze (verify, security), and the
  # Compose file schema (docker-compose config; no Docker engine is needed for it)
  python3-yaml systemd docker-compose
)

packages=("${BUILD_PACKAGES[@]}")
$build_only || packages+=("${TEST_PACKAGES[@]}")

cd "$(dirname "$0")/.."

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing packages: ${missing[*]}; run as root (or install them yourself)" >&2
    exit 1
  fi
  echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "setup: done"
fi

# Node test tools (tests/support/node: s3rver, pinned by the committed package-lock.json).
# node and npm come with the base image. npm ci runs only when node_modules is missing or
# older than the lock file; npm writes node_modules/.package-lock.json on every install.
NODE_TOOLS=tests/support/node
if $test_tools && [[ ! -f $NODE_TOOLS/node_modules/.package-lock.json ||
      $NODE_TOOLS/node_modules/.package-lock.json -ot $NODE_TOOLS/package-lock.json ]]; then
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "setup: node and npm are required for the integration tests ($NODE_TOOLS);" \
         "install Node.js 18 or later" >&2
    exit 1
  fi
  echo "setup: installing test tools: npm ci in $NODE_TOOLS"
  npm_log=$(mktemp)
  if ! npm ci --prefix "$NODE_TOOLS" --no-audit --no-fund --loglevel=error >"$npm_log" 2>&1; then
    echo "setup: 'npm ci --prefix $NODE_TOOLS' failed (registry unreachable, or package.json" \
         "and package-lock.json out of sync?):" >&2
    # npm puts the cause first and its usage text and log location after it.
    grep -v -e '^npm error *$' -e '^npm error   ' "$npm_log" | head -n 5 >&2
    rm -f "$npm_log"
    exit 1
  fi
  rm -f "$npm_log"
  echo "setup: test tools installed"
fi
