#pragma once
// Base64 encoders for what the control plane issues (private to the package): standard base64
// with padding (the JWT's `dek` claim) and unpadded base64url (JWT segments). Decoding lives in
// packages/token, on the side that reads these.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace backupy::controlplane::detail {

std::string base64_encode(std::span<const std::uint8_t> bytes);
std::string base64url_encode(std::span<const std::uint8_t> bytes);
std::string base64url_encode(std::string_view text);

}  // namespace backupy::controlplane::detail
