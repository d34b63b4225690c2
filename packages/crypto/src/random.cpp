#include <openssl/rand.h>

#include <algorithm>

#include "backupy/crypto/crypto.hpp"
#include "openssl_util.hpp"

namespace backupy::crypto {

Bytes random_bytes(std::size_t count) {
  Bytes out(count);
  for (std::size_t done = 0; done < count;) {
    const std::size_t chunk = std::min(count - done, detail::kMaxChunk);
    // RAND_bytes draws from the seeded DRBG; failure means no entropy, which
    // must never silently produce predictable keys or nonces.
    if (RAND_bytes(out.data() + done, static_cast<int>(chunk)) != 1) {
      detail::throw_openssl("RAND_bytes failed");
    }
    done += chunk;
  }
  return out;
}

}  // namespace backupy::crypto
