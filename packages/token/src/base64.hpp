#pragma once
// The two base64 dialects of the token: base64url without padding for the JWT
// parts (RFC 7515 section 2), standard base64 with padding for the dek claim.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace backupy::token::detail {

// nullopt on a character outside A-Z a-z 0-9 - _ (so also on '='), or on an
// impossible length (4k + 1).
std::optional<std::vector<std::uint8_t>> decode_base64url(std::string_view text);

// nullopt unless text is standard base64 with padding: A-Z a-z 0-9 + /, a
// length that is a multiple of 4, and '=' only as the padding of the last group.
std::optional<std::vector<std::uint8_t>> decode_base64(std::string_view text);

}  // namespace backupy::token::detail
