#include <openssl/err.h>

#include "backupy/crypto/crypto.hpp"
#include "openssl_util.hpp"

namespace backupy::crypto::detail {

void throw_openssl(const std::string& what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) throw CryptoError(what);
  char reason[256];
  ERR_error_string_n(code, reason, sizeof reason);
  throw CryptoError(what + ": " + reason);
}

}  // namespace backupy::crypto::detail
