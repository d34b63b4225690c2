#!/usr/bin/env bash
# Per-engine driver benchmark (issue #4): for PostgreSQL, MariaDB, Redis and SQLite, a private
# server started by tests/support (as in the integration tests), seeded with about
# BENCH_DB_BYTES of order-like data, dumped by the real driver (probe -> dump) into a null sink
# and through the full backup pipeline (zstd -3 with 2 workers -> AES-256-GCM -> SHA-256 ->
# fsynced spool). Prints a markdown table (docs/operations.md, "Performance").
# Usage: bash tests/bench/drivers.sh [BUILD_DIR]   (default build/release)
#   BENCH_DB_BYTES  dataset size per engine (default 500000000; 20000000 for a smoke run)
#   BENCH_ENGINES   subset, e.g. "redis sqlite" (default: postgresql mariadb redis sqlite)
#   BENCH_ZSTD_LEVEL / BENCH_ZSTD_WORKERS (default 3 / 2, the agent's defaults)
# Needs the test servers (bash scripts/setup.sh) and root (PostgreSQL and MariaDB run as their
# own users via runuser, like the integration tests). Servers and data live under /tmp and are
# removed afterwards; expect ~2.5x BENCH_DB_BYTES of free disk per engine while it runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
bench=${DRIVER_BENCH:-$build/tests/bench/driver_bench}
[[ -x $bench ]] || { echo "missing $bench: build driver_bench (Release) first" >&2; exit 1; }
engines=${BENCH_ENGINES:-postgresql mariadb redis sqlite}
export BENCH_DB_BYTES=${BENCH_DB_BYTES:-500000000}

echo "# driver_bench $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "BENCH_DB_BYTES=$BENCH_DB_BYTES"
echo "# dump tools: $(/usr/lib/postgresql/15/bin/pg_dump --version 2>/dev/null || echo 'pg_dump missing');" \
  "$(mariadb-dump --version 2>/dev/null || echo 'mariadb-dump missing')"
"$bench" header
status=0
for engine in $engines; do
  "$bench" "$engine" || { echo "| $engine | failed (see stderr) |" && status=1; }
done
exit $status
