// The MySQL/MariaDB driver against a real, private MariaDB (tests/support
// MariaDbServer): probe, a backup through the real pipeline restored with the
// mariadb client and compared, and every failure case of issue 4.
#include "backupy/drivers/mysql_driver.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "backupy/blob/blob_reader.hpp"
#include "backupy/compress/codec.hpp"
#include "backupy/drivers/testing/driver_test_kit.hpp"
#include "backupy/pipeline/pipeline.hpp"
#include "backupy/stream/cancelled.hpp"
#include "backupy/stream/memory_sink.hpp"
#include "backupy/test_support/db_servers.hpp"
#include "backupy/test_support/fake_docker.hpp"
#include "backupy/test_support/temp_dir.hpp"

namespace backupy::drivers {
namespace {

namespace fs = std::filesystem;
using test_support::MariaDbServer;
using test_support::TempDir;
using namespace drivers::testing;

// Every checksum the round trip must preserve (unqualified names: run in the
// database being compared).
constexpr const char* kChecksums =
    "SET SESSION group_concat_max_len = 1073741824; "
    "SELECT CONCAT_WS('|', "
    "(SELECT COUNT(*) FROM customers), "
    "(SELECT MD5(GROUP_CONCAT(CONCAT_WS('/', id, name, IFNULL(city, 'NULL'), born, active) "
    "  ORDER BY id SEPARATOR ',')) FROM customers), "
    "(SELECT COUNT(*) FROM orders), "
    "(SELECT MD5(GROUP_CONCAT(CONCAT_WS('/', id, customer_id, amount, HEX(payload), created, "
    "  meta) ORDER BY id SEPARATOR ',')) FROM orders), "
    "(SELECT COUNT(*) FROM big), "
    "(SELECT MD5(GROUP_CONCAT(CONCAT_WS('/', id, a, b) ORDER BY id SEPARATOR ',')) FROM big), "
    "(SELECT COUNT(*) FROM big_orders), "
    "(SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema = DATABASE() "
    "  AND routine_name = 'order_total'), "
    "(SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = DATABASE() "
    "  AND trigger_name = 'orders_audit'), "
    "(SELECT COUNT(*) FROM information_schema.views WHERE table_schema = DATABASE() "
    "  AND table_name = 'big_orders'))";

class MysqlDriverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto started = std::chrono::steady_clock::now();
    server_ = std::make_unique<MariaDbServer>();
    // Several types incl. BLOB binary data (every byte value), utf8mb4 text
    // with emoji, JSON, DECIMAL, dates; a view, a trigger, a stored procedure;
    // "big" (~10 MB) keeps the dump tool busy for the mid-dump tests.
    server_->sql(
        "CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(200) NOT NULL, "
        "  city VARCHAR(100), born DATE, active BOOLEAN) "
        "  ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;"
        "INSERT INTO customers (name, city, born, active) SELECT "
        "  CONCAT('Zoë Ωmega ', seq, ' 日本語 🙂🚀'), IF(seq % 7 = 0, NULL, 'Köln'), "
        "  DATE_ADD('1970-01-01', INTERVAL seq DAY), seq % 2 = 0 FROM seq_1_to_2000;"
        "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT, amount DECIMAL(12,2), "
        "  payload BLOB, created DATETIME(3), meta JSON, KEY orders_customer_idx (customer_id)) "
        "  ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;"
        "INSERT INTO orders SELECT seq, 1 + seq % 2000, seq * 1.25, "
        "  CONCAT(UNHEX(MD5(seq)), UNHEX('00FF0A0D275C22'), CHAR(seq % 256)), "
        "  DATE_ADD('2024-01-01 00:00:00.123', INTERVAL seq MINUTE), "
        "  JSON_OBJECT('n', seq, 's', 'x\"y') FROM seq_1_to_20000;"
        "CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, order_id BIGINT);"
        "CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW "
        "  INSERT INTO audit (order_id) VALUES (NEW.id);"
        "CREATE PROCEDURE order_total(IN cid INT, OUT total DECIMAL(14,2)) "
        "  SELECT SUM(amount) INTO total FROM orders WHERE customer_id = cid;"
        "CREATE TABLE big (id INT PRIMARY KEY, a VARCHAR(64), b TEXT) ENGINE=InnoDB;"
        "INSERT INTO big SELECT seq, CONCAT(MD5(seq), MD5(seq + 1)), REPEAT(MD5(seq), 2) "
        "  FROM seq_1_to_100000;"
        "CREATE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 1000;");
    std::printf("MariaDB start + seed: %.2f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  static void TearDownTestSuite() { server_.reset(); }

  DumpContext context(const std::string& id = "my-main") const {
    DumpContext c;
    c.target.set_id(id);
    c.target.set_type(backup::v1::MARIADB);
    auto* conn = c.target.mutable_connection();
    conn->set_host(server_->host());
    conn->set_port(static_cast<std::uint32_t>(server_->port()));
    conn->set_database(server_->database());
    conn->set_username(server_->user());
    conn->set_password_secret_ref(server_->password());
    c.temp_dir = scratch_.path();
    return c;
  }

  static std::string checksums(const std::string& db) {
    return trim(server_->sql("USE `" + db + "`; " + kChecksums));
  }

  // The mariadb client (password in the fixture's 0600 option file) loads a
  // SQL dump into a fresh database; returns its checksums.
  std::string restore(const fs::path& sql, const std::string& db) const {
    server_->sql("DROP DATABASE IF EXISTS `" + db + "`; CREATE DATABASE `" + db + "`");
    const auto result = test_support::run_command(
        {"/bin/sh", "-c", "exec \"$0\" \"$1\" --batch \"$2\" < \"$3\"", "mariadb",
         "--defaults-extra-file=" + server_->client_options_file().string(), db, sql.string()},
        {{"PATH", "/usr/bin:/bin"}}, std::chrono::seconds(120));
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return checksums(db);
  }

  static inline std::unique_ptr<MariaDbServer> server_;
  TempDir scratch_{"backupy-my-scratch"};
};

TEST_F(MysqlDriverTest, ProbeReportsTheServerVersionWithoutDistributionSuffix) {
  auto driver = make_mysql_driver(context());
  const std::string raw = trim(server_->sql("SELECT VERSION()"));
  const std::string version = driver->probe();
  EXPECT_EQ(version, "MariaDB " + raw.substr(0, raw.find('-')));
  EXPECT_EQ(version.find("-MariaDB"), std::string::npos) << version;
  ASSERT_TRUE(driver->size_hint().has_value());
  EXPECT_EQ(std::to_string(*driver->size_hint()),
            trim(server_->sql("SELECT SUM(data_length) FROM information_schema.tables "
                              "WHERE table_schema = '" +
                              server_->database() + "'")));
  // A MYSQL-typed target against the same server reports what the server is.
  auto c = context("my-as-mysql");
  c.target.set_type(backup::v1::MYSQL);
  EXPECT_EQ(make_mysql_driver(c)->probe(), version);
}

TEST_F(MysqlDriverTest, UnixSocketStrategyUsesHostAsTheSocketPath) {
  auto c = context("my-socket");
  c.target.mutable_connection()->set_strategy(backup::v1::UNIX_SOCKET);
  c.target.mutable_connection()->set_host(server_->socket_path().string());
  c.target.mutable_connection()->set_port(1);  // ignored
  auto driver = make_mysql_driver(c);
  EXPECT_TRUE(driver->probe().starts_with("MariaDB ")) << driver->probe();
  stream::MemorySink out;
  driver->dump(out, {});
  EXPECT_NE(out.data().find("CREATE TABLE `customers`"), std::string::npos);
  EXPECT_NE(out.data().rfind("-- Dump completed"), std::string::npos);
}

TEST_F(MysqlDriverTest, BackupThroughThePipelineRestoresIdentically) {
  const std::string expected = checksums(server_->database());
  ASSERT_NE(expected.find("|1|1|1"), std::string::npos) << expected;
  auto driver = make_mysql_driver(context());
  ASSERT_TRUE(driver->probe().starts_with("MariaDB "));

  TempDir work;
  pipeline::PipelineOptions options;
  options.dek = dek();
  options.spool_path = work.path() / "spool";
  const auto started = std::chrono::steady_clock::now();
  const auto result =
      pipeline::run_pipeline([&](stream::ByteSink& sink) { driver->dump(sink, {}); }, options);
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("dump: %llu raw bytes -> %llu stored in %.2f s\n",
              static_cast<unsigned long long>(result.raw_bytes),
              static_cast<unsigned long long>(result.stored_bytes), seconds);
  EXPECT_EQ(result.compression, "zstd");
  EXPECT_GT(result.raw_bytes, 1u << 20);

  // Spool -> BlobReader -> zstd -> SQL file -> mariadb.
  stream::MemorySink raw;
  auto decompressor = compress::make_decompressor(compress::Codec::zstd, raw);
  const auto key = dek();
  blob::BlobReader reader{std::span(key), *decompressor};
  reader.write(read_file(options.spool_path));
  reader.finish();
  ASSERT_EQ(raw.data().size(), result.raw_bytes);
  // One database without CREATE DATABASE / USE: it restores into any name.
  EXPECT_EQ(raw.data().find("CREATE DATABASE"), std::string::npos);
  EXPECT_EQ(raw.data().find("\nUSE `"), std::string::npos);
  const fs::path sql = work.path() / "restored.sql";
  std::ofstream(sql, std::ios::binary) << raw.data();

  const auto restore_started = std::chrono::steady_clock::now();
  EXPECT_EQ(restore(sql, "restored_roundtrip"), expected);
  std::printf(
      "restore: %.2f s\n",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - restore_started).count());
  // The trigger works in the restored database.
  EXPECT_EQ(trim(server_->sql("USE restored_roundtrip; INSERT INTO orders (id) VALUES (999999); "
                              "SELECT COUNT(*) FROM audit WHERE order_id = 999999")),
            "1");
  server_->sql("DROP DATABASE restored_roundtrip");
}

TEST_F(MysqlDriverTest, WrongPasswordFailsWithAccessDeniedWithoutThePassword) {
  auto c = context("my-badpw");
  const std::string wrong = "Wr0ng-Secret-Pw";
  c.target.mutable_connection()->set_password_secret_ref(wrong);
  const std::string message = driver_error_of([&] { make_mysql_driver(c)->probe(); });
  EXPECT_NE(message.find("access denied"), std::string::npos) << message;
  EXPECT_NE(message.find("my-badpw"), std::string::npos) << message;
  EXPECT_NE(message.find("127.0.0.1:" + std::to_string(server_->port())), std::string::npos);
  EXPECT_NE(message.find(server_->database()), std::string::npos) << message;
  EXPECT_EQ(message.find(wrong), std::string::npos) << message;
  EXPECT_EQ(message.find(server_->password()), std::string::npos) << message;
  // dump() without a probe probes first, and fails the same way.
  stream::MemorySink out;
  EXPECT_NE(driver_error_of([&] { make_mysql_driver(c)->dump(out, {}); }).find("access denied"),
            std::string::npos);
  EXPECT_TRUE(out.data().empty());
}

TEST_F(MysqlDriverTest, UnreachableServerFailsNamingHostAndPort) {
  expect_unreachable_error(make_mysql_driver, context("my-down"), test_support::pick_free_port(),
                           server_->password());
}

TEST_F(MysqlDriverTest, MissingDatabaseFailsNamingIt) {
  expect_missing_database_error(make_mysql_driver, context("my-nodb"), server_->port());
}

TEST_F(MysqlDriverTest, DumpToolSeesNoPasswordInArgvAndNoAgentSecretsInItsEnvironment) {
  ::setenv("BACKUPY_AGENT_KEY", "agent-key-must-not-leak", 1);
  ::setenv("MYSQL_PWD", "agent-mysqlpwd-must-not-leak", 1);
  auto driver = make_mysql_driver(context("my-secrets"));
  driver->probe();
  std::vector<std::string> argv, env;
  std::string options_mode, options_text;
  FirstWriteSink sink([&] {
    const auto children = children_named({"mariadb-dump", "mysqldump"});
    ASSERT_EQ(children.size(), 1u);
    const fs::path proc = "/proc/" + std::to_string(children.front());
    argv = split_nul(read_file(proc / "cmdline"));
    env = split_nul(read_file(proc / "environ"));
    ASSERT_GE(argv.size(), 2u);
    ASSERT_TRUE(argv[1].starts_with("--defaults-extra-file=")) << argv[1];
    const std::string file = argv[1].substr(22);
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    options_mode = std::to_string(st.st_mode & 0777);
    options_text = read_file(file);
  });
  driver->dump(sink, {});
  ::unsetenv("BACKUPY_AGENT_KEY");
  ::unsetenv("MYSQL_PWD");
  ASSERT_FALSE(argv.empty());
  EXPECT_TRUE(argv.front().ends_with("/mariadb-dump")) << argv.front();
  for (const auto& arg : argv) {
    EXPECT_EQ(arg.find(server_->password()), std::string::npos) << arg;
  }
  for (const char* flag : {"--single-transaction", "--quick", "--routines", "--triggers",
                           "--events", "--hex-blob", "--default-character-set=utf8mb4"}) {
    EXPECT_NE(std::find(argv.begin(), argv.end(), flag), argv.end()) << flag;
  }
  EXPECT_EQ(std::find(argv.begin(), argv.end(), "--databases"), argv.end());
  EXPECT_EQ(argv.back(), server_->database());
  std::set<std::string> names;
  for (const auto& entry : env) {
    names.insert(entry.substr(0, entry.find('=')));
    EXPECT_EQ(entry.find(server_->password()), std::string::npos) << entry;
    EXPECT_EQ(entry.find("must-not-leak"), std::string::npos) << entry;
  }
  EXPECT_EQ(names, (std::set<std::string>{"PATH", "LC_ALL"}));
  EXPECT_EQ(options_mode, std::to_string(0600));
  EXPECT_NE(options_text.find(server_->password()), std::string::npos);
  EXPECT_GT(sink.bytes(), 1u << 20);
  // The option file does not outlive the dump.
  for (const auto& entry : fs::directory_iterator(scratch_.path())) {
    ADD_FAILURE() << "left behind: " << entry.path();
  }
}

TEST_F(MysqlDriverTest, PasswordWithQuotesBackslashesAndCommentCharactersWorks) {
  // Reaches mariadb-dump only through the option file: quoting must hold.
  const std::string password = "p\"a\\ss#w;rd 'x=";
  const std::string literal = "'p\"a\\\\ss#w;rd \\'x='";
  for (const char* host : {"%", "localhost"}) {
    server_->sql(std::string("CREATE USER IF NOT EXISTS 'odd'@'") + host + "' IDENTIFIED BY " +
                 literal + "; GRANT ALL ON `" + server_->database() + "`.* TO 'odd'@'" + host +
                 "'");
  }
  auto c = context("my-odd");
  c.target.mutable_connection()->set_username("odd");
  c.target.mutable_connection()->set_password_secret_ref(password);
  auto driver = make_mysql_driver(c);
  EXPECT_TRUE(driver->probe().starts_with("MariaDB "));
  // Privileges on the database alone do not let it read other definers'
  // routines: the dump fails (it does not silently skip them).
  FirstWriteSink denied([] {});
  const std::string message = driver_error_of([&] { driver->dump(denied, {}); });
  EXPECT_NE(message.find("insufficient privileges to SHOW CREATE PROCEDURE"), std::string::npos)
      << message;
  EXPECT_EQ(message.find(password), std::string::npos) << message;
  for (const char* host : {"%", "localhost"}) {
    server_->sql(std::string("GRANT SELECT ON mysql.proc TO 'odd'@'") + host + "'");
  }
  FirstWriteSink sink([] {});
  driver->dump(sink, {});
  EXPECT_GT(sink.bytes(), 1u << 20);
}

TEST_F(MysqlDriverTest, StopTokenKillsTheDumpToolAndThrowsCancelled) {
  auto driver = make_mysql_driver(context("my-stop"));
  driver->probe();
  std::stop_source stop;
  FirstWriteSink sink([&] {
    ASSERT_EQ(children_named({"mariadb-dump", "mysqldump"}).size(), 1u);
    stop.request_stop();
  });
  EXPECT_THROW(driver->dump(sink, stop.get_token()), stream::Cancelled);
  EXPECT_TRUE(children_named({"mariadb-dump", "mysqldump"}).empty());
  for (const auto& entry : fs::directory_iterator(scratch_.path())) {
    ADD_FAILURE() << "left behind: " << entry.path();
  }
}

TEST_F(MysqlDriverTest, DumpToolKilledMidwayFailsWithItsStatus) {
  auto driver = make_mysql_driver(context("my-killed"));
  driver->probe();
  FirstWriteSink sink([&] {
    const auto children = children_named({"mariadb-dump", "mysqldump"});
    ASSERT_EQ(children.size(), 1u);
    ::kill(children.front(), SIGKILL);
  });
  const std::string message = driver_error_of([&] { driver->dump(sink, {}); });
  EXPECT_NE(message.find("mariadb-dump failed"), std::string::npos) << message;
  EXPECT_NE(message.find("signal 9"), std::string::npos) << message;
  EXPECT_NE(message.find("my-killed"), std::string::npos) << message;
  EXPECT_TRUE(children_named({"mariadb-dump", "mysqldump"}).empty());
}

TEST_F(MysqlDriverTest, MissingDumpToolIsAPreciseError) {
  TempDir empty;
  MysqlOptions options;
  options.child_path = (empty.path() / "bin").string() + ":/nonexistent";
  auto driver = make_mysql_driver_with(context("my-notool"), options);
  driver->probe();
  stream::MemorySink out;
  const std::string message = driver_error_of([&] { driver->dump(out, {}); });
  EXPECT_NE(message.find("neither mariadb-dump nor mysqldump found"), std::string::npos) << message;
  EXPECT_NE(message.find("my-notool"), std::string::npos) << message;
}

// A stand-in mariadb-dump first in the child's PATH.
MysqlOptions fake_dump_tool(const TempDir& dir, const std::string& script) {
  std::ofstream(dir.path() / "mariadb-dump") << "#!/bin/sh\n" << script;
  ::chmod((dir.path() / "mariadb-dump").c_str(), 0755);
  MysqlOptions options;
  options.child_path = dir.path().string() + ":/usr/bin:/bin";
  return options;
}

TEST_F(MysqlDriverTest, FailingOrTruncatedOutputIsNeverComplete) {
  {
    TempDir tools;
    const auto options = fake_dump_tool(
        tools, "echo 'CREATE TABLE t (id int);'; echo 'mariadb-dump: Got errno 28' >&2; exit 2\n");
    stream::MemorySink out;
    const std::string message = driver_error_of(
        [&] { make_mysql_driver_with(context("my-fail"), options)->dump(out, {}); });
    EXPECT_NE(message.find("exit code 2"), std::string::npos) << message;
    EXPECT_NE(message.find("Got errno 28"), std::string::npos) << message;
  }
  {
    TempDir tools;
    const auto options =
        fake_dump_tool(tools,
                       "echo '/*M!999999\\- enable the sandbox mode */'; echo '-- MariaDB dump'; "
                       "echo 'INSERT INTO t VALUES (1);'; exit 0\n");
    stream::MemorySink out;
    const std::string message = driver_error_of(
        [&] { make_mysql_driver_with(context("my-trunc"), options)->dump(out, {}); });
    EXPECT_NE(message.find("does not end with the \"-- Dump completed\" trailer"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("my-trunc"), std::string::npos) << message;
  }
  {
    // The sandbox-mode first line and the trailer: complete.
    TempDir tools;
    const auto options = fake_dump_tool(
        tools,
        "echo '/*M!999999\\- enable the sandbox mode */'; echo 'INSERT INTO t VALUES (1);'; "
        "echo; echo '-- Dump completed on 2026-11-22  8:30:01'; exit 0\n");
    stream::MemorySink out;
    make_mysql_driver_with(context("my-fake-ok"), options)->dump(out, {});
    EXPECT_TRUE(out.data().starts_with("/*M!999999")) << out.data();
  }
}

// ---- DOCKER_EXEC, through the fake Engine API (tests/support FakeDockerEngine:
// no Docker engine runs here; the fake runs mariadb/mariadb-dump locally,
// against the test server over TCP).

DumpContext docker_context(DumpContext c, const fs::path& socket,
                           const std::string& container = "my-container") {
  c.target.mutable_connection()->set_strategy(backup::v1::DOCKER_EXEC);
  c.target.mutable_connection()->set_container_id(container);
  c.docker_socket = socket;
  return c;
}

TEST_F(MysqlDriverTest, DockerExecProbesAndDumpsARestorableDump) {
  test_support::FakeDockerEngine fake({.containers = {"my-container"}});
  const std::string expected = checksums(server_->database());
  auto driver = make_mysql_driver(docker_context(context("my-docker"), fake.socket()));
  const std::string raw = trim(server_->sql("SELECT VERSION()"));
  EXPECT_EQ(driver->probe(), "MariaDB " + raw.substr(0, raw.find('-')));
  ASSERT_TRUE(driver->size_hint().has_value());
  EXPECT_GT(*driver->size_hint(), 0u);

  stream::MemorySink out;
  driver->dump(out, {});
  EXPECT_NE(out.data().rfind("-- Dump completed"), std::string::npos);
  TempDir work;
  const fs::path sql = work.path() / "docker.sql";
  std::ofstream(sql, std::ios::binary) << out.data();
  EXPECT_EQ(restore(sql, "restored_docker"), expected);
  server_->sql("DROP DATABASE restored_docker");

  // mariadb then mariadb-dump, in the container; the password only in the
  // exec's Env, no PATH (the image's own applies), no option file on disk.
  const auto execs = fake.execs();
  ASSERT_EQ(execs.size(), 2u);
  EXPECT_EQ(execs[0].cmd.front(), "mariadb");
  EXPECT_EQ(execs[1].cmd.front(), "mariadb-dump");
  expect_secret_only_in_exec_env(execs, "my-container", server_->password());
  for (const auto& exec : execs) {
    EXPECT_THAT(exec.env, ::testing::Contains("MYSQL_PWD=" + server_->password()));
  }
  EXPECT_THAT(execs[1].cmd,
              ::testing::IsSupersetOf({std::string("--single-transaction"),
                                       std::string("--host=127.0.0.1"), server_->database()}));
  EXPECT_TRUE(scratch_.empty());
}

TEST_F(MysqlDriverTest, DockerExecFallsBackToTheMysqlNames) {
  // An "image" whose PATH has only the mysql-named tools.
  TempDir bin;
  for (const auto& [name, target] :
       {std::pair{"mysql", "mariadb"}, std::pair{"mysqldump", "mariadb-dump"}}) {
    fs::create_symlink(fs::path("/usr/bin") / target, bin.path() / name);
  }
  test_support::FakeDockerEngine fake(
      {.containers = {"my-container"}, .image_path = bin.path().string()});
  auto driver = make_mysql_driver(docker_context(context("my-docker-old"), fake.socket()));
  EXPECT_TRUE(driver->probe().starts_with("MariaDB 10.11.")) << driver->probe();
  stream::MemorySink out;
  driver->dump(out, {});
  EXPECT_NE(out.data().rfind("-- Dump completed"), std::string::npos);
  std::vector<std::string> tools;
  for (const auto& exec : fake.execs()) tools.push_back(exec.cmd.front());
  EXPECT_EQ(tools, (std::vector<std::string>{"mariadb", "mysql", "mariadb-dump", "mysqldump"}));
}

TEST_F(MysqlDriverTest, DockerExecWrongPasswordIsAccessDeniedWithoutIt) {
  test_support::FakeDockerEngine fake({.containers = {"my-container"}});
  auto c = docker_context(context("my-docker-badpw"), fake.socket());
  const std::string wrong = "Wr0ng-Docker-Pw";
  c.target.mutable_connection()->set_password_secret_ref(wrong);
  const std::string message = driver_error_of([&] { make_mysql_driver(c)->probe(); });
  EXPECT_NE(message.find("access denied for user"), std::string::npos) << message;
  EXPECT_NE(message.find("container my-container"), std::string::npos) << message;
  EXPECT_EQ(message.find(wrong), std::string::npos) << message;
  EXPECT_EQ(message.find(server_->password()), std::string::npos) << message;
}

TEST_F(MysqlDriverTest, DockerExecUnknownContainerIsTheDaemonsAnswer) {
  test_support::FakeDockerEngine fake({.containers = {"my-container"}});
  const std::string message = driver_error_of([&] {
    make_mysql_driver(docker_context(context("my-docker-nc"), fake.socket(), "my-gone"))->probe();
  });
  EXPECT_NE(message.find("target my-docker-nc"), std::string::npos) << message;
  EXPECT_NE(message.find("Docker Engine API at " + fake.socket().string()), std::string::npos)
      << message;
  EXPECT_NE(message.find("404 No such container: my-gone"), std::string::npos) << message;
}

TEST_F(MysqlDriverTest, DockerExecMissingSocketNamesIt) {
  TempDir dir;
  const fs::path socket = dir.path() / "docker.sock";
  const std::string message = driver_error_of(
      [&] { make_mysql_driver(docker_context(context("my-docker-ns"), socket))->probe(); });
  EXPECT_NE(message.find("Docker Engine API at " + socket.string()), std::string::npos) << message;
  EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
}

TEST_F(MysqlDriverTest, DockerExecToolsMissingFromTheImageIsAPreciseError) {
  test_support::FakeDockerEngine fake(
      {.containers = {"my-container"}, .image_path = "/nonexistent"});
  const std::string message = driver_error_of([&] {
    make_mysql_driver(docker_context(context("my-docker-notool"), fake.socket()))->probe();
  });
  EXPECT_NE(message.find("neither mariadb nor mysql is in container my-container"),
            std::string::npos)
      << message;
}

TEST_F(MysqlDriverTest, DockerExecWithoutContainerIdIsRejected) {
  auto c = context("my-docker-noid");
  c.target.mutable_connection()->set_strategy(backup::v1::DOCKER_EXEC);
  const std::string message = driver_error_of([&] { make_mysql_driver(c)->probe(); });
  EXPECT_NE(message.find("DOCKER_EXEC strategy needs connection.container_id"), std::string::npos)
      << message;
}

}  // namespace
}  // namespace backupy::drivers
