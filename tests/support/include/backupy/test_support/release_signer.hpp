#pragma once
// A release signing key for self-update tests, made and used by the openssl CLI: an independent
// signer for the agent's ECDSA P-256 verification (what `cosign sign-blob` produces for a key
// pair: an ASN.1 DER signature over the SHA-256 of the file, shipped as base64 text).
#include <filesystem>
#include <string>

namespace backupy::test_support {

class ReleaseSigner {
 public:
  // Generates a P-256 key pair as <dir>/<name>.key and <dir>/<name>.pub (PEM). Throws with
  // openssl's stderr on failure.
  ReleaseSigner(const std::filesystem::path& dir, const std::string& name);

  const std::filesystem::path& public_key_file() const { return public_pem_; }
  // The DER signature of the file's bytes.
  std::string sign_der(const std::filesystem::path& file) const;
  // The same as base64 text (one line), as cosign writes it.
  std::string sign_base64(const std::filesystem::path& file) const;

 private:
  std::filesystem::path sign_to_file(const std::filesystem::path& file) const;
  std::filesystem::path dir_;
  std::filesystem::path private_pem_;
  std::filesystem::path public_pem_;
};

}  // namespace backupy::test_support
