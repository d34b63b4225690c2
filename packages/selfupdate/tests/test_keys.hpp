#pragma once
// Key pairs and signatures made in the test with OpenSSL's EVP API (the signer the verifier is
// checked against; verify_test.cpp cross-checks once with the openssl CLI as well).
#include <openssl/evp.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace backupy::selfupdate::testing {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey generate_ec(const char* curve);  // "P-256", "P-384"
Pkey generate_rsa(unsigned bits);
std::string public_pem(EVP_PKEY* key);
std::string private_pem(EVP_PKEY* key);
// DER ECDSA signature (SHA-256) over data.
std::string sign(EVP_PKEY* key, std::string_view data);
std::string base64(std::string_view bytes);
void write_file(const std::filesystem::path& path, std::string_view content);
// Runs /bin/sh -c command; throws with its exit status when it fails.
void run(const std::string& command);

}  // namespace backupy::selfupdate::testing
