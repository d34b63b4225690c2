#pragma once
// The embedded object store (private to the package): objects are files under storage.dir,
// served by the control plane's own HTTPS listener (object_transfer.cpp) to whoever holds a
// URL it signed:
//
//   <public_url>/objects/<key, URI-encoded, '/' kept>?expires=<unix seconds>&sig=<hex>
//   sig = lowercase hex HMAC-SHA256(url key, "<METHOD>\n<key>\n<expires>")
//
// The key in the string to sign is the decoded key (agents/a/job 1/r.bkpy, not job%201).
// METHOD is "PUT" or "GET", so an upload URL cannot download and vice versa; expires is the
// decimal text exactly as it appears in the URL. The URL key is never logged.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "object_store.hpp"

namespace backupy::controlplane::detail {

// Files being uploaded live here (inside dir, so the final rename stays on one file system);
// no key may start with it.
inline constexpr std::string_view kPartialDir = ".partial";

// True for "seg/seg/..." (at most 1024 bytes) whose segments are not empty (so no leading,
// trailing or double '/'), not "." or "..", hold no control character, and whose first segment
// is not kPartialDir. Job ids are free text, so other bytes (spaces, UTF-8) are allowed.
bool is_valid_object_key(std::string_view key);

// The key of a request path after "/objects/": percent-decoded; nullopt on a bad escape.
std::optional<std::string> decode_object_path(std::string_view encoded);

enum class UrlCheck { ok, malformed, bad_signature, expired };
// Why a URL was refused, for the 403 answer ("ok" for ok).
std::string_view to_string(UrlCheck check);

class LocalStore final : public ObjectStore {
 public:
  LocalStore(const StorageConfig& storage, std::span<const std::uint8_t> url_key,
             std::string public_url);
  ~LocalStore() override;
  LocalStore(const LocalStore&) = delete;
  LocalStore& operator=(const LocalStore&) = delete;

  PresignedUrl presign_put(const std::string& key, std::uint64_t now_ms) const override;
  PresignedUrl presign_get(const std::string& key, std::uint64_t now_ms) const override;
  std::optional<std::uint64_t> stat(const std::string& key) const override;
  bool remove(const std::string& key) const override;

  // Checks the query ("expires=..&sig=..", in either order, nothing else) of a request for a
  // valid key. The signature is compared in constant time before the expiry is looked at.
  UrlCheck verify(std::string_view method, std::string_view key, std::string_view query,
                  std::uint64_t now_ms) const;

  // Deletes the files of kPartialDir: uploads that a crash of the control plane cut off (a
  // running server removes its own). Call at start-up only, before the listener accepts.
  // Returns how many were removed; errors are ignored (the next start tries again).
  std::size_t remove_partial_files() const;

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path path_of(std::string_view key) const { return dir_ / key; }
  std::uint64_t max_object_bytes() const { return max_object_bytes_; }

 private:
  PresignedUrl presign(std::string_view method, const std::string& key, std::uint64_t now_ms) const;
  std::string signature(std::string_view method, std::string_view key,
                        std::string_view expires) const;

  std::filesystem::path dir_;
  std::string public_url_;
  std::vector<std::uint8_t> url_key_;
  std::uint32_t ttl_sec_;
  std::uint64_t max_object_bytes_;
};

}  // namespace backupy::controlplane::detail
