#pragma once
// Verification of a downloaded release binary before it may run: its SHA-256 must match what
// the control plane sent and its signature must verify under the release key. Both, because
// the hash alone proves only that the download is what the server (or whoever controls it)
// meant; the signature proves the release's publisher built it.
#include <filesystem>
#include <string>
#include <string_view>

#include "backupy/selfupdate/release_key.hpp"

namespace backupy::selfupdate {

struct Verdict {
  bool ok = false;
  std::string reason;  // one precise line when !ok
};

// Reads file once (streaming, bounded memory): its SHA-256 must equal expected_sha256_hex (64
// hex digits, either case) and signature must be a valid ECDSA P-256 signature over the file's
// bytes (SHA-256 digest) under key. signature is the ASN.1 DER signature, either raw or as
// base64 text (cosign sign-blob's --output-signature file; surrounding whitespace tolerated).
// Reasons name the failed check: "expected sha256 is not 64 hex digits", "signature is neither
// DER nor base64 DER", "cannot read <file>: ...", "sha256 mismatch: expected <h>, got <h>",
// "signature does not verify against the release key sha256:...".
Verdict verify_release(const std::filesystem::path& file, std::string_view expected_sha256_hex,
                       std::string_view signature, const ReleaseKey& key);

}  // namespace backupy::selfupdate
