# Cross-compiling for linux/arm64 (aarch64) on a Debian 12 amd64 host (scripts/cross-arm64.sh;
# docs/container.md "Multi-arch").
#
#   cmake -S . -B build/arm64 -G Ninja -DCMAKE_BUILD_TYPE=Release \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#         -DBACKUPY_ARM64_SYSROOT=/abs/path/to/build/arm64-sysroot
#
# Compilers: Debian's crossbuild-essential-arm64 (gcc 12, aarch64-linux-gnu-*). Libraries and
# headers: the sysroot that scripts/cross-arm64.sh assembles from Debian's arm64 packages
# (dpkg-deb -x; the arm64 -dev packages cannot be installed beside the amd64 ones the native
# build needs). Tests run under qemu-user (qemu-user-static).

# Cross-compiling: CMake sets CMAKE_CROSSCOMPILING, and try_run/tests use the emulator below.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

# The sysroot: a cache variable so that the script (or a developer) can place it anywhere;
# try_compile projects re-read this file and get the value through the forwarded variable.
set(BACKUPY_ARM64_SYSROOT "${CMAKE_CURRENT_LIST_DIR}/../../build/arm64-sysroot"
    CACHE PATH "arm64 sysroot (scripts/cross-arm64.sh builds it)")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES BACKUPY_ARM64_SYSROOT)
get_filename_component(BACKUPY_ARM64_SYSROOT "${BACKUPY_ARM64_SYSROOT}" ABSOLUTE)
if(NOT EXISTS "${BACKUPY_ARM64_SYSROOT}/usr/include/aarch64-linux-gnu")
  message(FATAL_ERROR "no arm64 sysroot at ${BACKUPY_ARM64_SYSROOT}: run scripts/cross-arm64.sh "
                      "(or set BACKUPY_ARM64_SYSROOT)")
endif()

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# --sysroot: every library the project links (and its headers, including the multiarch
# usr/include/aarch64-linux-gnu) comes from the sysroot. glibc and libstdc++ are the cross
# toolchain's own (/usr/aarch64-linux-gnu, which gcc searches before the sysroot): the same
# glibc 2.36 and GCC 12.2 as the sysroot's libc6/libstdc++6 the binaries load under qemu, built
# from the same sources (the sysroot's may be a newer Debian point release; those keep the ABI).
set(CMAKE_SYSROOT "${BACKUPY_ARM64_SYSROOT}")

# find_* look for target files in the sysroot only, never in the host's /usr (amd64 files with
# the same names), but run host programs (protoc, pkg-config, python3, node, ccache).
set(CMAKE_FIND_ROOT_PATH "${BACKUPY_ARM64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config (MariaDB, hiredis, mongoc): the sysroot's .pc files only, with their -I/-L paths
# prefixed by the sysroot.
set(ENV{PKG_CONFIG_LIBDIR}
    "${BACKUPY_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${BACKUPY_ARM64_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${BACKUPY_ARM64_SYSROOT}")
set(ENV{PKG_CONFIG_PATH} "")

# Code generation runs on the host: the host's protoc (protobuf-compiler), the same 3.21 as the
# sysroot's libprotobuf, so the generated code matches the headers.
set(Protobuf_PROTOC_EXECUTABLE /usr/bin/protoc CACHE FILEPATH "host protoc")

# add_test() of an executable target and gtest_discover_tests run the arm64 binaries through
# qemu-user; -L makes its dynamic loader and libraries (and any absolute path that exists in
# the sysroot) come from the sysroot.
find_program(BACKUPY_QEMU_AARCH64 qemu-aarch64-static REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR "${BACKUPY_QEMU_AARCH64};-L;${BACKUPY_ARM64_SYSROOT}")
