#include "secrets_codec.hpp"

#include <limits>
#include <stdexcept>
#include <string_view>

namespace backupy::state::detail {
namespace {

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8)
    out.push_back(static_cast<std::uint8_t>(value >> shift));
}

void put_string(std::vector<std::uint8_t>& out, std::string_view text) {
  put_u32(out, static_cast<std::uint32_t>(text.size()));
  out.insert(out.end(), text.begin(), text.end());
}

// Reads forward through a buffer; every read checks the remaining length.
class Reader {
 public:
  explicit Reader(const std::vector<std::uint8_t>& bytes) : bytes_(bytes) {}

  std::optional<std::uint32_t> u32() {
    if (bytes_.size() - pos_ < 4) return std::nullopt;
    std::uint32_t value = 0;
    for (int i = 0; i < 4; ++i) value |= std::uint32_t{bytes_[pos_++]} << (8 * i);
    return value;
  }

  std::optional<std::string> string() {
    const auto size = u32();
    if (!size || bytes_.size() - pos_ < *size) return std::nullopt;
    std::string text(reinterpret_cast<const char*>(bytes_.data() + pos_), *size);
    pos_ += *size;
    return text;
  }

  bool at_end() const { return pos_ == bytes_.size(); }

 private:
  const std::vector<std::uint8_t>& bytes_;
  std::size_t pos_ = 0;
};

}  // namespace

std::vector<std::uint8_t> encode_secrets(const SecretList& secrets) {
  std::size_t total = 4;
  for (const auto& [id, secret] : secrets) {
    // Protobuf strings are far below 4 GiB; guard anyway rather than truncate.
    if (id.size() > std::numeric_limits<std::uint32_t>::max() ||
        secret.size() > std::numeric_limits<std::uint32_t>::max()) {
      throw std::length_error("secret too large to store");
    }
    total += 8 + id.size() + secret.size();
  }
  std::vector<std::uint8_t> out;
  out.reserve(total);  // no reallocation: no stray copies of secrets in freed memory
  put_u32(out, static_cast<std::uint32_t>(secrets.size()));
  for (const auto& [id, secret] : secrets) {
    put_string(out, id);
    put_string(out, secret);
  }
  return out;
}

std::optional<SecretList> decode_secrets(const std::vector<std::uint8_t>& bytes) {
  Reader reader(bytes);
  const auto count = reader.u32();
  if (!count) return std::nullopt;
  SecretList secrets;
  for (std::uint32_t i = 0; i < *count; ++i) {
    auto id = reader.string();
    if (!id) return std::nullopt;
    auto secret = reader.string();
    if (!secret) return std::nullopt;
    secrets.emplace_back(std::move(*id), std::move(*secret));
  }
  if (!reader.at_end()) return std::nullopt;
  return secrets;
}

}  // namespace backupy::state::detail
