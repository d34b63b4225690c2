#include "s3_store.hpp"

#include <stdexcept>

#include "sigv4.hpp"

namespace backupy::controlplane::detail {

S3Store::S3Store(const StorageConfig& storage) : storage_(storage) {}

PresignedUrl S3Store::presign(const char* method, const std::string& key,
                              std::uint64_t now_ms) const {
  const std::optional<sigv4::Endpoint> endpoint = sigv4::parse_endpoint(storage_.endpoint);
  if (!endpoint) throw std::logic_error("storage.endpoint was validated at load");
  sigv4::PresignRequest request;
  request.method = method;
  request.endpoint = *endpoint;
  request.path_style = storage_.path_style;
  request.bucket = storage_.bucket;
  request.key = key;
  request.region = storage_.region;
  request.now_sec = static_cast<std::int64_t>(now_ms / 1000);
  request.expires_sec = storage_.url_ttl_sec;
  PresignedUrl out;
  out.url = sigv4::presign_url(request, {storage_.access_key_id, storage_.secret_access_key});
  out.expires_at_ms =
      (static_cast<std::uint64_t>(request.now_sec) + storage_.url_ttl_sec) * std::uint64_t{1000};
  return out;
}

PresignedUrl S3Store::presign_put(const std::string& key, std::uint64_t now_ms) const {
  return presign("PUT", key, now_ms);
}

PresignedUrl S3Store::presign_get(const std::string& key, std::uint64_t now_ms) const {
  return presign("GET", key, now_ms);
}

std::optional<std::uint64_t> S3Store::stat(const std::string&) const {
  throw std::runtime_error("stat is not supported for s3 storage yet");
}

bool S3Store::remove(const std::string&) const {
  throw std::runtime_error("remove is not supported for s3 storage yet");
}

}  // namespace backupy::controlplane::detail
