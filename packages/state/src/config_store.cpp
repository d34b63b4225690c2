#include "backupy/state/config_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <string>
#include <vector>

#include "backupy/core/time.hpp"
#include "backupy/crypto/crypto.hpp"
#include "backupy/sqlite/statement.hpp"
#include "sealed_box.hpp"
#include "secrets_codec.hpp"
#include "wipe.hpp"

namespace backupy::state {
namespace {

constexpr std::string_view kSecretsInfo = "config-secrets";
constexpr std::string_view kKeyCheckInfo = "config-key-check";

// Binds the secrets to the snapshot they were saved with: a sealed blob moved
// next to another config version fails to open instead of mismatching.
std::string aad_for(std::uint64_t version) {
  return std::to_string(version);
}

// A one-way function of the sealing key: equal iff the key is equal, and
// useless for recovering it. It lets load() tell "different agent key" from
// "damaged ciphertext" when reasoning about a report; both drop the secrets.
crypto::Bytes key_check_for(std::span<const std::uint8_t> key) {
  return crypto::hkdf_sha256(key, {}, crypto::as_bytes(kKeyCheckInfo), 16);
}

void clear_all_secrets(backup::v1::AgentConfig& config) {
  for (auto& target : *config.mutable_targets()) {
    if (target.has_connection()) {
      detail::wipe(*target.mutable_connection()->mutable_password_secret_ref());
    }
  }
}

struct Row {
  std::string config;
  std::string sealed_secrets;
  std::string key_check;
  std::uint64_t saved_at_ms = 0;
};

}  // namespace

ConfigStore::ConfigStore(StateDb& db, std::string_view agent_key)
    : db_(db), key_(detail::derive_sealing_key(agent_key, kSecretsInfo)) {}

ConfigStore::~ConfigStore() {
  crypto::secure_wipe(key_);
}

void ConfigStore::save(const backup::v1::AgentConfig& config) {
  // Split the config into a secret-free copy and the list of secrets.
  backup::v1::AgentConfig stripped = config;
  detail::SecretList secrets;
  detail::WipeOnExit wipe_secrets(secrets);
  for (auto& target : *stripped.mutable_targets()) {
    if (!target.has_connection()) continue;  // mutable_connection() would add one
    std::string* password = target.mutable_connection()->mutable_password_secret_ref();
    if (password->empty()) continue;
    secrets.emplace_back(target.id(), *password);
    detail::wipe(*password);
  }

  crypto::Bytes plain = detail::encode_secrets(secrets);
  detail::WipeOnExit wipe_plain(plain);
  const std::string sealed = detail::seal(key_, plain, aad_for(stripped.version()));
  const crypto::Bytes key_check = key_check_for(key_);

  std::string blob;
  if (!stripped.SerializeToString(&blob)) {
    throw StateError("cannot serialize the config snapshot for " + db_.path().string());
  }
  const auto as_view = [](const crypto::Bytes& bytes) {
    return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  };

  db_.transaction([&](sqlite3* db) {
    // One row, replaced in one transaction: readers see old or new, never both.
    sqlite::Statement stmt(db,
                           "INSERT OR REPLACE INTO config_snapshot "
                           "(id, version, config, sealed_secrets, key_check, saved_at_ms) "
                           "VALUES (1, ?1, ?2, ?3, ?4, ?5)");
    stmt.bind(1, static_cast<std::int64_t>(stripped.version()))
        .bind_blob(2, blob)
        .bind_blob(3, sealed)
        .bind_blob(4, as_view(key_check))
        .bind(5, static_cast<std::int64_t>(core::now_ms()))
        .run();
  });
}

std::optional<StoredConfig> ConfigStore::load() {
  std::optional<Row> row;
  db_.with_connection([&](sqlite3* db) {
    sqlite::Statement stmt(
        db,
        "SELECT config, sealed_secrets, key_check, saved_at_ms FROM config_snapshot WHERE id = 1");
    if (!stmt.step()) return;
    row = Row{stmt.column_blob(0), stmt.column_blob(1), stmt.column_blob(2),
              static_cast<std::uint64_t>(stmt.column_int64(3))};
  });
  if (!row) return std::nullopt;

  StoredConfig stored;
  if (!stored.config.ParseFromString(row->config)) {
    throw StateError("stored config snapshot in " + db_.path().string() +
                     " is corrupt (not an AgentConfig)");
  }
  stored.saved_at_ms = row->saved_at_ms;
  clear_all_secrets(stored.config);  // the blob has none; make sure of it

  const crypto::Bytes expected_check = key_check_for(key_);
  const bool same_key = row->key_check.size() == expected_check.size() &&
                        std::equal(expected_check.begin(), expected_check.end(),
                                   reinterpret_cast<const std::uint8_t*>(row->key_check.data()));
  std::optional<crypto::Bytes> plain;
  if (same_key) plain = detail::unseal(key_, row->sealed_secrets, aad_for(stored.config.version()));
  if (!plain) {
    stored.secrets_dropped = true;
    return stored;
  }
  detail::WipeOnExit wipe_plain(*plain);
  auto secrets = detail::decode_secrets(*plain);
  if (!secrets) {
    stored.secrets_dropped = true;
    return stored;
  }
  detail::WipeOnExit wipe_secrets(*secrets);

  // Match in order, so duplicate target ids still get their own secret back.
  std::vector<bool> used(secrets->size(), false);
  for (auto& target : *stored.config.mutable_targets()) {
    for (std::size_t i = 0; i < secrets->size(); ++i) {
      if (used[i] || (*secrets)[i].first != target.id()) continue;
      target.mutable_connection()->set_password_secret_ref((*secrets)[i].second);
      used[i] = true;
      break;
    }
  }
  return stored;
}

}  // namespace backupy::state
