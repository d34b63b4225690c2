#pragma once
// TEMPORARY copy of helper C's header (replaced at merge).
#include <filesystem>
#include <string>
#include <string_view>

#include "backupy/selfupdate/release_key.hpp"
namespace backupy::selfupdate {
struct Verdict {
  bool ok = false;
  std::string reason;
};
Verdict verify_release(const std::filesystem::path& file, std::string_view expected_sha256_hex,
                       std::string_view signature, const ReleaseKey& key);
}  // namespace backupy::selfupdate
