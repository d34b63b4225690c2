#include "backupy/drivers/mongodb_driver.hpp"

#include <algorithm>
#include <functional>
#include <optional>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

#include "backupy/core/files.hpp"
#include "backupy/core/quote.hpp"
#include "backupy/drivers/container_tool.hpp"
#include "backupy/drivers/dump_tool.hpp"
#include "backupy/drivers/endpoint.hpp"
#include "backupy/process/child.hpp"
#include "backupy/stream/cancelled.hpp"
#include "mongoc_probe.hpp"
#include "mongodb_support.hpp"

namespace backupy::drivers {
namespace {

namespace fs = std::filesystem;
using mongodb::ProbeError;

class MongodbDriver : public Driver {
 public:
  MongodbDriver(const DumpContext& context, MongodbOptions options)
      : target_(context.target),
        temp_dir_(context.temp_dir),
        docker_socket_(context.docker_socket),
        options_(std::move(options)),
        endpoint_(resolve_endpoint(
            context.target,
            {.tcp_host = "localhost", .socket_path = "/tmp/mongodb-27017.sock", .port = 27017})) {
    uri_ = mongodb::is_connection_uri(endpoint_.host);
    if (uri_) {
      // A connection string names its own hosts or sockets.
      endpoint_.socket = false;
      // The URI's own password, as written and decoded: masked like the
      // password field wherever a tool or server might echo it.
      secrets_.push_back(mongodb::uri_password(endpoint_.host));
      secrets_.push_back(mongodb::uri_password_raw(endpoint_.host));
    }
    secrets_.push_back(endpoint_.password);
  }

  std::string probe() override {
    validate();
    if (endpoint_.docker) return probe_in_container({});
    mongodb::ProbeTarget probe;
    probe.uri = uri_ ? endpoint_.host : built_uri();
    probe.username = endpoint_.user;
    probe.password = endpoint_.password;
    if (!uri_ && !endpoint_.user.empty()) probe.auth_source = options_.auth_database;
    probe.database = endpoint_.database;
    probe.timeout = options_.connect_timeout;
    try {
      const mongodb::ProbeResult result = mongodb::probe_server(probe);
      server_version_ = "MongoDB " + result.version;
      size_ = result.data_size.value_or(0);
    } catch (const ProbeError& e) {
      throw probe_error(e);
    }
    return server_version_;
  }

  std::optional<std::uint64_t> size_hint() const override {
    return size_ ? std::optional<std::uint64_t>(size_) : std::nullopt;
  }

  void dump(stream::ByteSink& out, std::stop_token stop) override {
    if (server_version_.empty()) probe();
    if (stop.stop_requested()) throw stream::Cancelled();
    if (endpoint_.docker) return dump_in_container(out, stop);
    const fs::path tool = find_tool();

    std::optional<core::PrivateFile> config;
    const fs::path config_path = temp_dir_ / "backupy-mongodump.yaml";
    try {
      // Written even when there is nothing secret to say, so that mongodump
      // never falls back to anything but its command line.
      config.emplace(config_path, "# mongodump --config for backupy\n" +
                                      mongodb::config_file_content(endpoint_.password,
                                                                   uri_ ? endpoint_.host : ""));
    } catch (const std::system_error& e) {
      throw DriverError(prefix() + ": " + e.what());
    }

    process::SpawnOptions spawn;
    spawn.argv = mongodb::mongodump_argv(dump_command(tool.string(), config_path.string()));
    spawn.env = child_env();
    spawn.cwd = temp_dir_;
    process::Child child = spawn_dump_tool(spawn, prefix());

    std::string head;
    DumpToolRun run;
    try {
      run = run_dump_tool(child, out, stop, prefix() + ": mongodump", endpoint_.password,
                          head_of(head));
    } catch (const DriverError& e) {
      // run_dump_tool masked the password; the URI's may be in the tail too.
      throw DriverError(masked(e.what()));
    }
    check_archive(head, run);
  }

 private:
  // Keeps the first bytes of the output for the magic number check.
  static std::function<void(std::span<const char>)> head_of(std::string& head) {
    return [&head](std::span<const char> data) {
      if (head.size() < mongodb::kArchiveMagic.size()) {
        head.append(data.data(),
                    std::min(data.size(), mongodb::kArchiveMagic.size() - head.size()));
      }
    };
  }

  void check_archive(const std::string& head, const DumpToolRun& run) const {
    if (run.bytes == 0) {
      throw DriverError(prefix() + ": mongodump exited 0 but wrote no archive" +
                        masked(run.tail_suffix()));
    }
    if (!mongodb::has_archive_magic(head)) {
      throw DriverError(prefix() + ": mongodump exited 0 but its output (" +
                        std::to_string(run.bytes) +
                        " bytes) is not a mongodump archive (no magic number 0x8199e26d)" +
                        masked(run.tail_suffix()));
    }
  }

