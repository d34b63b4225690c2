#include "backupy/drivers/postgres_driver.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>

#include "backupy/core/files.hpp"
#include "backupy/core/quote.hpp"
#include "backupy/drivers/container_tool.hpp"
#include "backupy/drivers/dump_tool.hpp"
#include "backupy/drivers/endpoint.hpp"
#include "backupy/process/child.hpp"
#include "backupy/process/output_tail.hpp"
#include "backupy/process/pump.hpp"
#include "backupy/stream/cancelled.hpp"
#include "postgres_support.hpp"

namespace backupy::drivers {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "PGDMP";

struct PgConnCloser {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct PgResultCloser {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgConn = std::unique_ptr<PGconn, PgConnCloser>;
using PgResult = std::unique_ptr<PGresult, PgResultCloser>;

bool contains(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}

class PostgresDriver : public Driver {
 public:
  PostgresDriver(const DumpContext& context, PostgresOptions options)
      : target_(context.target),
        temp_dir_(context.temp_dir),
        docker_socket_(context.docker_socket),
        options_(std::move(options)),
        endpoint_(resolve_endpoint(
            context.target,
            {.tcp_host = "localhost", .socket_path = "/var/run/postgresql", .port = 5432})) {}

  std::string probe() override {
    validate();
    if (endpoint_.docker) return probe_in_container({});
    const std::string port = std::to_string(endpoint_.port);
    const std::string timeout = std::to_string(options_.connect_timeout.count());
    // Everything explicit: nothing is taken from the agent's PG* environment
    // or ~/.pgpass (passfile points at nothing when there is no password).
    const char* keys[] = {"host",    "port",     "dbname",
                          "user",    "password", "connect_timeout",
                          "sslmode", "passfile", "fallback_application_name",
                          nullptr};
    const char* values[] = {endpoint_.host.c_str(),
                            port.c_str(),
                            endpoint_.database.c_str(),
                            endpoint_.user.c_str(),
                            endpoint_.password.c_str(),
                            timeout.c_str(),
                            options_.sslmode.c_str(),
                            "/dev/null",
                            "backupy",
                            nullptr};
    PgConn conn(PQconnectdbParams(keys, values, 0));
    if (!conn) throw DriverError(prefix() + ": out of memory creating a libpq connection");
    if (PQstatus(conn.get()) != CONNECTION_OK) {
      throw connection_error(PQerrorMessage(conn.get()));
    }
    server_major_ = postgres::server_major(PQserverVersion(conn.get()));
    const std::string raw_version = query_one(conn.get(), "SHOW server_version");
    server_version_ = postgres::strip_version_suffix(raw_version);
    const std::string size = query_one(conn.get(), "SELECT pg_database_size(current_database())");
    try {
      size_ = std::stoull(size);
    } catch (const std::exception&) {
      size_ = 0;
    }
    return "PostgreSQL " + server_version_;
  }

  std::optional<std::uint64_t> size_hint() const override {
    return size_ ? std::optional<std::uint64_t>(size_) : std::nullopt;
  }

