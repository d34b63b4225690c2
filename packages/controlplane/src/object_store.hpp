#pragma once
// Where backups are stored, seen from the control plane (private to the package): presigned
// URLs for the agents' uploads and the operators' downloads, and the control plane's own view
// of an object (size, removal). Implementations: S3Store (s3_store.hpp) and LocalStore
// (local_store.hpp). make_object_store() picks one from the configuration.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "backupy/controlplane/server_config.hpp"

namespace backupy::controlplane::detail {

struct PresignedUrl {
  std::string url;  // carries its signature: never log it
  std::uint64_t expires_at_ms = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // URLs valid from now_ms (ms since the epoch) for the configured url_ttl_sec. key is a
  // validated object key ("agents/<agent>/<job>/<run>.bkpy").
  virtual PresignedUrl presign_put(const std::string& key, std::uint64_t now_ms) const = 0;
  virtual PresignedUrl presign_get(const std::string& key, std::uint64_t now_ms) const = 0;
  // The object's size, or nullopt if it does not exist. Throws std::runtime_error when the
  // store cannot answer.
  virtual std::optional<std::uint64_t> stat(const std::string& key) const = 0;
  // Deletes the object; false if there was none. Throws std::runtime_error on failure.
  virtual bool remove(const std::string& key) const = 0;
};

// The store for storage. url_key signs local URLs (see ServerState::object_url_key());
// default_public_url is used by a local store without storage.public_url.
std::unique_ptr<ObjectStore> make_object_store(const StorageConfig& storage,
                                               std::span<const std::uint8_t> url_key,
                                               const std::string& default_public_url);

}  // namespace backupy::controlplane::detail
