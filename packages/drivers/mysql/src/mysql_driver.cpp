#include "backupy/drivers/mysql_driver.hpp"

#include <errmsg.h>
#include <fcntl.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <memory>
#include <optional>
#include <regex>
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
#include "mysql_support.hpp"

namespace backupy::drivers {
namespace {

namespace fs = std::filesystem;

struct MysqlCloser {
  void operator()(MYSQL* conn) const { mysql_close(conn); }
};
struct ResultCloser {
  void operator()(MYSQL_RES* result) const { mysql_free_result(result); }
};
using MysqlConn = std::unique_ptr<MYSQL, MysqlCloser>;
using MysqlResult = std::unique_ptr<MYSQL_RES, ResultCloser>;

// Every dump, local or in a container: why each flag, see mysql_driver.hpp.
const std::vector<std::string> kDumpFlags = {
    "--single-transaction", "--skip-lock-tables", "--quick",
    "--routines",           "--triggers",         "--events",
    "--hex-blob",           "--no-tablespaces",   "--default-character-set=utf8mb4"};

class MysqlDriver : public Driver {
 public:
  MysqlDriver(const DumpContext& context, MysqlOptions options)
      : target_(context.target),
        temp_dir_(context.temp_dir),
        docker_socket_(context.docker_socket),
        options_(std::move(options)),
        endpoint_(resolve_endpoint(
            context.target,
            {.tcp_host = "127.0.0.1", .socket_path = "/run/mysqld/mysqld.sock", .port = 3306})) {
    engine_ = target_.type() == backup::v1::MYSQL ? "MySQL" : "MariaDB";
  }

