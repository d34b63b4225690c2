#include "local_store.hpp"

#include <openssl/crypto.h>

#include <charconv>
#include <optional>
#include <stdexcept>
#include <system_error>

#include "backupy/core/hex.hpp"
#include "backupy/core/percent.hpp"
#include "backupy/crypto/crypto.hpp"
#include "hmac.hpp"
#include "sigv4.hpp"

namespace backupy::controlplane::detail {
namespace {

constexpr std::size_t kMaxKeyBytes = 1024;

bool is_key_char(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte >= 0x20 && byte != 0x7f;
}

}  // namespace

bool is_valid_object_key(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyBytes) return false;
  bool first = true;
  while (true) {
    const std::size_t slash = key.find('/');
    const std::string_view segment = key.substr(0, slash);
    if (segment.empty() || segment == "." || segment == "..") return false;
    if (first && segment == kPartialDir) return false;
    for (char c : segment) {
      if (!is_key_char(c)) return false;
    }
    if (slash == std::string_view::npos) return true;
    key.remove_prefix(slash + 1);
    first = false;
  }
}

std::optional<std::string> decode_object_path(std::string_view encoded) {
  return core::percent_decode(encoded);
}

std::string_view to_string(UrlCheck check) {
  switch (check) {
    case UrlCheck::ok: return "ok";
    case UrlCheck::malformed: return "malformed signature parameters (expected expires and sig)";
    case UrlCheck::bad_signature: return "bad signature";
    case UrlCheck::expired: return "url expired";
  }
  return "bad signature";
}

LocalStore::LocalStore(const StorageConfig& storage, std::span<const std::uint8_t> url_key,
                       std::string public_url)
    : dir_(storage.dir),
      public_url_(std::move(public_url)),
      url_key_(url_key.begin(), url_key.end()),
      ttl_sec_(storage.url_ttl_sec),
      max_object_bytes_(storage.max_object_bytes) {
  while (public_url_.ends_with('/')) public_url_.pop_back();
}

LocalStore::~LocalStore() {
  crypto::secure_wipe(url_key_);
}

std::string LocalStore::signature(std::string_view method, std::string_view key,
                                  std::string_view expires) const {
  std::string text;
  text.append(method).append("\n").append(key).append("\n").append(expires);
  const Digest digest = hmac_sha256(url_key_, text);
  return core::to_hex(digest);
}

PresignedUrl LocalStore::presign(std::string_view method, const std::string& key,
                                 std::uint64_t now_ms) const {
  const std::uint64_t expires = now_ms / 1000 + ttl_sec_;
  const std::string expires_text = std::to_string(expires);
  PresignedUrl out;
  if (!is_valid_object_key(key)) throw std::invalid_argument("not a valid object key: " + key);
  out.url = public_url_ + "/objects/" + core::percent_encode(key, /*keep_slash=*/true) +
            "?expires=" + expires_text + "&sig=" + signature(method, key, expires_text);
  out.expires_at_ms = expires * 1000;
  return out;
}

PresignedUrl LocalStore::presign_put(const std::string& key, std::uint64_t now_ms) const {
  return presign("PUT", key, now_ms);
}

PresignedUrl LocalStore::presign_get(const std::string& key, std::uint64_t now_ms) const {
  return presign("GET", key, now_ms);
}

std::optional<std::uint64_t> LocalStore::stat(const std::string& key) const {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path_of(key), ec);
  if (status.type() == std::filesystem::file_type::not_found) return std::nullopt;
  if (ec) throw std::runtime_error("stat " + key + ": " + ec.message());
  if (status.type() != std::filesystem::file_type::regular) return std::nullopt;
  const std::uintmax_t size = std::filesystem::file_size(path_of(key), ec);
  if (ec) throw std::runtime_error("stat " + key + ": " + ec.message());
  return static_cast<std::uint64_t>(size);
}

bool LocalStore::remove(const std::string& key) const {
  std::error_code ec;
  const bool removed = std::filesystem::remove(path_of(key), ec);
  if (ec) throw std::runtime_error("remove " + key + ": " + ec.message());
  return removed;
}

std::size_t LocalStore::remove_partial_files() const {
  std::error_code ec;
  std::size_t removed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ / kPartialDir, ec)) {
    std::error_code ignored;
    if (entry.is_regular_file(ignored) && std::filesystem::remove(entry.path(), ignored)) ++removed;
  }
  return removed;
}

UrlCheck LocalStore::verify(std::string_view method, std::string_view key, std::string_view query,
                            std::uint64_t now_ms) const {
  std::optional<std::string_view> expires;
  std::optional<std::string_view> sig;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = param.find('=');
    if (eq == std::string_view::npos) return UrlCheck::malformed;
    const std::string_view name = param.substr(0, eq);
    std::optional<std::string_view>& slot = name == "expires" ? expires : sig;
    if ((name != "expires" && name != "sig") || slot) return UrlCheck::malformed;
    slot = param.substr(eq + 1);
  }
  if (!expires || !sig || expires->empty() || expires->size() > 19) return UrlCheck::malformed;
  std::uint64_t expires_sec = 0;
  const auto [end, error] =
      std::from_chars(expires->data(), expires->data() + expires->size(), expires_sec);
  if (error != std::errc() || end != expires->data() + expires->size()) {
    return UrlCheck::malformed;
  }
  // Both sides are 64 lowercase hex characters when they can match; compare in constant time.
  const std::string expected = signature(method, key, *expires);
  if (sig->size() != expected.size() ||
      CRYPTO_memcmp(sig->data(), expected.data(), expected.size()) != 0) {
    return UrlCheck::bad_signature;
  }
  if (now_ms / 1000 >= expires_sec) return UrlCheck::expired;
  return UrlCheck::ok;
}

}  // namespace backupy::controlplane::detail
