#pragma once
// Real database servers for integration tests: a private PostgreSQL 15, MariaDB 10.11 or Redis 7
// instance on 127.0.0.1 (a free port) with its data in a TempDir. scripts/setup.sh installs the
// Debian packages; installing them starts no service, each fixture starts its own.
//
// Each constructor starts the server, creates a password-protected account (and a database),
// and waits (bounded) until it accepts connections; on failure it throws std::runtime_error with
// the tail of the server's log. The destructor stops the server (a graceful signal, SIGKILL after
// a grace period) and removes its data. Passwords never appear in an argv the fixture starts:
// they go through files (0600) or the environment of the client helpers.
//
// Startup (this 2-core machine): Redis ~0.1 s, PostgreSQL ~1.5-4 s (initdb), MariaDB ~3-5 s
// (mariadb-install-db's bootstrap dominates). Share one instance per test suite rather than
// one per test:
//
//   class PgDriverTest : public ::testing::Test {
//    protected:
//     static void SetUpTestSuite() { server_ = std::make_unique<PostgresServer>(); }
//     static void TearDownTestSuite() { server_.reset(); }
//     static inline std::unique_ptr<PostgresServer> server_;
//   };
//
// Tests sharing an instance should use their own tables/keys (or databases) and clean up.
// Note: ctest runs every TEST as its own process (gtest_discover_tests), so a suite-shared
// instance saves startups only when the test binary runs the suite in one process; under ctest
// each test still starts one server. A server outlives a test binary killed with SIGKILL.
// The fixtures are not thread-safe; use one from one thread at a time.
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "backupy/test_support/process.hpp"
#include "backupy/test_support/temp_dir.hpp"

namespace backupy::test_support {

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close).
int pick_free_port();

class PostgresServer {
 public:
  // initdb (as the postgres user via runuser; superuser `user()` with a random password,
  // scram-sha-256 for local and host connections) + postgres on 127.0.0.1:port() with its
  // UNIX socket in socket_dir(); then CREATE DATABASE database().
  PostgresServer();
  // SIGINT (PostgreSQL's fast shutdown; SIGTERM would wait for open sessions), SIGKILL after 5 s.
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  std::string host() const { return "127.0.0.1"; }
  int port() const { return port_; }
  const std::string& user() const { return user_; }
  const std::string& password() const { return password_; }
  const std::string& database() const { return database_; }
  // The directory holding the server's UNIX socket (.s.PGSQL.<port>); pass it as host.
  std::filesystem::path socket_dir() const { return dir_.path() / "socket"; }
  std::filesystem::path data_dir() const { return dir_.path() / "data"; }
  // /usr/lib/postgresql/15/bin (psql, pg_dump, pg_basebackup, ...).
  static std::filesystem::path bin_dir();

  // Runs sql with psql over TCP as user() (password via PGPASSWORD in psql's environment only),
  // unaligned, tuples only, ON_ERROR_STOP; returns stdout. db defaults to database().
  // Throws std::runtime_error with psql's stderr if it fails.
  std::string psql(const std::string& sql, const std::string& db = "") const;

  pid_t pid() const;  // the postmaster's pid (0 if unknown)
  // Every argv this fixture started (servers and helpers), for leak checks.
  const std::vector<std::vector<std::string>>& commands() const { return commands_; }

 private:
  bool start(std::string& error);
  TempDir dir_;
  std::string user_ = "backupy", password_, database_ = "backupy";
  int port_ = 0;
  std::unique_ptr<Process> process_;
  mutable std::vector<std::vector<std::string>> commands_;
};

class MariaDbServer {
 public:
  // mariadb-install-db + mariadbd (as the mysql user) on 127.0.0.1:port() and socket_path();
  // creates user()@'%' and user()@'localhost' with a random password and ALL PRIVILEGES
  // (WITH GRANT OPTION), and the database database().
  MariaDbServer();
  // SIGTERM, SIGKILL after 10 s.
  ~MariaDbServer();
  MariaDbServer(const MariaDbServer&) = delete;
  MariaDbServer& operator=(const MariaDbServer&) = delete;

  std::string host() const { return "127.0.0.1"; }
  int port() const { return port_; }
  const std::string& user() const { return user_; }
  const std::string& password() const { return password_; }
  const std::string& database() const { return database_; }
  std::filesystem::path socket_path() const { return dir_.path() / "mysqld.sock"; }
  std::filesystem::path data_dir() const { return dir_.path() / "data"; }
  // A client option file (0600) with user, password, host and port; usable as the first
  // argument of mariadb/mariadb-dump: --defaults-extra-file=<this>.
  std::filesystem::path client_options_file() const { return dir_.path() / "client.cnf"; }

  // Runs statement with the mariadb client over TCP as user() in database() (batch mode,
  // tab-separated, no column names); returns stdout. Throws with the client's stderr.
  std::string sql(const std::string& statement) const;

  pid_t pid() const;
  const std::vector<std::vector<std::string>>& commands() const { return commands_; }

 private:
  bool start(std::string& error);
  TempDir dir_;
  std::string user_ = "backupy", password_, database_ = "backupy";
  int port_ = 0;
  std::unique_ptr<Process> process_;
  mutable std::vector<std::vector<std::string>> commands_;
};

class RedisServer {
 public:
  // redis-server from a config file (0600, in the TempDir) on 127.0.0.1:port() and
  // socket_path(): requirepass password() for the default user, plus an ACL user acl_user()
  // with acl_password() and full rights; no persistence unless a test asks (SAVE/BGSAVE write
  // to data_dir()).
  RedisServer();
  // SIGTERM, SIGKILL after 5 s.
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  std::string host() const { return "127.0.0.1"; }
  int port() const { return port_; }
  const std::string& password() const { return password_; }  // the default user's
  const std::string& acl_user() const { return acl_user_; }
  const std::string& acl_password() const { return acl_password_; }
  std::filesystem::path socket_path() const { return dir_.path() / "redis.sock"; }
  std::filesystem::path data_dir() const { return dir_.path() / "data"; }

  // Runs redis-cli over TCP as the default user (password via REDISCLI_AUTH in its environment
  // only) with args; returns stdout (raw replies, one per line). Throws if redis-cli fails or
  // prints an error reply.
  std::string cli(const std::vector<std::string>& args) const;
  template <typename... Args>
  std::string cli(const std::string& first, const Args&... rest) const {
    return cli(std::vector<std::string>{first, std::string(rest)...});
  }

  pid_t pid() const;
  const std::vector<std::vector<std::string>>& commands() const { return commands_; }

 private:
  bool start(std::string& error);
  TempDir dir_;
  std::string password_, acl_user_ = "backupy", acl_password_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
  mutable std::vector<std::vector<std::string>> commands_;
};

}  // namespace backupy::test_support
