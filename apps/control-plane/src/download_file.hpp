#pragma once
// A download's destination: a temp file beside the target, hashed as it is written, renamed
// over the target only when complete and verified; removed on every other path, so FILE is
// never left half-written.
#include <array>
#include <cstdint>
#include <filesystem>
#include <string_view>

#include "backupy/core/files.hpp"
#include "backupy/crypto/crypto.hpp"

namespace backupy::cpcli {

class DownloadFile {
 public:
  // Creates "<target>.part-XXXXXX" (0600). Throws CommandError.
  explicit DownloadFile(std::filesystem::path target);
  ~DownloadFile();  // removes the temp file unless commit() succeeded
  DownloadFile(const DownloadFile&) = delete;
  DownloadFile& operator=(const DownloadFile&) = delete;

  // Appends and hashes; false (with errno set) if the write failed.
  bool write(std::string_view data);
  std::uint64_t size() const { return size_; }
  // The SHA-256 of everything written (once: it finishes the hash).
  std::array<std::uint8_t, 32> finish_sha256() { return hash_.finish(); }
  // fsync, then rename over the target. Throws CommandError.
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  core::UniqueFd fd_;
  crypto::Sha256 hash_;
  std::uint64_t size_ = 0;
  bool committed_ = false;
};

}  // namespace backupy::cpcli
