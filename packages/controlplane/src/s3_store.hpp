#pragma once
// S3-compatible storage behind ObjectStore (private to the package): SigV4-presigned URLs.
#include "object_store.hpp"

namespace backupy::controlplane::detail {

class S3Store final : public ObjectStore {
 public:
  explicit S3Store(const StorageConfig& storage);  // storage.type == s3, validated at load

  PresignedUrl presign_put(const std::string& key, std::uint64_t now_ms) const override;
  PresignedUrl presign_get(const std::string& key, std::uint64_t now_ms) const override;
  // TODO(retention, size check): a presigned HEAD/DELETE sent by an HTTP client the control
  // plane does not have yet. Until then both throw std::runtime_error("... not supported").
  std::optional<std::uint64_t> stat(const std::string& key) const override;
  bool remove(const std::string& key) const override;

 private:
  PresignedUrl presign(const char* method, const std::string& key, std::uint64_t now_ms) const;

  StorageConfig storage_;  // a copy: a reload may replace the configuration
};

}  // namespace backupy::controlplane::detail
