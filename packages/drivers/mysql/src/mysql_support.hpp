#pragma once
// Pure helpers of the MySQL/MariaDB driver (unit-tested on their own).
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace backupy::drivers::mysql {

// The version as users know it, from SELECT VERSION() and @@version_comment:
// "10.11.6-MariaDB-0+deb12u1" -> "MariaDB 10.11.6"; "8.0.36" (comment "MySQL
// Community Server - GPL") -> "MySQL 8.0.36". A server is MariaDB when either
// text mentions "MariaDB"; the replication-compatibility prefix "5.5.5-" is
// dropped.
std::string server_version_text(std::string_view version, std::string_view version_comment);
bool is_mariadb(std::string_view version, std::string_view version_comment);
// One option-file value in double quotes; '\', '"', line breaks and tabs
// backslash-escaped (the escapes my_load_defaults understands).
std::string option_file_quote(std::string_view value);

// The last bytes of a dump, kept to check the completion trailer.
class TailRing {
 public:
  explicit TailRing(std::size_t capacity = 512) : capacity_(capacity) {}
  void append(std::span<const char> data);
  const std::string& text() const { return text_; }

 private:
  std::size_t capacity_;
  std::string text_;
};

// True when the last non-empty line of a dump's tail is mysqldump's trailer
// "-- Dump completed[ on <date>]".
bool ends_with_dump_trailer(std::string_view tail);

}  // namespace backupy::drivers::mysql
