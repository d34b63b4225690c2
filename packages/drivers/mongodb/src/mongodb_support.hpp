#pragma once
// Pure helpers of the MongoDB driver (unit-tested on their own).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backupy::drivers::mongodb {

// Every mongodump archive starts with the magic number 0x8199e26d stored
// little-endian: bytes 6d e2 99 81. Source: "The Mongodump archive format
// specification" in mongodb/mongo-tools (common/archive/spec.md):
//   magic-number = 0x6de29981 ; (* little-endian representation of 0x8199e26d *)
inline constexpr std::array<unsigned char, 4> kArchiveMagic = {0x6d, 0xe2, 0x99, 0x81};
// True when head starts with kArchiveMagic.
bool has_archive_magic(std::string_view head);

// value as a YAML single-quoted scalar ('' for a quote; nothing else is an
// escape in that style, so backslashes, '#', ':' and '"' stay literal).
// nullopt when value contains a line break or another control character
// (except tab), which a single-quoted scalar cannot carry unchanged (YAML
// folds line breaks into spaces).
std::optional<std::string> yaml_single_quote(std::string_view value);

// The private mongodump --config file: "password: '<...>'" and/or
// "uri: '<...>'" lines (the keys mongodump reads from --config). Both values
// must be yaml_single_quote()-able (the driver checks first); empty values
// are left out.
std::string config_file_content(std::string_view password, std::string_view uri);

// connection.host is a connection string: "mongodb://" or "mongodb+srv://".
bool is_connection_uri(std::string_view host);
// A connection string safe for messages: scheme and hosts only, e.g.
// "mongodb://db1:27017,db2" — user info (and so any password), database and
// options (which may carry secrets such as tlsCertificateKeyFilePassword) are
// dropped.
std::string uri_for_messages(std::string_view uri);
// The password in a connection string's user info, percent-decoded; "" if none.
std::string uri_password(std::string_view uri);
// The same as written in the string (still percent-encoded).
std::string uri_password_raw(std::string_view uri);
// The user name in a connection string's user info, percent-decoded; "" if none.
std::string uri_username(std::string_view uri);

// RFC 3986 percent-encoding of everything but unreserved characters (a unix
// socket path as a MongoDB host: "/tmp/mongodb-27017.sock" ->
// "%2Ftmp%2Fmongodb-27017.sock").
std::string percent_encode(std::string_view text);
std::string percent_decode(std::string_view text);

// What mongodump is told on its command line (never a secret).
struct DumpCommand {
  std::string tool;            // absolute path of mongodump
  std::string config_path;     // the private --config file
  bool uri = false;            // the connection is in the config file's uri:
  bool socket = false;         // host is a unix socket path
  std::string host;            // TCP host or socket path (unused with uri)
  std::uint32_t port = 27017;  // TCP only
  std::string username;        // --username when not empty
  std::string auth_database;   // --authenticationDatabase when not empty (and not uri)
  std::string database;        // --db when not empty (empty: the whole instance)
};
// mongodump --config=<file> --archive [--host=.. --port=..] [--username=..]
//   [--authenticationDatabase=..] [--db=..]
std::vector<std::string> mongodump_argv(const DumpCommand& command);

// ---- DOCKER_EXEC: the container's own mongosh and mongodump.

// sh -c script that writes $MONGODUMP_CONFIG_YAML (the --config content, from the
// exec's Env) to a private (umask 077) mktemp file, unsets the variable, runs
// mongodump --config=<file> "$@" and removes the file when the shell exits.
std::string_view container_dump_script();
// The mongosh --eval program of the DOCKER_EXEC probe. It reads everything from
// its environment (PROBE_URI, PROBE_USER, PROBE_PASSWORD, PROBE_AUTH_DB,
// PROBE_DB), authenticates when PROBE_USER is set and prints one line:
// "backupy-probe <version> <1|0|-> <dataSize|->" (- = could not tell).
std::string_view container_probe_script();

struct ContainerProbe {
  std::string version;
  std::optional<bool> database_exists;
  std::optional<std::uint64_t> data_size;
};
// The "backupy-probe ..." line anywhere in mongosh's output; nullopt if none.
std::optional<ContainerProbe> parse_container_probe(std::string_view output);

}  // namespace backupy::drivers::mongodb
