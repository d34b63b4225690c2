#!/usr/bin/env bash
# Scrape cost of the agent's metrics for fleets of jobs (Release build).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${BUILD_DIR:-build/release}
ninja -C "$build" metrics_bench >/dev/null
for jobs in 10 100 1000; do "$build/tests/bench/metrics_bench" "$jobs" 100; done