  std::string probe() override {
    validate();
    if (endpoint_.docker) return probe_in_container();
    MysqlConn conn(mysql_init(nullptr));
    if (!conn) throw DriverError(prefix() + ": out of memory creating a MariaDB client handle");
    const unsigned int timeout = static_cast<unsigned int>(options_.connect_timeout.count());
    mysql_options(conn.get(), MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    const unsigned int protocol = endpoint_.socket ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
    mysql_options(conn.get(), MYSQL_OPT_PROTOCOL, &protocol);
    mysql_options(conn.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (!mysql_real_connect(conn.get(), endpoint_.socket ? nullptr : endpoint_.host.c_str(),
                            endpoint_.user.c_str(), endpoint_.password.c_str(),
                            endpoint_.database.c_str(), endpoint_.socket ? 0 : endpoint_.port,
                            endpoint_.socket ? endpoint_.host.c_str() : nullptr, 0)) {
      throw connection_error(mysql_errno(conn.get()), mysql_error(conn.get()));
    }
    const auto row = query_row(conn.get(), "SELECT VERSION(), @@version_comment", 2);
    mariadb_ = mysql::is_mariadb(row[0], row[1]);
    server_version_ = mysql::server_version_text(row[0], row[1]);
    const auto size = query_row(conn.get(),
                                "SELECT COALESCE(SUM(data_length), 0) FROM "
                                "information_schema.tables WHERE table_schema = DATABASE()",
                                1);
    try {
      size_ = std::stoull(size[0]);
    } catch (const std::exception&) {
      size_ = 0;
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
    const fs::path tool = choose_tool();
    const std::string name = tool.filename().string();

    std::optional<core::PrivateFile> options_file;
    const fs::path options_path = temp_dir_ / "backupy-my.cnf";
    try {
      std::string content = "[client]\nuser=" + mysql::option_file_quote(endpoint_.user) + "\n";
      if (!endpoint_.password.empty())
        content += "password=" + mysql::option_file_quote(endpoint_.password) + "\n";
      options_file.emplace(options_path, content);
    } catch (const std::system_error& e) {
      throw DriverError(prefix() + ": " + e.what());
    }

    process::SpawnOptions spawn;
    // --defaults-extra-file must be the first argument.
    spawn.argv = {tool.string(), "--defaults-extra-file=" + options_path.string()};
    spawn.argv.insert(spawn.argv.end(), kDumpFlags.begin(), kDumpFlags.end());
    if (endpoint_.socket) {
      spawn.argv.insert(spawn.argv.end(), {"--protocol=SOCKET", "--socket=" + endpoint_.host});
    } else {
      spawn.argv.insert(spawn.argv.end(), {"--protocol=TCP", "--host=" + endpoint_.host,
                                           "--port=" + std::to_string(endpoint_.port)});
    }
    spawn.argv.push_back(endpoint_.database);
    spawn.env = child_env();
    spawn.cwd = temp_dir_;

    process::Child child = spawn_dump_tool(spawn, prefix());
    mysql::TailRing ring(512);
    const DumpToolRun run =
        run_dump_tool(child, out, stop, prefix() + ": " + name, endpoint_.password,
                      [&](std::span<const char> data) { ring.append(data); });
    check_trailer(name, ring, run);
  }

 private:
  // "127.0.0.1:3306", "socket /run/mysqld/mysqld.sock", "container db1[, host[:port]]"
  std::string server_at() const {
    if (endpoint_.docker) {
      std::string at = "container " + endpoint_.container;
      if (!endpoint_.host.empty())
        at += ", " + endpoint_.host +
              (endpoint_.port != 0 ? ":" + std::to_string(endpoint_.port) : "");
      return at;
    }
    return endpoint_.socket ? "socket " + endpoint_.host
                            : endpoint_.host + ":" + std::to_string(endpoint_.port);
  }
  std::string where() const {
    return server_at() + ", database " + core::quoted(endpoint_.database);
  }
  // "target my1 (MariaDB 127.0.0.1:3306, database "app")"
  std::string prefix() const {
    return "target " + target_.id() + " (" + engine_ + " " + where() + ")";
  }

  void validate() const {
    if (endpoint_.docker && endpoint_.container.empty()) {
      throw DriverError("target " + target_.id() +
                        ": the DOCKER_EXEC strategy needs connection.container_id");
    }
    if (endpoint_.database.empty()) {
      throw DriverError("target " + target_.id() + ": connection.database must name a database");
    }
    if (endpoint_.database.starts_with('-')) {
      throw DriverError("target " + target_.id() + ": connection.database " +
                        core::quoted(endpoint_.database) + " must not start with '-'");
    }
    if (endpoint_.user.empty()) {
      throw DriverError("target " + target_.id() + ": connection.username must be set");
    }
    if (endpoint_.socket && !endpoint_.host.starts_with('/')) {
      throw DriverError("target " + target_.id() +
                        ": with the UNIX_SOCKET strategy connection.host must be the absolute "
                        "path of the server's socket file, not " +
                        core::quoted(endpoint_.host));
    }
  }

  DriverError connection_error(unsigned int code, const char* message) const {
    const std::string detail = one_line_masked(message ? message : "", endpoint_.password);
    switch (code) {
      case ER_ACCESS_DENIED_ERROR:
      case ER_DBACCESS_DENIED_ERROR:
      case ER_ACCESS_DENIED_NO_PASSWORD_ERROR:
        return DriverError("target " + target_.id() + ": access denied for user " +
                           core::quoted(endpoint_.user) + " at " + where() +
                           " (check the username, password and grants): " + detail);
      case ER_BAD_DB_ERROR:
        return DriverError("target " + target_.id() + ": database " +
                           core::quoted(endpoint_.database) + " does not exist on the " + engine_ +
                           " server at " + server_at());
      case CR_CONNECTION_ERROR:
      case CR_CONN_HOST_ERROR:
      case CR_UNKNOWN_HOST:
      case CR_SERVER_GONE_ERROR:
      case CR_SERVER_LOST:
      case CR_IPSOCK_ERROR:
      case CR_SOCKET_CREATE_ERROR:
        return DriverError("target " + target_.id() + ": " + engine_ + " server unreachable at " +
                           where() + ": " + detail);
      default:
        return DriverError(prefix() + ": cannot connect (error " + std::to_string(code) +
                           "): " + detail);
    }
  }

  std::vector<std::string> query_row(MYSQL* conn, const char* sql, unsigned int columns) const {
    if (mysql_query(conn, sql) != 0) {
      throw DriverError(prefix() + ": " + sql +
                        " failed: " + one_line_masked(mysql_error(conn), endpoint_.password));
    }
    MysqlResult result(mysql_store_result(conn));
    MYSQL_ROW row = result ? mysql_fetch_row(result.get()) : nullptr;
    if (!row || mysql_num_fields(result.get()) < columns) {
      throw DriverError(prefix() + ": " + sql + " returned no row: " +
                        one_line_masked(mysql_error(conn), endpoint_.password));
    }
    std::vector<std::string> values;
    for (unsigned int i = 0; i < columns; ++i) values.emplace_back(row[i] ? row[i] : "");
    return values;
  }

  void check_trailer(const std::string& name, const mysql::TailRing& ring,
                     const DumpToolRun& run) const {
    if (!mysql::ends_with_dump_trailer(ring.text())) {
      throw DriverError(
          prefix() + ": " + name + " exited 0 but its output (" + std::to_string(run.bytes) +
          " bytes) does not end with the \"-- Dump completed\" trailer" + run.tail_suffix());
    }
  }

  // ---- DOCKER_EXEC: the image's own client and dump tool (mariadb /
  // mariadb-dump, or the mysql names), the password only in the exec's Env
  // (MYSQL_PWD), never in its Cmd; the container's option files apply.

  std::vector<std::string> container_connection_args() const {
    std::vector<std::string> args = {"--user=" + endpoint_.user};
    if (!endpoint_.host.empty()) {
      args.insert(args.end(), {"--protocol=TCP", "--host=" + endpoint_.host});
      if (endpoint_.port != 0) args.push_back("--port=" + std::to_string(endpoint_.port));
    }
    return args;
  }

  // No PATH: the image's own applies (Docker merges the exec's Env into the
  // container's).
  std::vector<std::string> container_env() const {
    std::vector<std::string> env = {"LC_ALL=C"};
    if (!endpoint_.password.empty()) env.push_back("MYSQL_PWD=" + endpoint_.password);
    return env;
  }

  // Runs the first of names the image has (exit 126/127 = not there, as long
  // as nothing was written); every other failure is final.
  std::string run_first_of(const std::vector<std::string>& names,
                           const std::function<void(const std::string&)>& run_one) const {
    std::string missing;
    for (const auto& name : names) {
      try {
        run_one(name);
        return name;
      } catch (const ContainerToolFailed& e) {
        if (!e.not_found()) throw;
        missing += (missing.empty() ? "" : ", ") + e.stderr_tail();
      }
    }
    throw DriverError(prefix() + ": neither " + names[0] + " nor " + names[1] +
                      " is in container " + endpoint_.container +
                      " (the DOCKER_EXEC strategy runs the " +
                      "image's own client tools): " + missing);
  }

  std::string probe_in_container() {
    const std::string query =
        "SELECT VERSION(), @@version_comment, (SELECT COALESCE(SUM(data_length), 0) FROM "
        "information_schema.tables WHERE table_schema = DATABASE())";
    std::vector<std::string> args = {"-N", "-B", "--default-character-set=utf8mb4"};
    const auto connection = container_connection_args();
    args.insert(args.end(), connection.begin(), connection.end());
    args.insert(args.end(), {"--database=" + endpoint_.database, "-e", query});
    const std::vector<std::string> names = engine_ == "MySQL"
                                               ? std::vector<std::string>{"mysql", "mariadb"}
                                               : std::vector<std::string>{"mariadb", "mysql"};
    std::string output;
    run_first_of(names, [&](const std::string& name) {
      std::vector<std::string> argv = {name};
      argv.insert(argv.end(), args.begin(), args.end());
      try {
        output = capture_in_container(docker_socket_, {endpoint_.container, argv, container_env()},
                                      {}, prefix() + ": " + name, endpoint_.password);
      } catch (const ContainerToolFailed& e) {
        if (e.not_found()) throw;
        throw client_error(e);
      }
    });
    // One tab-separated row: version, comment, size.
    std::vector<std::string> fields;
    std::string line = output.substr(0, output.find('\n'));
    for (std::size_t start = 0;;) {
      const std::size_t tab = line.find('\t', start);
      fields.push_back(line.substr(start, tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    if (fields.size() < 2 || fields[0].empty()) {
      throw DriverError(prefix() + ": the client answered no server version: " +
                        one_line_masked(output.substr(0, 200), endpoint_.password));
    }
    mariadb_ = mysql::is_mariadb(fields[0], fields[1]);
    server_version_ = mysql::server_version_text(fields[0], fields[1]);
    size_ = 0;
    if (fields.size() >= 3) {
      try {
        size_ = std::stoull(fields[2]);
      } catch (const std::exception&) {
        size_ = 0;  // only a hint
      }
    }
    return server_version_;
  }

  // "ERROR 1045 (28000): Access denied ..." → the same classification as a
  // libmariadb error locally.
  DriverError client_error(const ContainerToolFailed& e) const {
    static const std::regex kCode(R"(ERROR (\d+))");
    std::smatch match;
    const std::string& tail = e.stderr_tail();
    if (std::regex_search(tail, match, kCode)) {
      return connection_error(static_cast<unsigned int>(std::stoul(match[1].str())), tail.c_str());
    }
    return DriverError(e.what());
  }

  void dump_in_container(stream::ByteSink& out, std::stop_token stop) const {
    const std::vector<std::string> names =
        mariadb_ ? std::vector<std::string>{"mariadb-dump", "mysqldump"}
                 : std::vector<std::string>{"mysqldump", "mariadb-dump"};
    run_first_of(names, [&](const std::string& name) {
      std::vector<std::string> argv = {name};
      argv.insert(argv.end(), kDumpFlags.begin(), kDumpFlags.end());
      const auto connection = container_connection_args();
      argv.insert(argv.end(), connection.begin(), connection.end());
      argv.push_back(endpoint_.database);
      mysql::TailRing ring(512);
      std::uint64_t written = 0;
      DumpToolRun run;
      try {
        run = run_in_container(docker_socket_, {endpoint_.container, argv, container_env()}, out,
                               stop, prefix() + ": " + name, endpoint_.password,
                               [&](std::span<const char> data) {
                                 written += data.size();
                                 ring.append(data);
                               });
      } catch (const ContainerToolFailed& e) {
        // After output, no other tool may try again: the sink has bytes.
        if (written > 0) throw DriverError(e.what());
        throw;
      }
      check_trailer(name, ring, run);
    });
  }

  std::vector<std::string> child_env() const {
    return {"PATH=" + options_.child_path, "LC_ALL=C.UTF-8"};
  }

  fs::path choose_tool() const {
    const std::vector<std::string> names =
        mariadb_ ? std::vector<std::string>{"mariadb-dump", "mysqldump"}
                 : std::vector<std::string>{"mysqldump", "mariadb-dump"};
    for (const auto& name : names) {
      if (auto found = process::find_program(name, child_env())) return *found;
    }
    throw DriverError(prefix() + ": neither " + names[0] + " nor " + names[1] + " found in PATH " +
                      options_.child_path + "; install the " +
                      (mariadb_ ? "MariaDB client (mariadb-client)" : "MySQL client") +
                      " or use the DOCKER_EXEC strategy");
  }

  backup::v1::Target target_;
  fs::path temp_dir_;
  fs::path docker_socket_;
  MysqlOptions options_;
  Endpoint endpoint_;
  std::string engine_;
  std::string server_version_;
  bool mariadb_ = true;
  std::uint64_t size_ = 0;
};

}  // namespace

std::unique_ptr<Driver> make_mysql_driver_with(const DumpContext& context,
                                               const MysqlOptions& options) {
  return std::make_unique<MysqlDriver>(context, options);
}

std::unique_ptr<Driver> make_mysql_driver(const DumpContext& context) {
  return make_mysql_driver_with(context, MysqlOptions{});
}

}  // namespace backupy::drivers
