#pragma once
// Shared plumbing for the OpenSSL wrappers: owning handles and error text.
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <climits>
#include <cstddef>
#include <memory>
#include <string>

namespace backupy::crypto::detail {

// Owning handles, so an exception between alloc and free cannot leak.
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct KdfFree {
  void operator()(EVP_KDF* kdf) const { EVP_KDF_free(kdf); }
};
struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* ctx) const { EVP_KDF_CTX_free(ctx); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using Kdf = std::unique_ptr<EVP_KDF, KdfFree>;
using KdfCtx = std::unique_ptr<EVP_KDF_CTX, KdfCtxFree>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

// OpenSSL's length parameters are int; larger buffers are fed in chunks.
inline constexpr std::size_t kMaxChunk = INT_MAX / 2;

// Throws CryptoError("<what>: <first queued OpenSSL error>") and clears the
// thread's error queue so a later failure does not report a stale reason.
[[noreturn]] void throw_openssl(const std::string& what);

}  // namespace backupy::crypto::detail
