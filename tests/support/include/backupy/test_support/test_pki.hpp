#pragma once
// Throwaway TLS material for tests, made by tests/support/make-test-pki.sh
// (see the script for the files: ca.crt, server.crt/.key for localhost,
// 127.0.0.1 and ::1, wronghost.crt/.key, other-ca.crt, other-server.crt/.key).
#include <filesystem>

namespace backupy::test_support {

// Creates the PKI in dir unless it is already there and returns dir. Safe when
// several test processes race: each generates into a private directory and
// renames it into place, so dir is either absent or complete. Throws
// std::runtime_error if the script fails.
std::filesystem::path ensure_test_pki(const std::filesystem::path& dir);

// ensure_test_pki() on one directory per build tree (generated once, reused).
std::filesystem::path test_pki();

}  // namespace backupy::test_support
