#!/usr/bin/env bash
# The project's test command (README): installs what is missing, builds
# everything, and runs every suite twice — a Release build, then an
# ASan+UBSan build. The output ends with ctest's summary of the sanitizer run.
#
#   bash scripts/test.sh            # both builds
#   BACKUPY_TEST_BUILDS=release bash scripts/test.sh   # just one (release|asan)
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh || exit 1

builds=${BACKUPY_TEST_BUILDS:-"release asan"}
jobs=${BACKUPY_BUILD_JOBS:-$(nproc)}
status=0

for build in $builds; do
  case "$build" in
    # Compile time dominates the run: no debug info for the optimized build,
    # line tables only (-g1) for the sanitizer build's stack traces.
    release) flags=(-DCMAKE_BUILD_TYPE=Release) ;;
    asan) flags=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DBACKUPY_SANITIZE=ON) ;;
    *) echo "unknown build '$build' (release|asan)" >&2; exit 2 ;;
  esac
  dir=build/$build
  echo "=== [$build] configure + build"
  cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null || exit 1
  ninja -C "$dir" -j "$jobs" || exit 1
  echo "=== [$build] tests"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 600 || status=1
done
exit $status
