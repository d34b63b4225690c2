// Smoke test of the real database servers in tests/support (db_servers.hpp): each fixture starts
// a private PostgreSQL / MariaDB / Redis, its helper writes and reads data back, password
// authentication is enforced, and the password shows up in no process's argv.
#include "backupy/test_support/db_servers.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "backupy/test_support/process.hpp"

namespace backupy::testing {
namespace {

namespace fs = std::filesystem;
using test_support::CommandResult;
using test_support::MariaDbServer;
using test_support::PostgresServer;
using test_support::RedisServer;
using test_support::run_command;

// The command line (NUL-separated argv) of every live process that contains needle.
std::vector<std::string> processes_with_argv_containing(const std::string& needle) {
  std::vector<std::string> hits;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    if (content.str().find(needle) != std::string::npos) hits.push_back(name);
  }
  return hits;
}

void expect_password_not_in_argv(const std::string& password,
                                 const std::vector<std::vector<std::string>>& commands) {
  ASSERT_GE(password.size(), 16u);
  EXPECT_TRUE(processes_with_argv_containing(password).empty());
  EXPECT_FALSE(commands.empty());
  for (const auto& argv : commands) {
    for (const auto& arg : argv) EXPECT_EQ(arg.find(password), std::string::npos) << arg;
  }
}

template <typename Fn>
double seconds_to(Fn fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(DbServers, PostgresStoresAndReadsBackOverTcpAndSocket) {
  std::unique_ptr<PostgresServer> pg;
  const double startup = seconds_to([&] { pg = std::make_unique<PostgresServer>(); });
  RecordProperty("startup_s", std::to_string(startup));
  ASSERT_GT(pg->port(), 0);
  ASSERT_GT(pg->pid(), 0);

  pg->psql(
      "CREATE TABLE items (id int PRIMARY KEY, name text); "
      "INSERT INTO items VALUES (1, 'one'), (2, 'two');");
  EXPECT_EQ(pg->psql("SELECT id || ':' || name FROM items ORDER BY id"), "1:one\n2:two\n");
  EXPECT_EQ(pg->psql("SELECT current_database() || ' ' || current_user || ' ' || "
                     "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"),
            pg->database() + " " + pg->user() + " true\n");

  // The UNIX socket in socket_dir() works, with the password too.
  const std::string psql = (PostgresServer::bin_dir() / "psql").string();
  const CommandResult via_socket = run_command(
      {psql, "-X", "-A", "-t", "-h", pg->socket_dir().string(), "-p", std::to_string(pg->port()),
       "-U", pg->user(), "-d", pg->database(), "-c", "SELECT count(*) FROM items"},
      {{"PGPASSWORD", pg->password()}});
  EXPECT_EQ(via_socket.exit_code, 0) << via_socket.err;
  EXPECT_EQ(via_socket.out, "2\n");

  // Host connections need the password (scram-sha-256).
  const CommandResult wrong =
      run_command({psql, "-X", "-h", pg->host(), "-p", std::to_string(pg->port()), "-U", pg->user(),
                   "-d", pg->database(), "-c", "SELECT 1"},
                  {{"PGPASSWORD", "wrong-password"}});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.err.find("password authentication failed"), std::string::npos) << wrong.err;

  expect_password_not_in_argv(pg->password(), pg->commands());
  EXPECT_FALSE(fs::exists(pg->data_dir().parent_path() / "pwfile"));

  const fs::path data = pg->data_dir();
  const pid_t pid = pg->pid();
  pg.reset();
  EXPECT_FALSE(fs::exists(data));
  EXPECT_FALSE(fs::exists("/proc/" + std::to_string(pid)));
}

TEST(DbServers, MariaDbStoresAndReadsBack) {
  std::unique_ptr<MariaDbServer> db;
  const double startup = seconds_to([&] { db = std::make_unique<MariaDbServer>(); });
  RecordProperty("startup_s", std::to_string(startup));
  ASSERT_GT(db->port(), 0);

  db->sql(
      "CREATE TABLE items (id INT PRIMARY KEY, name TEXT) ENGINE=InnoDB; "
      "INSERT INTO items VALUES (1, 'one'), (2, 'two');");
  EXPECT_EQ(db->sql("SELECT id, name FROM items ORDER BY id"), "1\tone\n2\ttwo\n");
  EXPECT_EQ(db->sql("SELECT DATABASE(), CURRENT_USER()"),
            db->database() + "\t" + db->user() + "@%\n");

  // The option file holding the password is private.
  struct stat st {};
  ASSERT_EQ(::stat(db->client_options_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // The server rejects a wrong password over TCP.
  const CommandResult wrong =
      run_command({"/usr/bin/mariadb", "--no-defaults", "--protocol=tcp", "-h", db->host(), "-P",
                   std::to_string(db->port()), "-u", db->user(), "-e", "SELECT 1"},
                  {{"MYSQL_PWD", "wrong-password"}});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.err.find("Access denied"), std::string::npos) << wrong.err;

  expect_password_not_in_argv(db->password(), db->commands());
  EXPECT_FALSE(fs::exists(db->data_dir().parent_path() / "setup.sql"));

  const fs::path data = db->data_dir();
  db.reset();
  EXPECT_FALSE(fs::exists(data));
}

TEST(DbServers, RedisStoresAndReadsBackWithBothUsers) {
  std::unique_ptr<RedisServer> redis;
  const double startup = seconds_to([&] { redis = std::make_unique<RedisServer>(); });
  RecordProperty("startup_s", std::to_string(startup));
  ASSERT_GT(redis->port(), 0);

  EXPECT_EQ(redis->cli("SET", "greeting", "hello"), "OK\n");
  EXPECT_EQ(redis->cli("GET", "greeting"), "hello\n");
  EXPECT_THROW(redis->cli("INCR", "greeting"), std::runtime_error);  // error reply

  // The ACL user works; no password or a wrong one does not.
  const std::string port = std::to_string(redis->port());
  const CommandResult acl = run_command({"/usr/bin/redis-cli", "-h", redis->host(), "-p", port,
                                         "--user", redis->acl_user(), "GET", "greeting"},
                                        {{"REDISCLI_AUTH", redis->acl_password()}});
  EXPECT_EQ(acl.exit_code, 0) << acl.err;
  EXPECT_EQ(acl.out, "hello\n");
  const CommandResult anonymous =
      run_command({"/usr/bin/redis-cli", "-h", redis->host(), "-p", port, "GET", "greeting"}, {});
  EXPECT_NE(anonymous.out.find("NOAUTH"), std::string::npos) << anonymous.out;
  const CommandResult via_socket =
      run_command({"/usr/bin/redis-cli", "-s", redis->socket_path().string(), "GET", "greeting"},
                  {{"REDISCLI_AUTH", redis->password()}});
  EXPECT_EQ(via_socket.out, "hello\n") << via_socket.err;

  expect_password_not_in_argv(redis->password(), redis->commands());
  expect_password_not_in_argv(redis->acl_password(), redis->commands());

  const fs::path data = redis->data_dir();
  redis.reset();
  EXPECT_FALSE(fs::exists(data));
}

}  // namespace
}  // namespace backupy::testing
