#pragma once
// TEMPORARY copy of helper C's header (replaced at merge).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
namespace backupy::selfupdate {
struct DownloadOptions {
  std::optional<std::string> ca_file;
  std::uint64_t max_bytes = 256ull * 1024 * 1024;
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  std::function<bool()> cancelled;
};
struct DownloadResult {
  bool ok = false;
  std::string error;
  std::uint64_t bytes = 0;
};
DownloadResult download_release(const std::string& url, const std::filesystem::path& dest,
                                const DownloadOptions& options);
}  // namespace backupy::selfupdate
