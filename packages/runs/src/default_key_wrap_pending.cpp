// TEMPORARY (branch i6-runs only): crypto::wrap_dek is implemented on the key-wrapping branch
// (packages/crypto/src/key_wrap.cpp). Until the merge, this build of the default refuses
// clearly; packages/runs/CMakeLists.txt picks default_key_wrap.cpp once key_wrap.cpp exists.
// The lead deletes this file and the CMake switch at the merge.
#include <stdexcept>

#include "default_key_wrap.hpp"

namespace backupy::runs::detail {

std::vector<std::uint8_t> default_wrap_dek(std::span<const std::uint8_t, 32>,
                                           const backup::v1::KeyWrappingKey&) {
  throw std::runtime_error("this agent build has no key wrapping (crypto::wrap_dek)");
}

}  // namespace backupy::runs::detail
