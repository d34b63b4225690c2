#pragma once
// YAML of the operator-facing sections (private to the package; format in server_config.hpp):
// `admin`, `storage`, `token_signing_key_file`, `scheduling`, `catalog_file` and
// `master_key_file`. Secrets are read from files or the environment, never from the YAML text,
// and are registered with the log redactor.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "backupy/controlplane/server_config.hpp"
#include "yaml_reader.hpp"

namespace backupy::controlplane::detail {

// A key file's contents without surrounding blanks and line breaks.
std::string trim_secret(std::string text);

// Lowercase copy of 64 hex characters, or nullopt.
std::optional<std::string> normalize_sha256_hex(const std::string& text);

std::vector<std::string> parse_admin(const YamlReader& reader, const YAML::Node& root);
std::optional<StorageConfig> parse_storage(const YamlReader& reader, const YAML::Node& root,
                                           const std::filesystem::path& base_dir);
std::string parse_token_signing_key(const YamlReader& reader, const YAML::Node& root,
                                    const std::filesystem::path& base_dir);
SchedulingConfig parse_scheduling(const YamlReader& reader, const YAML::Node& root);

// catalog_file (default "catalog.db" beside the YAML) and master_key_file into config.
void parse_catalog(const YamlReader& reader, const YAML::Node& root,
                   const std::filesystem::path& base_dir, ServerConfig& config);

}  // namespace backupy::controlplane::detail
