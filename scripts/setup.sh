#!/usr/bin/env bash
# Installs every Debian package the project needs to build and test.
# Idempotent: when everything is already present it returns in well under a second.
set -euo pipefail

BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache git
  libboost-dev libboost-system-dev
  libprotobuf-dev protobuf-compiler
  libssl-dev openssl
  libsqlite3-dev sqlite3
  libyaml-cpp-dev libzstd-dev zstd zlib1g-dev
  nlohmann-json3-dev
  libgtest-dev libgmock-dev
  clang-format
  procps curl ca-certificates
)

missing=()
for pkg in "${BUILD_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "setup: missing packages: ${missing[*]}; run as root (or install them yourself)" >&2
  exit 1
fi

echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