  void dump(stream::ByteSink& out, std::stop_token stop) override {
    if (server_version_.empty()) probe();
    if (stop.stop_requested()) throw stream::Cancelled();
    if (endpoint_.docker) return dump_in_container(out, stop);
    if (endpoint_.password.find_first_of("\r\n") != std::string::npos) {
      throw DriverError(prefix() +
                        ": the password contains a line break, which a pgpass file "
                        "cannot carry");
    }
    const fs::path pg_dump = choose_pg_dump();
    check_pg_dump_version(pg_dump, stop);

    // Wildcards for host, port, database and user: the file serves this one
    // pg_dump, whose connection parameters are on its command line.
    std::optional<core::PrivateFile> pass;
    const fs::path pass_path = temp_dir_ / "backupy-pgpass";
    try {
      if (!endpoint_.password.empty()) {
        pass.emplace(pass_path, "*:*:*:*:" + postgres::pgpass_escape(endpoint_.password) + "\n");
      }
    } catch (const std::system_error& e) {
      throw DriverError(prefix() + ": " + e.what());
    }

    process::SpawnOptions spawn;
    spawn.argv = {pg_dump.string(), "--format=custom", "--compress=0", "--no-password",
                  "--lock-wait-timeout=" + std::to_string(options_.lock_wait_timeout.count()),
                  "--host", endpoint_.host, "--port", std::to_string(endpoint_.port), "--username",
                  endpoint_.user,
                  // A conninfo, so that a database name containing '=' is never
                  // parsed as connection options.
                  "--dbname", "dbname=" + postgres::conninfo_quote(endpoint_.database)};
    spawn.env = child_env(pass_path);
    spawn.cwd = temp_dir_;

    process::Child child = spawn_dump_tool(spawn, prefix());
    std::string head;
    const DumpToolRun run = run_dump_tool(
        child, out, stop, prefix() + ": pg_dump", endpoint_.password,
        [&](std::span<const char> data) {
          if (head.size() < kMagic.size()) {
            head.append(data.data(), std::min(data.size(), kMagic.size() - head.size()));
          }
        });
    check_magic(head, run);
  }

 private:
  // "127.0.0.1:5432", "socket directory /run/postgresql port 5432",
  // "container db1" / "container db1, 127.0.0.1:5432"
  std::string server_at() const {
    if (endpoint_.docker) {
      std::string at = "container " + endpoint_.container;
      if (!endpoint_.host.empty()) at += ", " + endpoint_.host;
      if (endpoint_.port != 0)
        at += (endpoint_.host.empty() ? ", port " : ":") + std::to_string(endpoint_.port);
      return at;
    }
    return endpoint_.socket
               ? "socket directory " + endpoint_.host + " port " + std::to_string(endpoint_.port)
               : endpoint_.host + ":" + std::to_string(endpoint_.port);
  }
  // "target pg1 (PostgreSQL 127.0.0.1:5432, database "app")"
  std::string where() const {
    return server_at() + ", database " + core::quoted(endpoint_.database);
  }
  std::string prefix() const { return "target " + target_.id() + " (PostgreSQL " + where() + ")"; }

  void validate() const {
    if (endpoint_.docker && endpoint_.container.empty()) {
      throw DriverError("target " + target_.id() +
                        ": the DOCKER_EXEC strategy needs connection.container_id");
    }
    if (endpoint_.database.empty()) {
      throw DriverError("target " + target_.id() + ": connection.database must name a database");
    }
    if (endpoint_.user.empty()) {
      throw DriverError("target " + target_.id() + ": connection.username must be set");
    }
    if (endpoint_.socket && !endpoint_.host.starts_with('/')) {
      throw DriverError("target " + target_.id() +
                        ": with the UNIX_SOCKET strategy connection.host must be the absolute "
                        "socket directory, not " +
                        core::quoted(endpoint_.host));
    }
  }

  DriverError connection_error(const std::string& libpq_message) const {
    const std::string detail = one_line_masked(libpq_message, endpoint_.password);
    if (contains(detail, "authentication failed") || contains(detail, "no password supplied") ||
        contains(detail, "password authentication") || contains(detail, "no pg_hba.conf entry")) {
      return DriverError("target " + target_.id() + ": authentication failed for user " +
                         core::quoted(endpoint_.user) + " at " + where() +
                         " (check the username and password): " + detail);
    }
    if (contains(detail, "database \"" + endpoint_.database + "\" does not exist") ||
        (contains(detail, "database") && contains(detail, "does not exist"))) {
      return DriverError("target " + target_.id() + ": database " +
                         core::quoted(endpoint_.database) +
                         " does not exist on the PostgreSQL server at " + server_at());
    }
    if (contains(detail, "Connection refused") || contains(detail, "could not connect") ||
        contains(detail, "timeout expired") || contains(detail, "could not translate host") ||
        contains(detail, "No such file or directory") ||
        contains(detail, "Network is unreachable") || contains(detail, "No route to host") ||
        contains(detail, "server closed the connection")) {
      return DriverError("target " + target_.id() + ": PostgreSQL server unreachable at " +
                         where() + ": " + detail);
    }
    return DriverError(prefix() + ": cannot connect: " + detail);
  }

