#include <openssl/core_names.h>
#include <openssl/params.h>

#include <vector>

#include "backupy/crypto/crypto.hpp"
#include "openssl_util.hpp"

namespace backupy::crypto {
namespace {

// OSSL_PARAM wants non-const pointers even for inputs it only reads.
OSSL_PARAM octets(const char* name, std::span<const std::uint8_t> data) {
  return OSSL_PARAM_construct_octet_string(name, const_cast<std::uint8_t*>(data.data()),
                                           data.size());
}

}  // namespace

Bytes hkdf_sha256(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                  std::span<const std::uint8_t> info, std::size_t length) {
  // RFC 5869 section 2.3: L <= 255 * HashLen.
  if (length == 0 || length > 255 * 32) {
    throw CryptoError("HKDF-SHA256 output length must be 1..8160 bytes");
  }
  detail::Kdf kdf(EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr));
  if (!kdf) detail::throw_openssl("HKDF is not available");
  detail::KdfCtx ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) detail::throw_openssl("EVP_KDF_CTX_new failed");

  // An empty IKM is legal in RFC 5869, but OpenSSL treats a NULL key pointer
  // as "not set"; point at a dummy byte with length 0 instead.
  static const std::uint8_t kEmpty = 0;
  if (ikm.empty()) ikm = std::span(&kEmpty, 0);

  char digest[] = "SHA256";
  std::vector<OSSL_PARAM> params;
  params.push_back(OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0));
  params.push_back(octets(OSSL_KDF_PARAM_KEY, ikm));
  // Omitting the salt makes OpenSSL use HashLen zero bytes, which is exactly
  // what RFC 5869 prescribes for an absent salt (and HMAC-equivalent to "").
  if (!salt.empty()) params.push_back(octets(OSSL_KDF_PARAM_SALT, salt));
  if (!info.empty()) params.push_back(octets(OSSL_KDF_PARAM_INFO, info));
  params.push_back(OSSL_PARAM_construct_end());

  Bytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params.data()) != 1) {
    detail::throw_openssl("HKDF-SHA256 derive failed");
  }
  return out;
}

}  // namespace backupy::crypto
