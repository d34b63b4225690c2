#!/usr/bin/env bash
# Backup-pipeline benchmark (issue #3, section 7): throughput and peak RSS of
# the full pipeline (zstd -3 -> AES-256-GCM blob -> SHA-256 -> fsynced spool)
# beside the `zstd -3 -T0` command-line tool, on generated SQL-dump-like
# corpora of 100 MB and BIG bytes, in the same run.
# Usage: bash tests/bench/pipeline.sh [BUILD_DIR]   (default build/release)
#   BENCH_BIG_BYTES (default 2000000000, at least 1e9), BENCH_DIR (default /tmp)
# Both sides read the corpus from the page cache (it is read once first) and
# write their output to the same disk; only the pipeline fsyncs its spool.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
bench=${PIPELINE_BENCH:-$build/tests/bench/pipeline_bench}
[[ -x $bench ]] || { echo "missing $bench: build pipeline_bench (Release) first" >&2; exit 1; }
command -v zstd >/dev/null || { echo "missing the zstd command-line tool" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "missing /usr/bin/time (apt-get install time)" >&2; exit 1; }
big=${BENCH_BIG_BYTES:-2000000000}
((big >= 1000000000)) || { echo "BENCH_BIG_BYTES must be at least 1e9" >&2; exit 1; }

work=$(mktemp -d "${BENCH_DIR:-/tmp}/backupy-bench-pipeline-XXXXXX")
trap 'rm -rf "$work"' EXIT
cores=$(nproc)

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p"; }  # key=value from pipeline_bench
rows=()

measure() { # label bytes
  local label=$1 bytes=$2 corpus=$work/$1.sql
  "$bench" generate "$bytes" "$corpus"
  cat "$corpus" >/dev/null  # into the page cache for both sides
  # zstd CLI: -T0 = one worker per core; /usr/bin/time reports max RSS in KiB.
  local cli cli_s cli_kib cli_mbs out
  cli=$(/usr/bin/time -f '%e %M' zstd -q -3 -T0 -f "$corpus" -o "$work/out.zst" 2>&1)
  read -r cli_s cli_kib <<<"$cli"
  local cli_ratio
  cli_ratio=$(awk -v a="$bytes" -v b="$(stat -c %s "$work/out.zst")" 'BEGIN{printf "%.2f", a/b}')
  rm -f "$work/out.zst"
  cli_mbs=$(awk -v b="$bytes" -v s="$cli_s" 'BEGIN{printf "%.1f", b/1e6/s}')
  rows+=("$label|zstd -3 -T0 CLI ($cores cores)|$cli_mbs|1.00|$cli_ratio|$((cli_kib / 1024))")
  for workers in 0 2; do
    out=$("$bench" run "$corpus" "$work/spool" "$workers" 3)
    local mbs kib ratio
    mbs=$(field mb_per_s <<<"$out")
    kib=$(field peak_rss_kib <<<"$out")
    ratio=$(field ratio <<<"$out")
    rows+=("$label|pipeline zstd -3 workers=$workers + AES-GCM|$mbs|$(awk -v a="$mbs" -v b="$cli_mbs" \
      'BEGIN{printf "%.2f", a/b}')|$ratio|$((kib / 1024))")
    echo "$label workers=$workers peak_rss_kib=$kib" >>"$work/rss"
  done
  rm -f "$corpus"
}

measure 100MB 100000000
measure "$((big / 1000000))MB" "$big"

printf '\n%-8s | %-40s | %8s | %8s | %10s | %13s\n' corpus "tool" "MB/s in" "vs CLI" "comp ratio" "peak RSS MiB"
printf -- '---------+------------------------------------------+----------+----------+------------+--------------\n'
for row in "${rows[@]}"; do
  IFS='|' read -r c t m r x k <<<"$row"
  printf '%-8s | %-40s | %8s | %8s | %10s | %13s\n' "$c" "$t" "$m" "$r" "$x" "$k"
done
echo
for workers in 0 2; do
  awk -v w="workers=$workers" '$2 == w { split($3, kv, "="); v[++n] = kv[2] }
    END { d = (v[2] - v[1]) / 1024; printf "pipeline %s: peak RSS 100MB %.1f MiB, big %.1f MiB, difference %+.1f MiB (target < 64 MiB, within +-10 MiB)\n", w, v[1] / 1024, v[2] / 1024, d }' "$work/rss"
done