  std::string query_one(PGconn* conn, const char* sql) const {
    PgResult result(PQexec(conn, sql));
    if (!result || PQresultStatus(result.get()) != PGRES_TUPLES_OK || PQntuples(result.get()) < 1) {
      throw DriverError(prefix() + ": " + sql +
                        " failed: " + one_line_masked(PQerrorMessage(conn), endpoint_.password));
    }
    return PQgetvalue(result.get(), 0, 0);
  }

  // ---- DOCKER_EXEC: the container's own psql and pg_dump (which match its
  // server, so no version check); the password only in the exec's Env.

  std::vector<std::string> container_connection_args() const {
    std::vector<std::string> args;
    if (!endpoint_.host.empty()) args.insert(args.end(), {"--host", endpoint_.host});
    if (endpoint_.port != 0) args.insert(args.end(), {"--port", std::to_string(endpoint_.port)});
    args.insert(args.end(), {"--username", endpoint_.user, "--dbname",
                             "dbname=" + postgres::conninfo_quote(endpoint_.database)});
    return args;
  }

  // No PATH: the image's own applies (Docker merges the exec's Env into the
  // container's). LC_ALL=C exists in every image.
  std::vector<std::string> container_env() const {
    std::vector<std::string> env = {
        "PGCONNECT_TIMEOUT=" + std::to_string(options_.connect_timeout.count()),
        "PGSSLMODE=" + options_.sslmode, "PGAPPNAME=backupy", "LC_ALL=C"};
    if (!endpoint_.password.empty()) env.push_back("PGPASSWORD=" + endpoint_.password);
    return env;
  }

  DriverError tool_missing(const ContainerToolFailed& e, const std::string& tool) const {
    return DriverError(prefix() + ": " + tool + " is not in container " + endpoint_.container +
                       " (the DOCKER_EXEC strategy runs the image's own PostgreSQL client " +
                       "tools; exit code " + std::to_string(e.exit_code()) + ")" +
                       (e.stderr_tail().empty() ? "" : ": " + e.stderr_tail()));
  }

