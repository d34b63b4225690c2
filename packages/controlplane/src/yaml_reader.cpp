#include "yaml_reader.hpp"

#include <algorithm>
#include <set>

#include "backupy/controlplane/server_config.hpp"

namespace backupy::controlplane::detail {
namespace {

std::string quoted_list(std::initializer_list<std::string_view> items) {
  std::string out;
  for (std::string_view item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

// Plain (unquoted, untagged) scalars carry the non-specific tag "?".
bool is_plain(const YAML::Node& node) {
  return node.Tag() == "?" || node.Tag().empty();
}

}  // namespace

std::string join_path(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  std::string out(parent);
  out += '.';
  out += key;
  return out;
}

std::string index_path(std::string_view parent, std::size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

int YamlReader::line_of(const YAML::Node& node, const YAML::Node& fallback) {
  if (node.IsDefined() && node.Mark().line >= 0) return node.Mark().line + 1;
  if (fallback.IsDefined() && fallback.Mark().line >= 0) return fallback.Mark().line + 1;
  return 0;
}

void YamlReader::fail(int line, std::string_view path, std::string_view problem) const {
  std::string message = source_;
  if (line > 0) message += ":" + std::to_string(line);
  message += ": ";
  if (!path.empty()) {
    message += path;
    message += ' ';
  }
  message += problem;
  throw ConfigError(std::move(message), line);
}

void YamlReader::fail(const YAML::Node& at, std::string_view path, std::string_view problem) const {
  fail(line_of(at, YAML::Node()), path, problem);
}

void YamlReader::expect_map(const YAML::Node& node, std::string_view path,
                            std::initializer_list<std::string_view> allowed) const {
  if (!node.IsMap()) fail(node, path.empty() ? "document" : path, "must be a mapping");
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;  // a copy: it-> yields a temporary proxy
    if (!key.IsScalar()) fail(key, path.empty() ? "document" : path, "has a non-scalar key");
    const std::string name = key.Scalar();
    const std::string key_path = join_path(path, name);
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      fail(key, key_path, "is not a known key (expected one of: " + quoted_list(allowed) + ")");
    }
    if (!seen.insert(name).second) fail(key, key_path, "is given more than once");
  }
}

bool YamlReader::has(const YAML::Node& map, std::string_view key) {
  const YAML::Node value = map[std::string(key)];
  return value.IsDefined() && !value.IsNull();
}

std::string YamlReader::as_string(const YAML::Node& node, const YAML::Node& parent,
                                  std::string_view path) const {
  if (!node.IsScalar()) fail(line_of(node, parent), path, "must be a string");
  return node.Scalar();
}

std::uint64_t YamlReader::as_uint(const YAML::Node& node, const YAML::Node& parent,
                                  std::string_view path, std::uint64_t max,
                                  std::uint64_t min) const {
  const std::string problem =
      "must be an integer between " + std::to_string(min) + " and " + std::to_string(max);
  if (!node.IsScalar() || !is_plain(node)) fail(line_of(node, parent), path, problem);
  const std::string& text = node.Scalar();
  if (text.empty() || text.size() > 20 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    fail(line_of(node, parent), path, problem);
  }
  std::uint64_t value = 0;
  for (char c : text) {
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (value > (max - digit) / 10) fail(line_of(node, parent), path, problem);
    value = value * 10 + digit;
  }
  if (value < min) fail(line_of(node, parent), path, problem);
  return value;
}

std::optional<std::string> YamlReader::opt_string(const YAML::Node& map, std::string_view path,
                                                  std::string_view key) const {
  if (!has(map, key)) return std::nullopt;
  return as_string(map[std::string(key)], map, join_path(path, key));
}

std::string YamlReader::req_string(const YAML::Node& map, std::string_view path,
                                   std::string_view key) const {
  std::optional<std::string> value = opt_string(map, path, key);
  if (!value) fail(line_of(map, map), join_path(path, key), "is required");
  if (value->empty()) fail(map[std::string(key)], join_path(path, key), "must not be empty");
  return *value;
}

std::optional<std::uint64_t> YamlReader::opt_uint(const YAML::Node& map, std::string_view path,
                                                  std::string_view key, std::uint64_t max,
                                                  std::uint64_t min) const {
  if (!has(map, key)) return std::nullopt;
  return as_uint(map[std::string(key)], map, join_path(path, key), max, min);
}

std::optional<bool> YamlReader::opt_bool(const YAML::Node& map, std::string_view path,
                                         std::string_view key) const {
  if (!has(map, key)) return std::nullopt;
  const YAML::Node node = map[std::string(key)];
  if (node.IsScalar() && is_plain(node)) {
    const std::string& text = node.Scalar();
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
  }
  fail(line_of(node, map), join_path(path, key), "must be true or false");
}

YAML::Node YamlReader::opt_sequence(const YAML::Node& map, std::string_view path,
                                    std::string_view key) const {
  if (!has(map, key)) return YAML::Node(YAML::NodeType::Sequence);
  const YAML::Node node = map[std::string(key)];
  if (!node.IsSequence()) fail(line_of(node, map), join_path(path, key), "must be a list");
  return node;
}

std::vector<std::string> YamlReader::opt_string_list(const YAML::Node& map, std::string_view path,
                                                     std::string_view key) const {
  const YAML::Node list = opt_sequence(map, path, key);
  std::vector<std::string> out;
  const std::string list_path = join_path(path, key);
  for (std::size_t i = 0; i < list.size(); ++i) {
    out.push_back(as_string(list[i], list, index_path(list_path, i)));
  }
  return out;
}

std::vector<std::uint64_t> YamlReader::opt_uint_list(const YAML::Node& map, std::string_view path,
                                                     std::string_view key,
                                                     std::uint64_t max) const {
  const YAML::Node list = opt_sequence(map, path, key);
  std::vector<std::uint64_t> out;
  const std::string list_path = join_path(path, key);
  for (std::size_t i = 0; i < list.size(); ++i) {
    out.push_back(as_uint(list[i], list, index_path(list_path, i), max));
  }
  return out;
}

}  // namespace backupy::controlplane::detail
