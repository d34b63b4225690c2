#pragma once
// Pure helpers of the PostgreSQL driver (unit-tested on their own).
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backupy::drivers::postgres {

// One field of a pgpass line: '\' and ':' backslash-escaped.
std::string pgpass_escape(std::string_view field);
// "15.8 (Debian 15.8-0+deb12u1)" -> "15.8"; "16beta1" stays.
std::string strip_version_suffix(std::string_view server_version);
// "pg_dump (PostgreSQL) 15.8 (Debian 15.8-0+deb12u1)" -> "15.8"; nullopt if unparsable.
std::optional<std::string> parse_pg_dump_version(std::string_view version_output);
// Comparable major version: "15.8" -> 1500, "9.6.24" -> 906 (before 10 the major
// version had two parts); the same scale as server_major().
std::optional<int> major_of(std::string_view version);
// From PQserverVersion(): 150008 -> 1500, 90624 -> 906.
int server_major(int server_version_num);
// "PostgreSQL 15" / "9.6" from a major_of() value.
std::string major_text(int major);
// The newest <lib_root>/<major>/bin/pg_dump that is executable, if any.
std::optional<std::filesystem::path> newest_pg_dump(const std::filesystem::path& lib_root);
// A conninfo value in single quotes ('\' and '\'' escaped).
std::string conninfo_quote(std::string_view value);

}  // namespace backupy::drivers::postgres
