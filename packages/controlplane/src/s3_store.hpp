#pragma once
// S3-compatible storage behind ObjectStore (private to the package): SigV4-presigned URLs.
#include "object_store.hpp"

namespace backupy::upload {
struct HttpsResponse;
}

namespace backupy::controlplane::detail {

class S3Store final : public ObjectStore {
 public:
  explicit S3Store(const StorageConfig& storage);  // storage.type == s3, validated at load

  PresignedUrl presign_put(const std::string& key, std::uint64_t now_ms) const override;
  PresignedUrl presign_get(const std::string& key, std::uint64_t now_ms) const override;
  // A presigned HEAD / DELETE (the same SigV4 presigner as the agents' URLs), sent with
  // upload::https_request. Blocking (seconds when the storage is slow): never call them on the
  // server thread. remove() is true for 204 (S3 does not say whether the object existed).
  std::optional<std::uint64_t> stat(const std::string& key) const override;
  bool remove(const std::string& key) const override;

 private:
  PresignedUrl presign(const char* method, const std::string& key, std::uint64_t now_ms) const;
  // Sends a presigned method request for key; throws std::runtime_error if no answer came.
  upload::HttpsResponse send(const char* method, const std::string& key) const;

  StorageConfig storage_;  // a copy: a reload may replace the configuration
};

}  // namespace backupy::controlplane::detail
