#include "backupy/test_support/test_pki.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <system_error>

namespace backupy::test_support {

std::filesystem::path ensure_test_pki(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  if (fs::exists(dir / "server.crt")) return dir;
  fs::create_directories(dir.parent_path());
  std::string staging = (dir.parent_path() / (".pki-XXXXXX")).string();
  if (::mkdtemp(staging.data()) == nullptr) {
    throw std::runtime_error("cannot create a staging directory next to " + dir.string());
  }
  const std::string command =
      "bash '" BACKUPY_SOURCE_DIR "/tests/support/make-test-pki.sh' '" + staging + "'";
  if (std::system(command.c_str()) != 0) {
    fs::remove_all(staging);
    throw std::runtime_error("make-test-pki.sh failed for " + staging);
  }
  std::error_code ec;
  fs::rename(staging, dir, ec);
  // Losing the race to another test process is fine: its directory is complete.
  if (ec) fs::remove_all(staging);
  if (!fs::exists(dir / "server.crt")) {
    throw std::runtime_error("cannot put the test PKI in place at " + dir.string() + ": " +
                             ec.message());
  }
  return dir;
}

std::filesystem::path test_pki() {
  return ensure_test_pki(BACKUPY_TEST_PKI_DIR);
}

}  // namespace backupy::test_support
