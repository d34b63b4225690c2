#include "self_update_body.hpp"

#include <nlohmann/json.hpp>
#include <optional>

#include "backupy/core/ascii.hpp"
#include "backupy/core/base64.hpp"
#include "backupy/core/hex.hpp"

namespace backupy::controlplane::detail {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxVersion = 64;
// A DER ECDSA P-256 signature is at most 72 bytes (96 base64 characters); room for other keys.
constexpr std::size_t kMaxSignature = 1024;
constexpr std::string_view kFields = "target_version, binary_url, sha256, signature, force";

bool version_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
         c == '-' || c == '+';
}

// nullopt if url is an https URL with a host; else why not. The reasons never quote the URL:
// its query may be a presigned signature. Its length is bounded by the listener's body limit
// (4 KiB, 413 beyond), which leaves room for a presigned URL with a session token.
std::optional<std::string> url_problem(std::string_view url) {
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return std::string("binary_url must not contain spaces or control characters");
    }
  }
  constexpr std::string_view kScheme = "https://";
  if (!url.starts_with(kScheme)) {
    return std::string("binary_url must be an https:// URL (the agent downloads over HTTPS only)");
  }
  const std::string_view rest = url.substr(kScheme.size());
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) {
    return std::string("binary_url must not carry user:password@ credentials");
  }
  std::string_view host = authority;
  if (host.starts_with('[')) {
    host = host.substr(0, host.find(']') == std::string_view::npos ? 0 : host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  if (host.empty() || host == "[]") return std::string("binary_url must name a host");
  return std::nullopt;
}

}  // namespace

std::variant<backup::v1::SelfUpdate, SelfUpdateBodyError> parse_self_update_body(
    std::string_view body) {
  const auto refuse = [](std::string reason) { return SelfUpdateBodyError{std::move(reason)}; };
  const json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return refuse("body must be a JSON object");
  for (const auto& [name, value] : parsed.items()) {
    if (name != "target_version" && name != "binary_url" && name != "sha256" &&
        name != "signature" && name != "force") {
      return refuse("unknown field " + name + " (expected " + std::string(kFields) + ")");
    }
  }
  for (const char* name : {"target_version", "binary_url", "sha256", "signature"}) {
    if (!parsed.contains(name)) return refuse(std::string("missing field ") + name);
    if (!parsed[name].is_string()) return refuse(std::string(name) + " must be a string");
  }

  backup::v1::SelfUpdate update;
  const std::string& version = parsed["target_version"].get_ref<const std::string&>();
  if (version.empty()) return refuse("target_version must not be empty");
  if (version.size() > kMaxVersion) {
    return refuse("target_version must be at most " + std::to_string(kMaxVersion) + " characters");
  }
  for (const char c : version) {
    if (!version_char(c)) {
      return refuse("target_version may only contain 0-9 A-Z a-z . + - (a version such as 1.2.3)");
    }
  }
  update.set_target_version(version);

  const std::string& url = parsed["binary_url"].get_ref<const std::string&>();
  if (const std::optional<std::string> problem = url_problem(url)) return refuse(*problem);
  update.set_binary_url(url);

  const std::string& sha256 = parsed["sha256"].get_ref<const std::string&>();
  const std::optional<std::vector<std::uint8_t>> digest = core::from_hex(sha256);
  if (sha256.size() != 64 || !digest) {
    return refuse("sha256 must be 64 hexadecimal characters (the SHA-256 of the binary)");
  }
  update.set_sha256(core::ascii_lower(sha256));

  const std::string& signature = parsed["signature"].get_ref<const std::string&>();
  if (signature.empty()) return refuse("signature must not be empty");
  if (signature.size() > kMaxSignature) {
    return refuse("signature must be at most " + std::to_string(kMaxSignature) + " characters");
  }
  const std::optional<std::vector<std::uint8_t>> decoded = core::decode_base64(signature);
  if (!decoded || decoded->empty()) {
    return refuse(
        "signature must be standard base64 with padding (A-Z a-z 0-9 + /, no spaces or "
        "newlines), as cosign sign-blob writes it");
  }
  update.set_cosign_signature(signature);

  if (parsed.contains("force")) {
    if (!parsed["force"].is_boolean()) return refuse("force must be true or false");
    update.set_force(parsed["force"].get<bool>());
  }
  return update;
}

}  // namespace backupy::controlplane::detail