  mongodb::DumpCommand dump_command(std::string tool, std::string config_path) const {
    mongodb::DumpCommand command;
    command.tool = std::move(tool);
    command.config_path = std::move(config_path);
    command.uri = uri_;
    command.socket = endpoint_.socket;
    command.host = endpoint_.host;
    command.port = endpoint_.port;
    command.username = endpoint_.user;
    command.auth_database = options_.auth_database;
    command.database = endpoint_.database;
    return command;
  }

  // "127.0.0.1:27017, database "app"" / "socket /tmp/m.sock, whole instance" /
  // "mongodb+srv://cluster0.example.net, database "app"".
  std::string server() const {
    if (endpoint_.docker) {
      std::string at = "container " + endpoint_.container;
      if (uri_) return at + ", " + mongodb::uri_for_messages(endpoint_.host);
      if (!endpoint_.host.empty()) at += ", " + endpoint_.host;
      if (endpoint_.port != 0)
        at += (endpoint_.host.empty() ? ", port " : ":") + std::to_string(endpoint_.port);
      return at;
    }
    if (uri_) return mongodb::uri_for_messages(endpoint_.host);
    return endpoint_.socket ? "socket " + endpoint_.host
                            : endpoint_.host + ":" + std::to_string(endpoint_.port);
  }
  std::string where() const {
    return server() + (endpoint_.database.empty()
                           ? ", whole instance"
                           : ", database " + core::quoted(endpoint_.database));
  }
  std::string prefix() const { return "target " + target_.id() + " (MongoDB " + where() + ")"; }

  // " for user "backup"" (the username, or the connection string's), or "".
  std::string for_user() const {
    const std::string user = !endpoint_.user.empty() ? endpoint_.user
                             : uri_                  ? mongodb::uri_username(endpoint_.host)
                                                     : "";
    return user.empty() ? "" : " for user " + core::quoted(user);
  }

  std::string masked(std::string text) const {
    for (const auto& secret : secrets_) text = one_line_masked(std::move(text), secret);
    return text;
  }

  void validate() const {
    const std::string id = "target " + target_.id();
    if (endpoint_.docker && endpoint_.container.empty()) {
      throw DriverError(id + ": the DOCKER_EXEC strategy needs connection.container_id");
    }
    if (endpoint_.socket &&
        (!endpoint_.host.starts_with('/') || !endpoint_.host.ends_with(".sock"))) {
      throw DriverError(id +
                        ": with the UNIX_SOCKET strategy connection.host must be the absolute "
                        "path of the server's socket file ending in .sock, not " +
                        core::quoted(endpoint_.host));
    }
    // The config file carries both as single-quoted YAML scalars, which
    // cannot hold a line break.
    if (!mongodb::yaml_single_quote(endpoint_.password)) {
      throw DriverError(id +
                        ": the password contains a line break or control character, which "
                        "mongodump's --config file cannot carry");
    }
    if (uri_ && !mongodb::yaml_single_quote(endpoint_.host)) {
      throw DriverError(id + ": the connection string contains a line break or control character");
    }
    if (!uri_ && !endpoint_.password.empty() && endpoint_.user.empty()) {
      throw DriverError(id + ": connection.username must be set when a password is");
    }
  }

  // mongodb://host:port/ or mongodb://%2Fpath.sock/ (never with credentials).
  std::string built_uri() const {
    if (endpoint_.socket) return "mongodb://" + mongodb::percent_encode(endpoint_.host) + "/";
    const std::string host = endpoint_.host.empty() ? "127.0.0.1" : endpoint_.host;
    const bool ipv6 = host.find(':') != std::string::npos && !host.starts_with('[');
    return "mongodb://" + (ipv6 ? "[" + host + "]" : host) + ":" +
           std::to_string(endpoint_.port != 0 ? endpoint_.port : 27017) + "/";
  }

  DriverError probe_error(const ProbeError& e) const {
    const std::string id = "target " + target_.id();
    const std::string detail = masked(e.what());
    switch (e.kind()) {
      case ProbeError::Kind::authentication:
        return DriverError(
            id + ": authentication failed" + for_user() + " at " + where() +
            " (check the username, password and authentication database): " + detail);
      case ProbeError::Kind::unreachable:
        return DriverError(id + ": MongoDB server unreachable at " + where() + ": " + detail);
      case ProbeError::Kind::missing_database:
        return DriverError(id + ": database " + core::quoted(endpoint_.database) +
                           " does not exist on the MongoDB server at " + server());
      case ProbeError::Kind::invalid_uri:
        return DriverError(id + ": connection.host is not a usable MongoDB connection string (" +
                           server() + "): " + detail);
      case ProbeError::Kind::other: break;
    }
    return DriverError(prefix() + ": cannot connect: " + detail);
  }

  // ---- DOCKER_EXEC: the image's own mongosh (probe) and mongodump; the
  // secrets only in the exec's Env, never in its Cmd.

  DriverError tool_missing(const ContainerToolFailed& e, const std::string& tool) const {
    return DriverError(prefix() + ": " + tool + " is not in container " + endpoint_.container +
                       " (the DOCKER_EXEC strategy runs the image's own mongosh and mongodump): " +
                       masked(e.stderr_tail()));
  }

