#include "backupy/test_support/release_signer.hpp"

#include <fstream>
#include <stdexcept>

#include "backupy/test_support/process.hpp"

namespace backupy::test_support {
namespace {

std::string openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "/usr/bin/openssl");
  const CommandResult result = run_command(std::move(args), {{"PATH", "/usr/bin:/bin"}});
  if (result.exit_code != 0) throw std::runtime_error("openssl failed: " + result.err);
  return result.out;
}

}  // namespace

ReleaseSigner::ReleaseSigner(const std::filesystem::path& dir, const std::string& name)
    : dir_(dir), private_pem_(dir / (name + ".key")), public_pem_(dir / (name + ".pub")) {
  openssl({"ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", private_pem_.string()});
  openssl({"ec", "-in", private_pem_.string(), "-pubout", "-out", public_pem_.string()});
}

std::filesystem::path ReleaseSigner::sign_to_file(const std::filesystem::path& file) const {
  const auto signature = dir_ / (private_pem_.stem().string() + ".sig");
  openssl({"dgst", "-sha256", "-sign", private_pem_.string(), "-out", signature.string(),
           file.string()});
  return signature;
}

std::string ReleaseSigner::sign_der(const std::filesystem::path& file) const {
  std::ifstream in(sign_to_file(file), std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string ReleaseSigner::sign_base64(const std::filesystem::path& file) const {
  std::string text = openssl({"base64", "-A", "-in", sign_to_file(file).string()});
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

}  // namespace backupy::test_support
