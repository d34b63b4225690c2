#pragma once
// TEMPORARY copy of helper C's header (replaced at merge).
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
namespace backupy::selfupdate {
class ReleaseKey {
 public:
  static ReleaseKey from_pem(std::string_view pem);
  const std::string& fingerprint() const;
  ReleaseKey(ReleaseKey&&) noexcept;
  ReleaseKey& operator=(ReleaseKey&&) noexcept;
  ~ReleaseKey();

 private:
  struct Impl;
  ReleaseKey();
  std::unique_ptr<Impl> impl_;
};
std::optional<std::string_view> built_in_release_key_pem();
std::optional<ReleaseKey> configured_release_key(
    const std::optional<std::filesystem::path>& deploy_key_file);
}  // namespace backupy::selfupdate
