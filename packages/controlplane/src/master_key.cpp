// The catalog's master key when the configuration names none (catalog.hpp).
#include <system_error>

#include "backupy/core/files.hpp"
#include "backupy/core/hex.hpp"
#include "backupy/core/redactor.hpp"
#include "backupy/crypto/crypto.hpp"
#include "catalog.hpp"
#include "operator_config_yaml.hpp"

namespace backupy::controlplane::detail {
namespace {

constexpr std::size_t kMinMasterKeyBytes = 32;

}  // namespace

std::string catalog_master_key(const std::filesystem::path& catalog_file,
                               const std::string& configured, const core::Logger& log) {
  if (!configured.empty()) return configured;  // registered with the redactor when loaded
  const std::filesystem::path file = catalog_file.parent_path() / "master.key";
  std::optional<std::string> existing;
  try {
    existing = core::read_file(file);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot read the catalog master key " + file.string() + ": " +
                             e.what());
  }
  if (existing) {
    std::string key = trim_secret(std::move(*existing));
    if (key.size() < kMinMasterKeyBytes) {
      throw std::runtime_error("catalog master key " + file.string() +
                               " must hold at least 32 bytes, got " + std::to_string(key.size()));
    }
    core::register_secret(key);
    return key;
  }
  // The key is written before the catalog is first created: a catalog without it lost its key.
  // A new key could not open its data keys, so say what is missing instead of replacing it.
  std::error_code ec;
  if (std::filesystem::exists(catalog_file, ec)) {
    throw std::runtime_error("catalog " + catalog_file.string() + " exists but its master key " +
                             file.string() +
                             " does not: restore the key the catalog was created with (or name "
                             "it in master_key_file); a new key cannot unseal its data keys");
  }
  crypto::Bytes random = crypto::random_bytes(32);
  std::string key = core::to_hex(random);
  crypto::secure_wipe(random);
  core::register_secret(key);
  try {
    // Only a missing directory is created (sqlite::open would do the same for the catalog):
    // an existing one, often the YAML's, keeps its mode.
    std::filesystem::create_directories(file.parent_path());
    // Temp file + rename + fsync: a crash leaves no key or the whole key, never half of one.
    core::write_file_atomically(file, key + "\n", 0600, core::Durability::fsync);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot create the catalog master key " + file.string() + ": " +
                             e.what());
  }
  log.warn("master_key_generated",
           {{"event", "master_key_generated"},
            {"file", file.string()},
            {"advice",
             "the catalog's data keys are sealed under this file; keep a copy apart from the "
             "catalog, and in production name a master_key_file stored elsewhere"}});
  return key;
}

}  // namespace backupy::controlplane::detail
