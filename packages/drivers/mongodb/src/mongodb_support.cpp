#include "mongodb_support.hpp"

#include <algorithm>
#include <charconv>
#include <system_error>

#include "backupy/core/percent.hpp"

namespace backupy::drivers::mongodb {

bool has_archive_magic(std::string_view head) {
  if (head.size() < kArchiveMagic.size()) return false;
  return std::equal(
      kArchiveMagic.begin(), kArchiveMagic.end(), head.begin(),
      [](unsigned char want, char got) { return want == static_cast<unsigned char>(got); });
}

std::optional<std::string> yaml_single_quote(std::string_view value) {
  std::string out = "'";
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return std::nullopt;
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string config_file_content(std::string_view password, std::string_view uri) {
  std::string out;
  if (!password.empty()) out += "password: " + yaml_single_quote(password).value() + "\n";
  if (!uri.empty()) out += "uri: " + yaml_single_quote(uri).value() + "\n";
  return out;
}

bool is_connection_uri(std::string_view host) {
  return host.starts_with("mongodb://") || host.starts_with("mongodb+srv://");
}

namespace {

// The authority of a connection string: [user info@]hosts, without the scheme.
// The user info ends at the last '@' before the path/options (a password
// should percent-encode '@', '/' and '?', but may not).
struct UriParts {
  std::string_view scheme;     // "mongodb://"
  std::string_view user_info;  // "user:pass" or ""
  std::string_view hosts;      // "db1:27017,db2"
};

UriParts split_uri(std::string_view uri) {
  UriParts parts;
  const auto scheme_end = uri.find("://");
  if (scheme_end == std::string_view::npos) return parts;
  parts.scheme = uri.substr(0, scheme_end + 3);
  std::string_view rest = uri.substr(scheme_end + 3);
  const auto options = rest.find('?');
  const std::string_view before_options = rest.substr(0, options);
  const auto at = before_options.rfind('@');
  if (at != std::string_view::npos) {
    parts.user_info = rest.substr(0, at);
    rest.remove_prefix(at + 1);
  }
  parts.hosts = rest.substr(0, rest.find_first_of("/?"));
  return parts;
}

}  // namespace

std::string uri_for_messages(std::string_view uri) {
  const UriParts parts = split_uri(uri);
  if (parts.scheme.empty()) return "(connection string)";
  return std::string(parts.scheme) + std::string(parts.hosts);
}

std::string uri_password_raw(std::string_view uri) {
  const UriParts parts = split_uri(uri);
  const auto colon = parts.user_info.find(':');
  if (colon == std::string_view::npos) return "";
  return std::string(parts.user_info.substr(colon + 1));
}

std::string uri_username(std::string_view uri) {
  const UriParts parts = split_uri(uri);
  return percent_decode(parts.user_info.substr(0, parts.user_info.find(':')));
}

std::string uri_password(std::string_view uri) {
  return percent_decode(uri_password_raw(uri));
}

std::string percent_encode(std::string_view text) {
  return core::percent_encode(text);
}

std::string percent_decode(std::string_view text) {
  // Lenient: a URI that is not validly encoded is used as written.
  return core::percent_decode(text).value_or(std::string(text));
}

std::vector<std::string> mongodump_argv(const DumpCommand& c) {
  // --config first: everything secret comes from there. --archive without a
  // file name writes the archive to stdout; no --gzip (the pipeline
  // compresses).
  std::vector<std::string> argv = {c.tool, "--config=" + c.config_path, "--archive"};
  if (!c.uri) {
    // Empty host / port 0 (DOCKER_EXEC): the tool's defaults inside the container.
    if (c.socket) {
      // The Go driver takes a socket as a percent-encoded host ending in .sock.
      argv.push_back("--host=" + percent_encode(c.host));
    } else {
      if (!c.host.empty()) argv.push_back("--host=" + c.host);
      if (c.port != 0) argv.push_back("--port=" + std::to_string(c.port));
    }
  }
  if (!c.username.empty()) {
    argv.push_back("--username=" + c.username);
    if (!c.uri && !c.auth_database.empty()) {
      argv.push_back("--authenticationDatabase=" + c.auth_database);
    }
  }
  if (!c.database.empty()) argv.push_back("--db=" + c.database);
  return argv;
}

std::string_view container_dump_script() {
  // No exec: the shell must outlive mongodump to remove the file. A stopped
  // run closes the exec's stream, mongodump dies on EPIPE and the EXIT trap
  // still runs; TERM/INT/HUP exit through it too.
  return "umask 077\n"
         "f=$(mktemp) || exit 125\n"
         "trap 'rm -f \"$f\"' EXIT\n"
         "trap 'exit 143' HUP INT TERM\n"
         "printf '%s' \"$MONGODUMP_CONFIG_YAML\" > \"$f\" || exit 125\n"
         "unset MONGODUMP_CONFIG_YAML\n"
         "mongodump --config=\"$f\" \"$@\"\n";
}

std::string_view container_probe_script() {
  return "const e = process.env;\n"
         "const m = new Mongo(e.PROBE_URI);\n"
         "if (e.PROBE_USER) m.getDB(e.PROBE_AUTH_DB || 'admin').auth(e.PROBE_USER, "
         "e.PROBE_PASSWORD);\n"
         "const admin = m.getDB('admin');\n"
         "const version = admin.runCommand({buildInfo: 1}).version;\n"
         "let exists = '-', size = '-';\n"
         "if (e.PROBE_DB) {\n"
         "  const list = admin.runCommand({listDatabases: 1, nameOnly: true});\n"
         "  if (list.ok) exists = list.databases.some((d) => d.name === e.PROBE_DB) ? '1' : '0';\n"
         "  const stats = m.getDB(e.PROBE_DB).runCommand({dbStats: 1});\n"
         "  if (stats.ok) size = String(Math.floor(Number(stats.dataSize)));\n"
         "}\n"
         "print('backupy-probe ' + version + ' ' + exists + ' ' + size);\n";
}

std::optional<ContainerProbe> parse_container_probe(std::string_view output) {
  constexpr std::string_view kMarker = "backupy-probe ";
  const auto at = output.find(kMarker);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view line = output.substr(at + kMarker.size());
  line = line.substr(0, line.find_first_of("\r\n"));
  std::vector<std::string_view> fields;
  while (!line.empty()) {
    const auto space = line.find(' ');
    fields.push_back(line.substr(0, space));
    line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  }
  if (fields.size() != 3 || fields[0].empty() || fields[0] == "undefined") return std::nullopt;
  ContainerProbe probe;
  probe.version = std::string(fields[0]);
  if (fields[1] == "1") probe.database_exists = true;
  if (fields[1] == "0") probe.database_exists = false;
  std::uint64_t size = 0;
  const auto [end, ec] =
      std::from_chars(fields[2].data(), fields[2].data() + fields[2].size(), size);
  if (ec == std::errc() && end == fields[2].data() + fields[2].size()) probe.data_size = size;
  return probe;
}

}  // namespace backupy::drivers::mongodb
