#pragma once
// Strict, line-accurate reading of yaml-cpp nodes (private to the package).
//
// Every accessor takes the parent map, the parent's path ("agents[0].config") and a key, and
// throws ConfigError "<source>:<line>: <path.key> <problem>" on anything unexpected.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backupy::controlplane::detail {

std::string join_path(std::string_view parent, std::string_view key);
std::string index_path(std::string_view parent, std::size_t index);

class YamlReader {
 public:
  explicit YamlReader(std::string source) : source_(std::move(source)) {}

  const std::string& source() const { return source_; }

  // 1-based line of node, or of fallback when node carries no position (absent keys).
  static int line_of(const YAML::Node& node, const YAML::Node& fallback);

  [[noreturn]] void fail(int line, std::string_view path, std::string_view problem) const;
  [[noreturn]] void fail(const YAML::Node& at, std::string_view path,
                         std::string_view problem) const;

  // node must be a map whose keys are all in `allowed` and unique.
  void expect_map(const YAML::Node& node, std::string_view path,
                  std::initializer_list<std::string_view> allowed) const;

  // True if key is present and not null.
  static bool has(const YAML::Node& map, std::string_view key);

  std::optional<std::string> opt_string(const YAML::Node& map, std::string_view path,
                                        std::string_view key) const;
  std::string req_string(const YAML::Node& map, std::string_view path, std::string_view key) const;
  // A decimal integer in [min, max], written as a plain (unquoted) scalar.
  std::optional<std::uint64_t> opt_uint(const YAML::Node& map, std::string_view path,
                                        std::string_view key, std::uint64_t max,
                                        std::uint64_t min = 0) const;
  std::optional<bool> opt_bool(const YAML::Node& map, std::string_view path,
                               std::string_view key) const;
  // The sequence at key (empty node if absent or null).
  YAML::Node opt_sequence(const YAML::Node& map, std::string_view path, std::string_view key) const;
  std::vector<std::string> opt_string_list(const YAML::Node& map, std::string_view path,
                                           std::string_view key) const;
  std::vector<std::uint64_t> opt_uint_list(const YAML::Node& map, std::string_view path,
                                           std::string_view key, std::uint64_t max) const;

  // Scalar conversions of a node that is itself the value (used for list items).
  std::string as_string(const YAML::Node& node, const YAML::Node& parent,
                        std::string_view path) const;
  std::uint64_t as_uint(const YAML::Node& node, const YAML::Node& parent, std::string_view path,
                        std::uint64_t max, std::uint64_t min = 0) const;

 private:
  std::string source_;
};

}  // namespace backupy::controlplane::detail
