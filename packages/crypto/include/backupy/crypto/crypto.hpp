#pragma once
// Thin, misuse-resistant wrappers over OpenSSL 3 for the primitives the agent
// uses: CSPRNG, SHA-256, HKDF-SHA256 and AES-256-GCM. Failures throw
// CryptoError (an OpenSSL failure is a broken invariant, except for
// authentication failure on open, which is reported as nullopt).
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace backupy::crypto {

using Bytes = std::vector<std::uint8_t>;

class CryptoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline std::span<const std::uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

Bytes random_bytes(std::size_t count);

// Incremental SHA-256 (hashing streams without buffering them).
class Sha256 {
 public:
  Sha256();
  ~Sha256();  // out of line: Impl is incomplete here
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::span<const std::uint8_t> data);
  // Returns the digest and resets the object, so it can hash a new stream.
  std::array<std::uint8_t, 32> finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;  // wraps the EVP_MD_CTX
};
std::array<std::uint8_t, 32> sha256(std::span<const std::uint8_t> data);
std::string sha256_hex(std::span<const std::uint8_t> data);

// RFC 5869 HKDF with SHA-256.
Bytes hkdf_sha256(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                  std::span<const std::uint8_t> info, std::size_t length);

// AES-256-GCM with a fresh random 12-byte nonce.
// Output layout: nonce(12) || ciphertext || tag(16).
Bytes aes256gcm_seal(std::span<const std::uint8_t> key, std::span<const std::uint8_t> plaintext,
                     std::span<const std::uint8_t> aad = {});
// Inverse of seal; nullopt if the input is too short or authentication fails.
std::optional<Bytes> aes256gcm_open(std::span<const std::uint8_t> key,
                                    std::span<const std::uint8_t> sealed,
                                    std::span<const std::uint8_t> aad = {});

// Overwrites memory in a way the optimizer cannot elide (OPENSSL_cleanse).
void secure_wipe(std::span<std::uint8_t> data);

}  // namespace backupy::crypto
