#pragma once
// The plaintext inside the sealed-secrets blob: target id -> password, as a
// flat length-prefixed list (no protobuf, so nothing in it can ever be
// mistaken for or parsed as a config):
//   u32 count, then count x { u32 id_len, id, u32 secret_len, secret }
// with every u32 little-endian.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace backupy::state::detail {

using SecretList = std::vector<std::pair<std::string, std::string>>;  // (target id, password)

std::vector<std::uint8_t> encode_secrets(const SecretList& secrets);
// nullopt if the bytes are not a well-formed list.
std::optional<SecretList> decode_secrets(const std::vector<std::uint8_t>& bytes);

}  // namespace backupy::state::detail
