#include "backupy/selfupdate/verify.hpp"

#include <fcntl.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "backupy/core/files.hpp"
#include "backupy/core/hex.hpp"
#include "backupy/crypto/crypto.hpp"
#include "release_key_impl.hpp"

namespace backupy::selfupdate {
namespace {

using Bytes = std::vector<std::uint8_t>;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct EncodeCtxFree {
  void operator()(EVP_ENCODE_CTX* ctx) const { EVP_ENCODE_CTX_free(ctx); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};

Verdict refuse(std::string reason) {
  return Verdict{.ok = false, .reason = std::move(reason)};
}

Verdict refuse_errno(const std::filesystem::path& file) {
  const int error = errno;  // before any allocation below
  return refuse("cannot read " + file.string() + ": " + std::strerror(error));
}

// True when bytes are exactly one DER ECDSA-Sig-Value (SEQUENCE of two INTEGERs), nothing after.
bool is_der_signature(const Bytes& bytes) {
  if (bytes.empty()) return false;
  const unsigned char* at = bytes.data();
  const std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(
      d2i_ECDSA_SIG(nullptr, &at, static_cast<long>(bytes.size())));
  ERR_clear_error();
  return sig && at == bytes.data() + bytes.size();
}

std::string_view trim(std::string_view text) {
  const auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return text;
}

// Standard base64 (OpenSSL's PEM decoder: padding honoured, line breaks skipped); nullopt on
// anything else.
std::optional<Bytes> decode_base64(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const std::unique_ptr<EVP_ENCODE_CTX, EncodeCtxFree> ctx(EVP_ENCODE_CTX_new());
  if (!ctx) return std::nullopt;
  EVP_DecodeInit(ctx.get());
  Bytes out(text.size() / 4 * 3 + 3);
  int written = 0;
  if (EVP_DecodeUpdate(ctx.get(), out.data(), &written,
                       reinterpret_cast<const unsigned char*>(text.data()),
                       static_cast<int>(text.size())) < 0) {
    ERR_clear_error();
    return std::nullopt;
  }
  int tail = 0;
  if (EVP_DecodeFinal(ctx.get(), out.data() + written, &tail) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  out.resize(static_cast<std::size_t>(written + tail));
  return out;
}

// The DER signature, from raw DER or from base64 text of it.
std::optional<Bytes> signature_der(std::string_view signature) {
  Bytes raw(signature.begin(), signature.end());
  if (is_der_signature(raw)) return raw;
  const std::string_view text = trim(signature);
  if (text.size() > 4096) return std::nullopt;  // a P-256 signature is at most 72 bytes
  std::optional<Bytes> decoded = decode_base64(text);
  if (decoded && is_der_signature(*decoded)) return decoded;
  return std::nullopt;
}

}  // namespace

Verdict verify_release(const std::filesystem::path& file, std::string_view expected_sha256_hex,
                       std::string_view signature, const ReleaseKey& key) {
  const std::optional<Bytes> expected = core::from_hex(expected_sha256_hex);
  if (expected_sha256_hex.size() != 64 || !expected) {
    return refuse("expected sha256 is not 64 hex digits");
  }
  if (signature.empty()) return refuse("the signature is empty");
  const std::optional<Bytes> der = signature_der(signature);
  if (!der) return refuse("signature is neither DER nor base64 DER (an ECDSA signature)");

  const core::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return refuse_errno(file);

  const std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.impl().key.get()) != 1) {
    ERR_clear_error();
    return refuse("cannot set up the signature check (OpenSSL)");
  }
  // One read feeds both checks: the bytes hashed are the bytes whose signature is checked.
  crypto::Sha256 hash;
  std::vector<std::uint8_t> buffer(256 * 1024);
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return refuse_errno(file);
    if (n == 0) break;
    const std::span<const std::uint8_t> chunk(buffer.data(), static_cast<std::size_t>(n));
    hash.update(chunk);
    if (EVP_DigestVerifyUpdate(ctx.get(), chunk.data(), chunk.size()) != 1) {
      ERR_clear_error();
      return refuse("cannot hash " + file.string() + " for the signature check (OpenSSL)");
    }
  }
  const auto digest = hash.finish();
  if (!std::equal(digest.begin(), digest.end(), expected->begin())) {
    return refuse("sha256 mismatch: expected " + core::to_hex(std::span(*expected)) + ", got " +
                  core::to_hex(std::span<const std::uint8_t>(digest)));
  }
  const int verified = EVP_DigestVerifyFinal(ctx.get(), der->data(), der->size());
  ERR_clear_error();
  if (verified != 1) {
    return refuse("signature does not verify against the release key " + key.fingerprint());
  }
  return Verdict{.ok = true, .reason = {}};
}

}  // namespace backupy::selfupdate
