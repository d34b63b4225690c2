#include "test_keys.hpp"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace backupy::selfupdate::testing {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

std::string drain(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace

Pkey generate_ec(const char* curve) {
  Pkey key(EVP_EC_gen(curve));
  if (!key) throw std::runtime_error("EVP_EC_gen failed");
  return key;
}

Pkey generate_rsa(unsigned bits) {
  Pkey key(EVP_RSA_gen(bits));
  if (!key) throw std::runtime_error("EVP_RSA_gen failed");
  return key;
}

std::string public_pem(EVP_PKEY* key) {
  const std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PUBKEY(bio.get(), key) != 1) throw std::runtime_error("PEM_write failed");
  return drain(bio.get());
}

std::string private_pem(EVP_PKEY* key) {
  const std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw std::runtime_error("PEM_write failed");
  }
  return drain(bio.get());
}

std::string sign(EVP_PKEY* key, std::string_view data) {
  const std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::size_t size = 0;
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSignUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestSignFinal(ctx.get(), nullptr, &size) != 1) {
    throw std::runtime_error("EVP_DigestSign failed");
  }
  std::string signature(size, '\0');
  if (EVP_DigestSignFinal(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size) !=
      1) {
    throw std::runtime_error("EVP_DigestSignFinal failed");
  }
  signature.resize(size);
  return signature;
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

void write_file(const std::filesystem::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

void run(const std::string& command) {
  const int status = std::system(command.c_str());
  if (status != 0) {
    throw std::runtime_error("command failed (status " + std::to_string(status) + "): " + command);
  }
}

}  // namespace backupy::selfupdate::testing
