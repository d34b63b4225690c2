#!/usr/bin/env bash
# Multi-arch proof (issue 8, docs/container.md "Multi-arch"): cross-builds the project for
# linux/arm64 (aarch64) with Debian 12's cross toolchain and runs the unit tests of that build
# (ctest -L unit) under qemu-user. Runs as root on Debian 12 (CI: the arm64 job of
# .github/workflows/ci.yml); idempotent, and a second run reuses the sysroot and the build.
#
#   1. apt: crossbuild-essential-arm64, qemu-user-static, file, then scripts/setup.sh (the host
#      tools the unit tests run: node test tools, promtool, openssl, systemd-analyze, ...)
#   2. the arm64 sysroot: Debian's arm64 packages of every library the build links (and their
#      dependency closure) unpacked with dpkg-deb -x. Installing them with apt is not possible:
#      several -dev packages (libpq-dev, libyaml-cpp-dev, libmariadb-dev, libmongoc-dev) are not
#      Multi-Arch: same, so their :arm64 versions would remove the amd64 ones. Skipped when the
#      sysroot is complete for the same package list.
#   3. configure (cmake/toolchains/aarch64-linux-gnu.cmake) and build the target unit_tests
#   4. check that backupy-agent is an ARM aarch64 ELF
#   5. ctest -L unit: every test binary runs under qemu-aarch64-static (the toolchain's
#      CMAKE_CROSSCOMPILING_EMULATOR). The output ends with ctest's summary.
#
# Environment:
#   BACKUPY_BUILD_JOBS      parallel compile jobs and ctest jobs (default: nproc)
#   BACKUPY_ARM64_BUILD     build directory (default: build/arm64)
#   BACKUPY_ARM64_SYSROOT   sysroot directory (default: build/arm64-sysroot)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${BACKUPY_BUILD_JOBS:-$(nproc)}
build=${BACKUPY_ARM64_BUILD:-build/arm64}
sysroot=${BACKUPY_ARM64_SYSROOT:-build/arm64-sysroot}
[[ $sysroot = /* ]] || sysroot=$root/$sysroot
start=$SECONDS

step() { echo "=== $* ($((SECONDS - start)) s)"; }

# Every library the build and the unit tests link, as arm64 -dev packages (scripts/setup.sh's
# BUILD_PACKAGES that carry target files, plus GoogleTest), and the C/C++ runtime the binaries
# load under qemu (the compiler links against the cross toolchain's copy of the same glibc 2.36
# and GCC 12 runtime: cmake/toolchains/aarch64-linux-gnu.cmake). apt resolves the dependencies.
SYSROOT_PACKAGES=(
  libc6 libstdc++6 libgcc-s1
  libboost-dev libboost-system-dev
  libprotobuf-dev
  libssl-dev
  libsqlite3-dev
  libyaml-cpp-dev libzstd-dev zlib1g-dev
  nlohmann-json3-dev
  libhowardhinnant-date-dev
  prometheus-cpp-dev
  libpq-dev libmariadb-dev libhiredis-dev libmongoc-dev
  libgtest-dev libgmock-dev
)
# Bump when the way the sysroot is assembled changes: an old sysroot is then rebuilt.
SYSROOT_FORMAT=1

if [[ $(id -u) -ne 0 ]]; then
  echo "cross-arm64: run as root (it installs packages with apt)" >&2
  exit 1
fi

step "host packages"
export DEBIAN_FRONTEND=noninteractive
# The arm64 package lists (apt only: nothing of arm64 is installed into the host).
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  apt-get update -qq
fi
host_missing=()
for pkg in crossbuild-essential-arm64 qemu-user-static file nodejs npm; do
  # node and npm: the unit tests of tests/deploy and tests/support run the Node test tools
  # (setup.sh expects them from the base image; a bare debian:12 has none).
  [[ $pkg = nodejs || $pkg = npm ]] && command -v "${pkg/nodejs/node}" >/dev/null && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
    host_missing+=("$pkg")
done
if ((${#host_missing[@]} > 0)); then
  echo "cross-arm64: installing ${host_missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${host_missing[@]}" >/dev/null
fi
# The native build's packages, the host tools the unit tests run, and npm ci of the test tools.
bash scripts/setup.sh

# --- the sysroot -------------------------------------------------------------------------
stamp=$sysroot/.backupy-sysroot
want_stamp="format=$SYSROOT_FORMAT packages=${SYSROOT_PACKAGES[*]}"
if [[ -f $stamp && $(head -n 1 "$stamp") == "$want_stamp" ]]; then
  step "arm64 sysroot: $sysroot is complete (cached)"
else
  step "arm64 sysroot: resolving and downloading"
  sysroot_start=$SECONDS
  rm -rf "$sysroot" "$sysroot.work"
  work=$sysroot.work
  mkdir -p "$work/debs/partial" "$work/state"
  : >"$work/state/status"
  # apt as if the machine were arm64 and had nothing installed: it resolves the dependency
  # closure (Depends, Pre-Depends; no Recommends) from the arm64 package lists and downloads
  # it, verified against the signed lists, into a private directory. Nothing is installed.
  apt_arm64=(apt-get -qq -o APT::Architecture=arm64 -o APT::Architectures::=arm64
    -o Dir::State::status="$work/state/status" -o Dir::Cache::archives="$work/debs"
    -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
  "${apt_arm64[@]}" install --download-only --no-install-recommends -y "${SYSROOT_PACKAGES[@]}" \
    >/dev/null
  debs=("$work"/debs/*.deb)
  step "arm64 sysroot: unpacking ${#debs[@]} packages"
  mkdir -p "$work/root"
  for deb in "${debs[@]}"; do
    dpkg-deb -x "$deb" "$work/root"
  done
  # Absolute symlinks (e.g. usr/lib/aarch64-linux-gnu/libfoo.so -> /lib/...) would point into
  # the host; make them relative so that they stay inside the sysroot.
  while IFS= read -r -d '' link; do
    target=$(readlink "$link")
    [[ $target = /* ]] || continue
    ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$work/root$target")" "$link"
  done < <(find "$work/root" -type l -print0)
  # The dynamic loader, where the arm64 binaries' PT_INTERP says (/lib/ld-linux-aarch64.so.1).
  if [[ ! -e $work/root/lib/ld-linux-aarch64.so.1 ]]; then
    echo "cross-arm64: the sysroot has no /lib/ld-linux-aarch64.so.1 (libc6:arm64 missing?)" >&2
    exit 1
  fi
  for deb in "${debs[@]}"; do basename "$deb"; done >"$work/root/.backupy-sysroot-debs"
  echo "$want_stamp" >"$work/root/.backupy-sysroot"
  mv "$work/root" "$sysroot"
  rm -rf "$work"
  step "arm64 sysroot: ${#debs[@]} packages in $((SECONDS - sysroot_start)) s"
fi

# --- configure, build -------------------------------------------------------------------
step "configure $build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchains/aarch64-linux-gnu.cmake" \
  -DBACKUPY_ARM64_SYSROOT="$sysroot" >/dev/null
step "build unit_tests (-j $jobs)"
build_start=$SECONDS
cmake --build "$build" --target unit_tests -j "$jobs"
step "built in $((SECONDS - build_start)) s"

# --- the proof that it is an arm64 build ---------------------------------------------------
agent_type=$(file -b "$build/apps/agent/backupy-agent")
echo "backupy-agent: $agent_type"
if [[ $agent_type != *"ARM aarch64"* ]]; then
  echo "cross-arm64: backupy-agent is not an ARM aarch64 ELF" >&2
  exit 1
fi

# --- the unit tests under qemu ------------------------------------------------------------
# Every unit test runs: tests must not depend on the host's speed (qemu-user runs this code
# several times slower), so they wait for events, never for fixed delays.
step "ctest -L unit under qemu-aarch64-static"
ctest --test-dir "$build" -L unit --output-on-failure -j "$jobs" --timeout 600