  std::string probe_in_container(std::stop_token stop) {
    std::vector<std::string> argv = {"psql", "-X", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1"};
    const auto connection = container_connection_args();
    argv.insert(argv.end(), connection.begin(), connection.end());
    argv.insert(argv.end(),
                {"-c", "SHOW server_version", "-c", "SELECT pg_database_size(current_database())"});
    std::string output;
    try {
      output = capture_in_container(docker_socket_, {endpoint_.container, argv, container_env()},
                                    stop, prefix() + ": psql", endpoint_.password);
    } catch (const ContainerToolFailed& e) {
      if (e.not_found()) throw tool_missing(e, "psql");
      throw connection_error(e.stderr_tail());
    }
    // Two lines: "15.8 (Debian 15.8-1.pgdg120+1)" and the size in bytes.
    const std::size_t eol = output.find('\n');
    const std::string raw_version = output.substr(0, eol);
    server_version_ = postgres::strip_version_suffix(raw_version);
    const auto major = postgres::major_of(server_version_);
    if (server_version_.empty() || !major) {
      throw DriverError(prefix() + ": psql answered no server version: " +
                        one_line_masked(output.substr(0, 200), endpoint_.password));
    }
    server_major_ = *major;
    size_ = 0;
    if (eol != std::string::npos) {
      try {
        size_ = std::stoull(output.substr(eol + 1));
      } catch (const std::exception&) {
        size_ = 0;  // only a hint
      }
    }
    return "PostgreSQL " + server_version_;
  }

  void dump_in_container(stream::ByteSink& out, std::stop_token stop) const {
    std::vector<std::string> argv = {
        "pg_dump", "--format=custom", "--compress=0", "--no-password",
        "--lock-wait-timeout=" + std::to_string(options_.lock_wait_timeout.count())};
    const auto connection = container_connection_args();
    argv.insert(argv.end(), connection.begin(), connection.end());
    std::string head;
    DumpToolRun run;
    try {
      run = run_in_container(
          docker_socket_, {endpoint_.container, argv, container_env()}, out, stop,
          prefix() + ": pg_dump", endpoint_.password, [&](std::span<const char> data) {
            if (head.size() < kMagic.size()) {
              head.append(data.data(), std::min(data.size(), kMagic.size() - head.size()));
            }
          });
    } catch (const ContainerToolFailed& e) {
      if (e.not_found()) throw tool_missing(e, "pg_dump");
      throw;
    }
    check_magic(head, run);
  }

  void check_magic(const std::string& head, const DumpToolRun& run) const {
    if (head != kMagic) {
      throw DriverError(
          prefix() + ": pg_dump exited 0 but its output (" + std::to_string(run.bytes) +
          " bytes) is not a custom-format archive (no PGDMP header)" + run.tail_suffix());
    }
  }

  std::vector<std::string> child_env(const fs::path& pass_path) const {
    return {"PATH=" + options_.child_path, "PGPASSFILE=" + pass_path.string(),
            "PGCONNECT_TIMEOUT=" + std::to_string(options_.connect_timeout.count()),
            "PGSSLMODE=" + options_.sslmode, "LC_ALL=C.UTF-8"};
  }

  fs::path choose_pg_dump() const {
    if (auto newest = postgres::newest_pg_dump(options_.lib_root)) return *newest;
    if (auto found = process::find_program("pg_dump", child_env(temp_dir_ / "none"))) {
      return *found;
    }
    throw DriverError(prefix() + ": pg_dump not found (looked for " +
                      (options_.lib_root / "*/bin/pg_dump").string() + " and in PATH " +
                      options_.child_path + "); install the PostgreSQL client (postgresql-client-" +
                      postgres::major_text(server_major_) + ") or use the DOCKER_EXEC strategy");
  }

  void check_pg_dump_version(const fs::path& pg_dump, std::stop_token stop) const {
    process::SpawnOptions spawn;
    spawn.argv = {pg_dump.string(), "--version"};
    spawn.env = {"PATH=" + options_.child_path, "LC_ALL=C.UTF-8"};
    process::Child child = spawn_dump_tool(spawn, prefix());
    std::string output;
    process::OutputTail tail(1024);
    process::PumpOptions pump_options;
    pump_options.timeout = std::chrono::seconds(30);
    pump_options.on_stdout = [&](std::span<const char> data) {
      if (output.size() < 4096) output.append(data.data(), data.size());
    };
    pump_options.on_stderr = [&](std::span<const char> data) { tail.append(data); };
    const process::PumpResult result = process::pump(child, pump_options, stop);
    if (result.ending == process::PumpResult::Ending::stopped) throw stream::Cancelled();
    const auto version = postgres::parse_pg_dump_version(output);
    const auto major = version ? postgres::major_of(*version) : std::nullopt;
    if (!result.ok() || !major) {
      throw DriverError(
          prefix() + ": " + pg_dump.string() + " --version failed (" + result.status.describe() +
          "): " + one_line_masked(tail.empty() ? output : tail.text(), endpoint_.password));
    }
    if (*major < server_major_) {
      throw DriverError(prefix() + ": pg_dump " + *version + " (" + pg_dump.string() +
                        ") is older than the server (PostgreSQL " + server_version_ +
                        "); install pg_dump " + postgres::major_text(server_major_) +
                        " or use the DOCKER_EXEC strategy");
    }
  }

  backup::v1::Target target_;
  fs::path temp_dir_;
  fs::path docker_socket_;
  PostgresOptions options_;
  Endpoint endpoint_;
  std::string server_version_;
  int server_major_ = 0;
  std::uint64_t size_ = 0;
};

}  // namespace

std::unique_ptr<Driver> make_postgres_driver_with(const DumpContext& context,
                                                  const PostgresOptions& options) {
  return std::make_unique<PostgresDriver>(context, options);
}

std::unique_ptr<Driver> make_postgres_driver(const DumpContext& context) {
  return make_postgres_driver_with(context, PostgresOptions{});
}

}  // namespace backupy::drivers
