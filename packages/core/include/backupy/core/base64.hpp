#pragma once
// Strict base64 decoders: base64url without padding (the JWT parts of the decryption token,
// RFC 7515 section 2) and standard base64 with padding (the token's dek claim, the cosign
// signature an operator hands the control plane for an agent self-update).
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace backupy::core {

// nullopt on a character outside A-Z a-z 0-9 - _ (so also on '='), or on an
// impossible length (4k + 1).
std::optional<std::vector<std::uint8_t>> decode_base64url(std::string_view text);

// nullopt unless text is standard base64 with padding: A-Z a-z 0-9 + /, a
// length that is a multiple of 4, and '=' only as the padding of the last group.
std::optional<std::vector<std::uint8_t>> decode_base64(std::string_view text);

}  // namespace backupy::core