  std::string probe_in_container(std::stop_token stop) {
    std::vector<std::string> env = {"PROBE_URI=" + (uri_ ? endpoint_.host : built_uri()),
                                    "PROBE_DB=" + endpoint_.database, "LC_ALL=C.UTF-8"};
    if (!endpoint_.user.empty()) {
      env.push_back("PROBE_USER=" + endpoint_.user);
      env.push_back("PROBE_PASSWORD=" + endpoint_.password);
      if (!uri_) env.push_back("PROBE_AUTH_DB=" + options_.auth_database);
    }
    const std::vector<std::string> argv = {
        "mongosh", "--quiet", "--norc",
        "--nodb",  "--eval",  std::string(mongodb::container_probe_script())};
    std::string output;
    try {
      output = capture_in_container(docker_socket_, {endpoint_.container, argv, env}, stop,
                                    prefix() + ": mongosh", endpoint_.password);
    } catch (const ContainerToolFailed& e) {
      if (e.not_found()) throw tool_missing(e, "mongosh");
      throw container_probe_error(e);
    } catch (const stream::Cancelled&) {
      throw;
    } catch (const DriverError& e) {
      throw DriverError(masked(e.what()));
    }
    const auto probe = mongodb::parse_container_probe(output);
    if (!probe) {
      throw DriverError(prefix() +
                        ": mongosh answered no server version: " + masked(output.substr(0, 200)));
    }
    if (probe->database_exists == false) {
      throw DriverError("target " + target_.id() + ": database " +
                        core::quoted(endpoint_.database) +
                        " does not exist on the MongoDB server at " + server());
    }
    server_version_ = "MongoDB " + probe->version;
    size_ = probe->data_size.value_or(0);
    return server_version_;
  }

  DriverError container_probe_error(const ContainerToolFailed& e) const {
    const std::string detail = masked(e.stderr_tail());
    const auto has = [&](std::string_view what) { return detail.find(what) != std::string::npos; };
    if (has("Authentication failed") || has("AuthenticationFailed")) {
      return DriverError("target " + target_.id() + ": authentication failed" + for_user() +
                         " at " + where() +
                         " (check the username, password and authentication database): " + detail);
    }
    if (has("ECONNREFUSED") || has("ServerSelection") || has("ENOTFOUND") || has("EHOSTUNREACH") ||
        has("ETIMEDOUT")) {
      return DriverError("target " + target_.id() + ": MongoDB server unreachable at " + where() +
                         ": " + detail);
    }
    return DriverError(masked(e.what()));
  }

  void dump_in_container(stream::ByteSink& out, std::stop_token stop) const {
    // sh -c <script> mongodump <args>: the script adds --config=<its private file>.
    std::vector<std::string> argv = {"sh", "-c", std::string(mongodb::container_dump_script()),
                                     "mongodump"};
    const auto args = mongodb::mongodump_argv(dump_command("mongodump", "unused"));
    argv.insert(argv.end(), args.begin() + 2, args.end());
    const std::vector<std::string> env = {
        "MONGODUMP_CONFIG_YAML=# mongodump --config for backupy\n" +
            mongodb::config_file_content(endpoint_.password, uri_ ? endpoint_.host : ""),
        "LC_ALL=C.UTF-8"};
    std::string head;
    DumpToolRun run;
    try {
      run = run_in_container(docker_socket_, {endpoint_.container, argv, env}, out, stop,
                             prefix() + ": mongodump", endpoint_.password, head_of(head));
    } catch (const ContainerToolFailed& e) {
      if (e.not_found()) throw tool_missing(e, "mongodump");
      throw DriverError(masked(e.what()));
    } catch (const stream::Cancelled&) {
      throw;
    } catch (const DriverError& e) {
      throw DriverError(masked(e.what()));
    }
    check_archive(head, run);
  }

  std::vector<std::string> child_env() const {
    return {"PATH=" + options_.child_path, "LC_ALL=C.UTF-8"};
  }

  fs::path find_tool() const {
    if (auto found = process::find_program("mongodump", child_env())) return *found;
    throw DriverError(prefix() + ": mongodump not found in PATH " + options_.child_path +
                      "; install the MongoDB Database Tools (mongodb-database-tools)");
  }

  backup::v1::Target target_;
  fs::path temp_dir_;
  fs::path docker_socket_;
  MongodbOptions options_;
  Endpoint endpoint_;
  bool uri_ = false;
  std::vector<std::string> secrets_;
  std::string server_version_;
  std::uint64_t size_ = 0;
};

}  // namespace

std::unique_ptr<Driver> make_mongodb_driver_with(const DumpContext& context,
                                                 const MongodbOptions& options) {
  return std::make_unique<MongodbDriver>(context, options);
}

std::unique_ptr<Driver> make_mongodb_driver(const DumpContext& context) {
  return make_mongodb_driver_with(context, MongodbOptions{});
}

}  // namespace backupy::drivers
