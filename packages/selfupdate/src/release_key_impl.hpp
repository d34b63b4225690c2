#pragma once
// The parsed release key, shared by release_key.cpp and verify.cpp (private to the package).
#include <openssl/evp.h>

#include <memory>
#include <string>

#include "backupy/selfupdate/release_key.hpp"

namespace backupy::selfupdate {

namespace detail {
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
}  // namespace detail

struct ReleaseKey::Impl {
  detail::Pkey key;  // EC, group prime256v1; only read after construction (thread-safe)
  std::string fingerprint;
};

}  // namespace backupy::selfupdate
