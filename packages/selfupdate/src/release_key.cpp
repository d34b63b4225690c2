#include "backupy/selfupdate/release_key.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <stdexcept>
#include <system_error>

#include "backupy/core/files.hpp"
#include "backupy/core/hex.hpp"
#include "backupy/crypto/crypto.hpp"
#include "backupy/selfupdate/built_in_key.hpp"
#include "release_key_impl.hpp"

namespace backupy::selfupdate {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct OpensslFree {
  void operator()(unsigned char* p) const { OPENSSL_free(p); }
};

// The first queued OpenSSL error as text; clears the queue so no stale error lingers.
std::string openssl_reason() {
  const unsigned long code = ERR_peek_error();
  std::string text = "unknown error";
  if (code != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    text = buffer;
  }
  ERR_clear_error();
  return text;
}

std::string fingerprint_of(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(key, &der);
  if (length <= 0) throw std::invalid_argument("cannot encode the key: " + openssl_reason());
  const std::unique_ptr<unsigned char, OpensslFree> owned(der);
  const std::string hex =
      crypto::sha256_hex(std::span<const std::uint8_t>(der, static_cast<std::size_t>(length)));
  return "sha256:" + hex.substr(0, 16);
}

}  // namespace

ReleaseKey ReleaseKey::from_pem(std::string_view pem) {
  // Checked before parsing so that a private key is named as such (and never parsed here).
  if (pem.find("PRIVATE KEY-----") != std::string_view::npos) {
    throw std::invalid_argument(
        "this is a private key; the release key must be the PEM public key (cosign.pub)");
  }
  if (pem.find("-----BEGIN PUBLIC KEY-----") == std::string_view::npos) {
    throw std::invalid_argument("not a PEM public key (no -----BEGIN PUBLIC KEY----- block)");
  }
  const std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw std::runtime_error("cannot allocate a BIO: " + openssl_reason());
  detail::Pkey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    throw std::invalid_argument("the PEM public key does not parse: " + openssl_reason());
  }
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC) {
    const char* type = EVP_PKEY_get0_type_name(key.get());
    throw std::invalid_argument(std::string("not an EC key (it is ") +
                                (type != nullptr ? type : "of an unknown type") +
                                "); release keys are ECDSA P-256");
  }
  char group[64] = {};
  std::size_t group_length = 0;
  if (EVP_PKEY_get_group_name(key.get(), group, sizeof group, &group_length) != 1) {
    ERR_clear_error();
    throw std::invalid_argument("not a P-256 key (the EC key names no curve)");
  }
  const std::string_view curve(group, group_length);
  if (curve != "prime256v1" && curve != "P-256") {
    throw std::invalid_argument("not a P-256 key (curve " + std::string(curve) +
                                "); release keys are ECDSA P-256");
  }
  auto impl = std::make_shared<Impl>();
  impl->fingerprint = fingerprint_of(key.get());
  impl->key = std::move(key);
  return ReleaseKey(std::move(impl));
}

const std::string& ReleaseKey::fingerprint() const {
  return impl_->fingerprint;
}

std::optional<std::string_view> built_in_release_key_pem() {
  if (!detail::kHasBuiltInReleaseKey) return std::nullopt;
  return detail::kBuiltInReleaseKeyPem;
}

std::optional<ReleaseKey> configured_release_key(
    const std::optional<std::filesystem::path>& deploy_key_file) {
  if (deploy_key_file) {
    const std::string where = "release signing key file " + deploy_key_file->string();
    std::optional<std::string> pem;
    try {
      pem = core::read_file(*deploy_key_file);
    } catch (const std::exception& e) {
      throw std::runtime_error("release signing key file: " + std::string(e.what()));
    }
    if (!pem) throw std::runtime_error(where + " does not exist");
    try {
      return ReleaseKey::from_pem(*pem);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(where + ": " + e.what());
    }
  }
  if (const auto pem = built_in_release_key_pem()) {
    try {
      return ReleaseKey::from_pem(*pem);
    } catch (const std::invalid_argument& e) {
      // The build checked it was a PEM public key block; anything else is named here.
      throw std::runtime_error(
          std::string("the built-in release signing key (BACKUPY_UPDATE_PUBLIC_KEY "
                      "at build time) is not usable: ") +
          e.what());
    }
  }
  return std::nullopt;
}

}  // namespace backupy::selfupdate
