#pragma once
// The public key that signs agent releases, and where the agent gets it from: a PEM file named
// by the deployment (BACKUPY_UPDATE_PUBLIC_KEY_FILE) or the key built into the binary
// (CMake cache variable BACKUPY_UPDATE_PUBLIC_KEY). Without either, self-update is refused.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace backupy::selfupdate {

// An ECDSA P-256 public key that signs agent releases (cosign's default key type).
// Immutable; copies share the parsed key.
class ReleaseKey {
 public:
  // PEM "PUBLIC KEY" (SubjectPublicKeyInfo). Throws std::invalid_argument with a precise reason
  // (not PEM / a private key / not an EC key / not P-256).
  static ReleaseKey from_pem(std::string_view pem);

  // "sha256:<first 16 hex of SHA-256 of the DER SubjectPublicKeyInfo>" — for logs and docs.
  const std::string& fingerprint() const;

  // The parsed key (defined in src/release_key_impl.hpp, for verify.cpp).
  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit ReleaseKey(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// The key built into the binary (BACKUPY_UPDATE_PUBLIC_KEY at configure time); nullopt when
// none was built in.
std::optional<std::string_view> built_in_release_key_pem();

// The key in force: the PEM file at deploy_key_file when given, else the built-in one, else
// nullopt. Throws std::runtime_error naming the file and the reason when the given file is
// unreadable or not a valid P-256 public key.
std::optional<ReleaseKey> configured_release_key(
    const std::optional<std::filesystem::path>& deploy_key_file);

}  // namespace backupy::selfupdate
