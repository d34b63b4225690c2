#include "s3_store.hpp"

#include <chrono>
#include <stdexcept>

#include "backupy/core/time.hpp"
#include "backupy/upload/https_request.hpp"
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

upload::HttpsResponse S3Store::send(const char* method, const std::string& key) const {
  upload::HttpsRequest request;
  request.method = method;
  request.url = presign(method, key, core::now_ms()).url;
  upload::HttpsOptions options;
  // A background check, not an operator waiting: fail soon, the caller retries later.
  options.connect_timeout = std::chrono::seconds(5);
  options.idle_timeout = std::chrono::seconds(15);
  options.max_body_bytes = 64 * 1024;  // error documents only
  upload::HttpsResponse response = upload::https_request(request, options);
  if (!response.ok()) {
    // https_request's errors never carry the query string (the signature).
    throw std::runtime_error(std::string(method) + " " + key + ": " + response.error);
  }
  return response;
}

std::optional<std::uint64_t> S3Store::stat(const std::string& key) const {
  const upload::HttpsResponse response = send("HEAD", key);
  if (response.status == 404) return std::nullopt;
  if (response.status != 200) {
    throw std::runtime_error("HEAD " + key + ": the storage answered HTTP " +
                             std::to_string(response.status));
  }
  if (!response.content_length) {
    throw std::runtime_error("HEAD " + key + ": the storage answered without a Content-Length");
  }
  return *response.content_length;
}

bool S3Store::remove(const std::string& key) const {
  const upload::HttpsResponse response = send("DELETE", key);
  // S3 answers 204 whether or not the object existed; 404 comes from stricter servers.
  if (response.status == 404) return false;
  if (response.status != 204 && response.status != 200) {
    throw std::runtime_error("DELETE " + key + ": the storage answered HTTP " +
                             std::to_string(response.status));
  }
  return true;
}

}  // namespace backupy::controlplane::detail
