#include "postgres_support.hpp"

#include <unistd.h>

#include <cctype>
#include <charconv>
#include <system_error>

namespace backupy::drivers::postgres {

std::string pgpass_escape(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (char c : field) {
    if (c == '\\' || c == ':') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string strip_version_suffix(std::string_view server_version) {
  const auto space = server_version.find(' ');
  return std::string(server_version.substr(0, space));
}

std::optional<std::string> parse_pg_dump_version(std::string_view output) {
  constexpr std::string_view marker = "(PostgreSQL) ";
  const auto at = output.find(marker);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = output.substr(at + marker.size());
  const auto end = rest.find_first_of(" \t\r\n");
  rest = rest.substr(0, end);
  if (rest.empty() || !std::isdigit(static_cast<unsigned char>(rest.front()))) return std::nullopt;
  return std::string(rest);
}

std::optional<int> major_of(std::string_view version) {
  int first = 0;
  const char* begin = version.data();
  const char* end = begin + version.size();
  auto [p, ec] = std::from_chars(begin, end, first);
  if (ec != std::errc() || p == begin) return std::nullopt;
  if (first >= 10) return first * 100;
  // Before 10 the major version had two parts: 9.6.
  int second = 0;
  if (p == end || *p != '.') return std::nullopt;
  auto [q, ec2] = std::from_chars(p + 1, end, second);
  if (ec2 != std::errc() || q == p + 1) return std::nullopt;
  return first * 100 + second;
}

int server_major(int num) {
  if (num >= 100000) return (num / 10000) * 100;
  return (num / 10000) * 100 + (num / 100) % 100;
}

std::string major_text(int major) {
  if (major >= 1000) return std::to_string(major / 100);
  return std::to_string(major / 100) + "." + std::to_string(major % 100);
}

std::optional<std::filesystem::path> newest_pg_dump(const std::filesystem::path& lib_root) {
  std::error_code ec;
  std::optional<std::filesystem::path> best;
  int best_major = -1;
  for (std::filesystem::directory_iterator it(lib_root, ec), end; !ec && it != end;
       it.increment(ec)) {
    // Directory names are "15", "16" (or "9.6" for old releases).
    const auto major = major_of(it->path().filename().string());
    if (!major) continue;
    const auto candidate = it->path() / "bin" / "pg_dump";
    if (::access(candidate.c_str(), X_OK) != 0) continue;
    if (*major > best_major) {
      best_major = *major;
      best = candidate;
    }
  }
  return best;
}

std::string conninfo_quote(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

}  // namespace backupy::drivers::postgres
