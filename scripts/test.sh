#!/usr/bin/env bash
# The project's test command (README): installs what is missing, checks the
# formatting, builds everything, and runs every suite twice — a Release build, then an
# ASan+UBSan build. The output ends with ctest's summary of the sanitizer run.
#
#   bash scripts/test.sh            # both builds
#   BACKUPY_TEST_BUILDS=release bash scripts/test.sh   # just one (release|asan)
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh || exit 1

# Formatting is part of the build's contract: an unformatted file fails the run
# (fix with: git ls-files '*.cpp' '*.hpp' | xargs clang-format -i).
echo "=== clang-format check"
sources() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files '*.cpp' '*.hpp'
  else
    find packages apps tests -name '*.cpp' -o -name '*.hpp' -not -path '*/node_modules/*'
  fi
}
if ! sources | xargs clang-format --dry-run --Werror; then
  echo "clang-format: the files above are not formatted" >&2
  exit 1
fi

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
