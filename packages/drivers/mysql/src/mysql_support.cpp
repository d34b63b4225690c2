#include "mysql_support.hpp"

namespace backupy::drivers::mysql {

namespace {
bool contains(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}
}  // namespace

bool is_mariadb(std::string_view version, std::string_view version_comment) {
  return contains(version, "MariaDB") || contains(version_comment, "MariaDB");
}

std::string server_version_text(std::string_view version, std::string_view version_comment) {
  const bool maria = is_mariadb(version, version_comment);
  std::string_view number = version;
  if (maria && number.starts_with("5.5.5-")) number.remove_prefix(6);
  number = number.substr(0, number.find_first_of("- \t\r\n"));
  return std::string(maria ? "MariaDB " : "MySQL ") + std::string(number);
}

std::string option_file_quote(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

void TailRing::append(std::span<const char> data) {
  if (data.size() >= capacity_) {
    text_.assign(data.data() + data.size() - capacity_, capacity_);
    return;
  }
  text_.append(data.data(), data.size());
  if (text_.size() > capacity_) text_.erase(0, text_.size() - capacity_);
}

bool ends_with_dump_trailer(std::string_view tail) {
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r' || tail.back() == ' ')) {
    tail.remove_suffix(1);
  }
  const auto newline = tail.rfind('\n');
  const std::string_view last = newline == std::string_view::npos ? tail : tail.substr(newline + 1);
  // Without a line break before it the line may have been cut by the ring.
  if (newline == std::string_view::npos) return false;
  return last.starts_with("-- Dump completed");
}

}  // namespace backupy::drivers::mysql
