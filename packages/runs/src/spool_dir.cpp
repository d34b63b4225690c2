#include "spool_dir.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>
#include <system_error>
#include <vector>

#include "backupy/core/files.hpp"
#include "backupy/core/hex.hpp"
#include "backupy/crypto/crypto.hpp"

namespace backupy::runs::detail {

namespace fs = std::filesystem;

namespace {

bool is_safe_id(const std::string& id) {
  if (id.empty() || id.size() > 100 || id.front() == '.') return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

}  // namespace

std::string spool_file_name(const std::string& run_id) {
  if (is_safe_id(run_id)) return run_id + std::string(kSpoolSuffix);
  const std::string digest = crypto::sha256_hex(
      std::span(reinterpret_cast<const std::uint8_t*>(run_id.data()), run_id.size()));
  return "run-" + digest.substr(0, 32) + std::string(kSpoolSuffix);
}

std::set<std::string> sweep_spool(const fs::path& dir, const std::set<std::string>& keep) {
  core::ensure_private_dir(dir);
  std::set<std::string> removed;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (keep.contains(name)) continue;
    std::error_code ec;
    fs::remove_all(entry.path(), ec);
    if (!ec) removed.insert(name);
  }
  return removed;
}

std::uint64_t spool_usage(const fs::path& dir, const std::string& except) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().filename() == except) continue;
    std::error_code size_ec;
    if (entry.is_regular_file(size_ec)) {
      const auto size = entry.file_size(size_ec);
      if (!size_ec) total += size;
    }
  }
  return total;
}

std::optional<std::string> check_spool_file(const fs::path& file, std::uint64_t size,
                                            const std::string& sha256_hex) {
  std::error_code ec;
  const auto actual = fs::file_size(file, ec);
  if (ec) return "spool file " + file.string() + " is missing: " + ec.message();
  if (actual != size) {
    return "spool file " + file.string() + " has " + std::to_string(actual) +
           " bytes; the run recorded " + std::to_string(size);
  }
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "cannot read spool file " + file.string() + ": " + std::strerror(errno);
  crypto::Sha256 hash;
  std::vector<std::uint8_t> buffer(256 * 1024);
  ssize_t n = 0;
  while ((n = ::read(fd, buffer.data(), buffer.size())) > 0) {
    hash.update(std::span(buffer.data(), static_cast<std::size_t>(n)));
  }
  const int read_errno = errno;
  ::close(fd);
  if (n < 0) return "cannot read spool file " + file.string() + ": " + std::strerror(read_errno);
  const auto digest = hash.finish();
  if (core::to_hex(std::span<const std::uint8_t>(digest)) != sha256_hex) {
    return "spool file " + file.string() + " does not match its recorded SHA-256";
  }
  return std::nullopt;
}

ScratchDir::ScratchDir(fs::path path) : path_(std::move(path)) {
  std::error_code ec;
  fs::remove_all(path_, ec);  // a leftover of a crash: never trust its contents
  core::ensure_private_dir(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace backupy::runs::detail
