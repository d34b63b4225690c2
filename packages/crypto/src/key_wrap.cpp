#include "backupy/crypto/key_wrap.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <memory>

#include "backupy/crypto/detail/aes_gcm.hpp"
#include "backupy/crypto/detail/key_wrap.hpp"
#include "openssl_util.hpp"

namespace backupy::crypto {
namespace {

constexpr std::uint8_t kVersion = 0x01;
constexpr std::string_view kLabel = "backupy wrapped-dek v1";
constexpr std::size_t kSealedOffset = 1 + kX25519KeySize;  // version || E

using detail::Pkey;
using detail::PkeyCtx;

using Key = std::array<std::uint8_t, kX25519KeySize>;

// Wipes a fixed-size secret when it goes out of scope, including on a throw.
struct WipeOnExit {
  std::span<std::uint8_t> data;
  ~WipeOnExit() { secure_wipe(data); }
};

Pkey private_pkey(std::span<const std::uint8_t, kX25519KeySize> raw) {
  // OpenSSL keeps its copy of the private key in memory it cleanses on free.
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, raw.data(), raw.size()));
  if (!key) detail::throw_openssl("X25519 private key import failed");
  return key;
}

Pkey public_pkey(std::span<const std::uint8_t, kX25519KeySize> raw) {
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, raw.data(), raw.size()));
  if (!key) detail::throw_openssl("X25519 public key import failed");
  return key;
}

bool all_zero(std::span<const std::uint8_t> data) {
  std::uint8_t acc = 0;
  for (std::uint8_t b : data) acc |= b;  // no early exit: the input is a secret
  return acc == 0;
}

// X25519(private, peer) into shared. False if the peer is a low-order point: RFC 7748
// section 6.1 says to abort then, since the "shared" secret would be a known constant.
// OpenSSL refuses that case itself; the all-zero check keeps the rule independent of it.
bool x25519(std::span<const std::uint8_t, kX25519KeySize> private_key,
            std::span<const std::uint8_t, kX25519KeySize> peer_public, Key& shared) {
  Pkey own = private_pkey(private_key);
  Pkey peer = public_pkey(peer_public);
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own.get(), nullptr));
  if (!ctx) detail::throw_openssl("EVP_PKEY_CTX_new_from_pkey failed");
  if (EVP_PKEY_derive_init(ctx.get()) != 1) detail::throw_openssl("X25519 derive init failed");
  if (EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1) {
    detail::throw_openssl("X25519 peer key rejected");
  }
  std::size_t length = shared.size();
  if (EVP_PKEY_derive(ctx.get(), shared.data(), &length) != 1 || length != shared.size()) {
    ERR_clear_error();
    secure_wipe(shared);
    return false;
  }
  if (all_zero(shared)) return false;
  return true;
}

Bytes concat(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  Bytes out(a.begin(), a.end());
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

Bytes aad_for(std::string_view key_id) {
  Bytes aad(kLabel.begin(), kLabel.end());
  aad.push_back(0x00);
  aad.insert(aad.end(), key_id.begin(), key_id.end());
  return aad;
}

// KEK = HKDF-SHA256(shared, E || R, label, 32).
Bytes derive_kek(const Key& shared, std::span<const std::uint8_t, kX25519KeySize> ephemeral_public,
                 std::span<const std::uint8_t, kX25519KeySize> recipient_public) {
  return hkdf_sha256(shared, concat(ephemeral_public, recipient_public), as_bytes(kLabel), 32);
}

}  // namespace

std::array<std::uint8_t, kX25519KeySize> x25519_public_key(
    std::span<const std::uint8_t, kX25519KeySize> private_key) {
  Pkey key = private_pkey(private_key);
  Key out{};
  std::size_t length = out.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), out.data(), &length) != 1 || length != out.size()) {
    detail::throw_openssl("X25519 public key export failed");
  }
  return out;
}

namespace detail {

Bytes wrap_dek_with(std::span<const std::uint8_t, 32> dek,
                    std::span<const std::uint8_t, kX25519KeySize> recipient_public,
                    std::string_view key_id,
                    std::span<const std::uint8_t, kX25519KeySize> ephemeral_private,
                    std::span<const std::uint8_t, 12> nonce) {
  Key shared{};
  WipeOnExit wipe_shared{shared};
  if (!x25519(ephemeral_private, recipient_public, shared)) {
    throw CryptoError(
        "cannot wrap the data key: the recipient X25519 public key is a low-order point");
  }
  const Key ephemeral_public = x25519_public_key(ephemeral_private);
  Bytes kek = derive_kek(shared, ephemeral_public, recipient_public);
  WipeOnExit wipe_kek{kek};
  const Bytes sealed = aes256gcm_seal_with_nonce(kek, nonce, dek, aad_for(key_id));

  Bytes out;
  out.reserve(kWrappedDekSize);
  out.push_back(kVersion);
  out.insert(out.end(), ephemeral_public.begin(), ephemeral_public.end());
  out.insert(out.end(), sealed.begin(), sealed.end());
  if (out.size() != kWrappedDekSize) throw CryptoError("wrapped DEK has an unexpected size");
  return out;
}

}  // namespace detail

Bytes wrap_dek(std::span<const std::uint8_t, 32> dek,
               std::span<const std::uint8_t, kX25519KeySize> recipient_public,
               std::string_view key_id) {
  Bytes ephemeral = random_bytes(kX25519KeySize);
  WipeOnExit wipe_ephemeral{ephemeral};
  const Bytes nonce = random_bytes(detail::kGcmNonceSize);
  return detail::wrap_dek_with(dek, recipient_public, key_id,
                               std::span<const std::uint8_t, kX25519KeySize>(ephemeral),
                               std::span<const std::uint8_t, 12>(nonce));
}

std::optional<std::array<std::uint8_t, 32>> unwrap_dek(
    std::span<const std::uint8_t> wrapped,
    std::span<const std::uint8_t, kX25519KeySize> recipient_private, std::string_view key_id) {
  if (wrapped.size() != kWrappedDekSize || wrapped[0] != kVersion) return std::nullopt;
  const auto ephemeral_public = wrapped.subspan<1, kX25519KeySize>();

  Key shared{};
  WipeOnExit wipe_shared{shared};
  if (!x25519(recipient_private, ephemeral_public, shared)) return std::nullopt;
  const Key recipient_public = x25519_public_key(recipient_private);
  Bytes kek = derive_kek(shared, ephemeral_public, recipient_public);
  WipeOnExit wipe_kek{kek};

  std::optional<Bytes> dek = aes256gcm_open(kek, wrapped.subspan(kSealedOffset), aad_for(key_id));
  if (!dek) return std::nullopt;
  WipeOnExit wipe_dek{*dek};
  if (dek->size() != 32) return std::nullopt;
  std::array<std::uint8_t, 32> out{};
  std::copy(dek->begin(), dek->end(), out.begin());
  return out;
}

}  // namespace backupy::crypto
