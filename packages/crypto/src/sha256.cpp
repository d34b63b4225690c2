#include <algorithm>

#include "backupy/crypto/crypto.hpp"
#include "openssl_util.hpp"

namespace backupy::crypto {

struct Sha256::Impl {
  detail::MdCtx ctx{EVP_MD_CTX_new()};

  void init() {
    if (!ctx) detail::throw_openssl("EVP_MD_CTX_new failed");
    if (EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
      detail::throw_openssl("SHA-256 init failed");
    }
  }
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  impl_->init();
}

Sha256::~Sha256() = default;

void Sha256::update(std::span<const std::uint8_t> data) {
  while (!data.empty()) {
    const std::size_t chunk = std::min(data.size(), detail::kMaxChunk);
    if (EVP_DigestUpdate(impl_->ctx.get(), data.data(), chunk) != 1) {
      detail::throw_openssl("SHA-256 update failed");
    }
    data = data.subspan(chunk);
  }
}

std::array<std::uint8_t, 32> Sha256::finish() {
  std::array<std::uint8_t, 32> digest{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(impl_->ctx.get(), digest.data(), &length) != 1 ||
      length != digest.size()) {
    detail::throw_openssl("SHA-256 final failed");
  }
  impl_->init();
  return digest;
}

std::array<std::uint8_t, 32> sha256(std::span<const std::uint8_t> data) {
  Sha256 hasher;
  hasher.update(data);
  return hasher.finish();
}

std::string sha256_hex(std::span<const std::uint8_t> data) {
  // Local encoder: crypto sits below core in the layering and needs no more.
  static constexpr char kDigits[] = "0123456789abcdef";
  const auto digest = sha256(data);
  std::string out;
  out.reserve(digest.size() * 2);
  for (std::uint8_t byte : digest) {
    out += kDigits[byte >> 4];
    out += kDigits[byte & 0x0F];
  }
  return out;
}

}  // namespace backupy::crypto
