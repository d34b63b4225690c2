#include "object_store.hpp"

#include "local_store.hpp"
#include "s3_store.hpp"

namespace backupy::controlplane::detail {

std::unique_ptr<ObjectStore> make_object_store(const StorageConfig& storage,
                                               std::span<const std::uint8_t> url_key,
                                               const std::string& default_public_url) {
  if (storage.type == StorageType::s3) return std::make_unique<S3Store>(storage);
  return std::make_unique<LocalStore>(
      storage, url_key, storage.public_url.empty() ? default_public_url : storage.public_url);
}

}  // namespace backupy::controlplane::detail
