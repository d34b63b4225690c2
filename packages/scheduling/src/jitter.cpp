#include "backupy/scheduling/jitter.hpp"

#include <array>
#include <cstdint>

#include "backupy/crypto/crypto.hpp"

namespace backupy::scheduling {

std::chrono::milliseconds jitter_offset(std::string_view agent_identity, std::string_view job_id,
                                        std::chrono::seconds window) {
  if (window <= std::chrono::seconds::zero()) return std::chrono::milliseconds::zero();
  // Domain-separated and 0x00-delimited, so ("ab", "c") and ("a", "bc") hash differently.
  crypto::Sha256 hash;
  hash.update(crypto::as_bytes("backupy-jitter-v1"));
  constexpr std::array<std::uint8_t, 1> kSeparator{0};
  hash.update(kSeparator);
  hash.update(crypto::as_bytes(agent_identity));
  hash.update(kSeparator);
  hash.update(crypto::as_bytes(job_id));
  const std::array<std::uint8_t, 32> digest = hash.finish();

  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 8; ++i) value = (value << 8) | digest[i];
  // The modulo bias is below window / 2^64: irrelevant for windows of days.
  const auto window_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(window).count());
  return std::chrono::milliseconds(static_cast<std::int64_t>(value % window_ms));
}

}  // namespace backupy::scheduling
