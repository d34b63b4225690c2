#include "backupy/crypto/detail/aes_gcm.hpp"

#include <openssl/err.h>

#include <algorithm>

#include "backupy/crypto/crypto.hpp"
#include "openssl_util.hpp"

namespace backupy::crypto {
namespace detail {
namespace {

void require_key(std::span<const std::uint8_t> key) {
  // A wrong-sized key is a programming error, not an authentication failure.
  if (key.size() != kGcmKeySize) throw CryptoError("AES-256-GCM key must be 32 bytes");
}

CipherCtx new_ctx() {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) throw_openssl("EVP_CIPHER_CTX_new failed");
  return ctx;
}

void feed_aad(EVP_CIPHER_CTX* ctx, std::span<const std::uint8_t> aad, bool encrypt) {
  while (!aad.empty()) {
    const std::size_t chunk = std::min(aad.size(), kMaxChunk);
    int ignored = 0;
    const int ok =
        encrypt ? EVP_EncryptUpdate(ctx, nullptr, &ignored, aad.data(), static_cast<int>(chunk))
                : EVP_DecryptUpdate(ctx, nullptr, &ignored, aad.data(), static_cast<int>(chunk));
    if (ok != 1) throw_openssl("AES-256-GCM AAD update failed");
    aad = aad.subspan(chunk);
  }
}

}  // namespace

Bytes aes256gcm_seal_with_nonce(std::span<const std::uint8_t> key,
                                std::span<const std::uint8_t> nonce,
                                std::span<const std::uint8_t> plaintext,
                                std::span<const std::uint8_t> aad) {
  require_key(key);
  if (nonce.size() != kGcmNonceSize) throw CryptoError("AES-256-GCM nonce must be 12 bytes");

  Bytes out(kGcmNonceSize + plaintext.size() + kGcmTagSize);
  std::copy(nonce.begin(), nonce.end(), out.begin());

  CipherCtx ctx = new_ctx();
  // 12 bytes is GCM's default IV length, so no SET_IVLEN call is needed.
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data()) != 1) {
    throw_openssl("AES-256-GCM encrypt init failed");
  }
  feed_aad(ctx.get(), aad, true);

  std::uint8_t* cursor = out.data() + kGcmNonceSize;
  while (!plaintext.empty()) {
    const std::size_t chunk = std::min(plaintext.size(), kMaxChunk);
    int written = 0;
    if (EVP_EncryptUpdate(ctx.get(), cursor, &written, plaintext.data(), static_cast<int>(chunk)) !=
        1) {
      throw_openssl("AES-256-GCM encrypt failed");
    }
    cursor += written;
    plaintext = plaintext.subspan(chunk);
  }
  int final_len = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), cursor, &final_len) != 1) {
    throw_openssl("AES-256-GCM encrypt final failed");
  }
  cursor += final_len;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagSize), cursor) !=
      1) {
    throw_openssl("AES-256-GCM get tag failed");
  }
  return out;
}

}  // namespace detail

Bytes aes256gcm_seal(std::span<const std::uint8_t> key, std::span<const std::uint8_t> plaintext,
                     std::span<const std::uint8_t> aad) {
  // 96-bit random nonces: collision risk stays negligible far beyond the
  // number of seals one agent key will ever see.
  const Bytes nonce = random_bytes(detail::kGcmNonceSize);
  return detail::aes256gcm_seal_with_nonce(key, nonce, plaintext, aad);
}

std::optional<Bytes> aes256gcm_open(std::span<const std::uint8_t> key,
                                    std::span<const std::uint8_t> sealed,
                                    std::span<const std::uint8_t> aad) {
  using namespace detail;
  require_key(key);
  if (sealed.size() < kGcmNonceSize + kGcmTagSize) return std::nullopt;

  const auto nonce = sealed.first(kGcmNonceSize);
  const auto tag = sealed.last(kGcmTagSize);
  auto ciphertext = sealed.subspan(kGcmNonceSize, sealed.size() - kGcmNonceSize - kGcmTagSize);

  CipherCtx ctx = new_ctx();
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data()) != 1) {
    throw_openssl("AES-256-GCM decrypt init failed");
  }
  feed_aad(ctx.get(), aad, false);

  Bytes plain(ciphertext.size());
  std::uint8_t* cursor = plain.data();
  while (!ciphertext.empty()) {
    const std::size_t chunk = std::min(ciphertext.size(), kMaxChunk);
    int written = 0;
    if (EVP_DecryptUpdate(ctx.get(), cursor, &written, ciphertext.data(),
                          static_cast<int>(chunk)) != 1) {
      throw_openssl("AES-256-GCM decrypt failed");
    }
    cursor += written;
    ciphertext = ciphertext.subspan(chunk);
  }
  // The tag is only read by OpenSSL, despite the non-const parameter.
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagSize),
                          const_cast<std::uint8_t*>(tag.data())) != 1) {
    throw_openssl("AES-256-GCM set tag failed");
  }
  int final_len = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), cursor, &final_len) != 1) {
    // Authentication failed: never hand out unauthenticated plaintext, and
    // do not leave it lying around in freed memory either.
    secure_wipe(plain);
    ERR_clear_error();
    return std::nullopt;
  }
  return plain;
}

}  // namespace backupy::crypto
