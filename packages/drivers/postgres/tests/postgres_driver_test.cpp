// The PostgreSQL driver against a real, private PostgreSQL 15 (tests/support
// PostgresServer): probe, a backup through the real pipeline restored with
// pg_restore and compared, and every failure case of issue 4.
#include "backupy/drivers/postgres_driver.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <thread>
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
using test_support::PostgresServer;
using test_support::TempDir;
using namespace drivers::testing;

// Every checksum the round trip must preserve.
constexpr const char* kChecksums =
    "SELECT (SELECT count(*) FROM customers) || '|' || "
    "(SELECT md5(string_agg(c::text, ',' ORDER BY id)) FROM customers c) || '|' || "
    "(SELECT count(*) FROM orders) || '|' || "
    "(SELECT md5(string_agg(o::text, ',' ORDER BY id)) FROM orders o) || '|' || "
    "(SELECT md5(string_agg(encode(payload, 'hex'), ',' ORDER BY id)) FROM orders) || '|' || "
    "(SELECT count(*) FROM big) || '|' || "
    "(SELECT md5(string_agg(b::text, ',' ORDER BY id)) FROM big b) || '|' || "
    "(SELECT last_value FROM invoice_no) || '|' || "
    "(SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_customer_idx')";

class PostgresDriverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = std::make_unique<PostgresServer>();
    // Several types incl. bytea, unicode text, jsonb, arrays, timestamps;
    // a sequence and an index; "big" (~10 MB) keeps pg_dump busy for the
    // mid-dump tests.
    server_->psql(
        "CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, city text, "
        "  born date, active boolean);"
        "INSERT INTO customers (name, city, born, active) SELECT "
        "  'Zoë Ωmega ' || i || ' 日本語 🙂', CASE WHEN i % 7 = 0 THEN NULL ELSE 'Köln' "
        "END, "
        "  date '1970-01-01' + i, i % 2 = 0 FROM generate_series(1, 2000) i;"
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int REFERENCES customers(id), "
        "  amount numeric(12,2), payload bytea, created timestamptz, tags text[], meta jsonb);"
        "INSERT INTO orders SELECT i, 1 + i % 2000, i * 1.25, "
        "  decode(md5(i::text) || md5((i * 31)::text), 'hex') || '\\x00ff00'::bytea, "
        "  timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute', "
        "  ARRAY['a' || i, 'ü'], jsonb_build_object('n', i, 's', 'x\"y') "
        "  FROM generate_series(1, 20000) i;"
        "CREATE INDEX orders_customer_idx ON orders (customer_id);"
        "CREATE SEQUENCE invoice_no START 1000;"
        "SELECT nextval('invoice_no') FROM generate_series(1, 42);"
        "CREATE TABLE big (id int PRIMARY KEY, a text, b text);"
        "INSERT INTO big SELECT i, md5(i::text) || md5((i+1)::text), repeat(md5(i::text), 2) "
        "  FROM generate_series(1, 100000) i;");
  }
  static void TearDownTestSuite() { server_.reset(); }

  DumpContext context(const std::string& id = "pg-main") const {
    DumpContext c;
    c.target.set_id(id);
    c.target.set_type(backup::v1::POSTGRESQL);
    auto* conn = c.target.mutable_connection();
    conn->set_host(server_->host());
    conn->set_port(static_cast<std::uint32_t>(server_->port()));
    conn->set_database(server_->database());
    conn->set_username(server_->user());
    conn->set_password_secret_ref(server_->password());
    c.temp_dir = scratch_.path();
    return c;
  }

  // pg_restore of an archive file into a fresh database; returns its checksums.
  std::string restore(const fs::path& archive, const std::string& db) const {
    server_->psql("DROP DATABASE IF EXISTS " + db, "postgres");
    server_->psql("CREATE DATABASE " + db, "postgres");
    const auto result = test_support::run_command(
        {(PostgresServer::bin_dir() / "pg_restore").string(), "--exit-on-error", "--no-owner", "-h",
         server_->host(), "-p", std::to_string(server_->port()), "-U", server_->user(), "-d", db,
         archive.string()},
        {{"PGPASSWORD", server_->password()}}, std::chrono::seconds(120));
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return trim(server_->psql(kChecksums, db));
  }

  static inline std::unique_ptr<PostgresServer> server_;
  TempDir scratch_{"backupy-pg-scratch"};
};

TEST_F(PostgresDriverTest, ProbeReportsTheServerVersionWithoutDistributionSuffix) {
  auto driver = make_postgres_driver(context());
  const std::string raw = trim(server_->psql("SHOW server_version"));
  const std::string version = driver->probe();
  EXPECT_EQ(version, "PostgreSQL " + raw.substr(0, raw.find(' ')));
  EXPECT_EQ(version.find('('), std::string::npos) << version;
  ASSERT_TRUE(driver->size_hint().has_value());
  EXPECT_EQ(std::to_string(*driver->size_hint()),
            trim(server_->psql("SELECT pg_database_size(current_database())")));
}

TEST_F(PostgresDriverTest, UnixSocketStrategyUsesHostAsTheSocketDirectory) {
  auto c = context("pg-socket");
  c.target.mutable_connection()->set_strategy(backup::v1::UNIX_SOCKET);
  c.target.mutable_connection()->set_host(server_->socket_dir().string());
  auto driver = make_postgres_driver(c);
  EXPECT_TRUE(driver->probe().starts_with("PostgreSQL 15.")) << driver->probe();
  stream::MemorySink out;
  driver->dump(out, {});
  EXPECT_TRUE(out.data().starts_with("PGDMP"));
}

TEST_F(PostgresDriverTest, BackupThroughThePipelineRestoresIdentically) {
  const std::string expected = trim(server_->psql(kChecksums));
  auto driver = make_postgres_driver(context());
  ASSERT_TRUE(driver->probe().starts_with("PostgreSQL 15."));

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

  // Spool -> BlobReader -> zstd -> archive file -> pg_restore.
  stream::MemorySink raw;
  auto decompressor = compress::make_decompressor(compress::Codec::zstd, raw);
  const auto key = dek();
  blob::BlobReader reader{std::span(key), *decompressor};
  reader.write(read_file(options.spool_path));
  reader.finish();
  ASSERT_EQ(raw.data().size(), result.raw_bytes);
  ASSERT_TRUE(raw.data().starts_with("PGDMP"));
  const fs::path archive = work.path() / "restored.dump";
  std::ofstream(archive, std::ios::binary) << raw.data();

  EXPECT_EQ(restore(archive, "restored_roundtrip"), expected);
  server_->psql("DROP DATABASE restored_roundtrip", "postgres");
}

TEST_F(PostgresDriverTest, WrongPasswordFailsWithAuthenticationErrorWithoutThePassword) {
  auto c = context("pg-badpw");
  const std::string wrong = "Wr0ng-Secret-Pw";
  c.target.mutable_connection()->set_password_secret_ref(wrong);
  const std::string message = driver_error_of([&] { make_postgres_driver(c)->probe(); });
  EXPECT_NE(message.find("authentication failed"), std::string::npos) << message;
  EXPECT_NE(message.find("pg-badpw"), std::string::npos) << message;
  EXPECT_NE(message.find("127.0.0.1:" + std::to_string(server_->port())), std::string::npos);
  EXPECT_NE(message.find(server_->database()), std::string::npos) << message;
  EXPECT_EQ(message.find(wrong), std::string::npos) << message;
  EXPECT_EQ(message.find(server_->password()), std::string::npos) << message;
  // dump() without a probe probes first, and fails the same way.
  stream::MemorySink out;
  EXPECT_NE(driver_error_of([&] {
              make_postgres_driver(c)->dump(out, {});
            }).find("authentication failed"),
            std::string::npos);
  EXPECT_TRUE(out.data().empty());
}

TEST_F(PostgresDriverTest, UnreachableServerFailsNamingHostAndPort) {
  expect_unreachable_error(make_postgres_driver, context("pg-down"), test_support::pick_free_port(),
                           server_->password());
}

TEST_F(PostgresDriverTest, MissingDatabaseFailsNamingIt) {
  expect_missing_database_error(make_postgres_driver, context("pg-nodb"), server_->port());
}

TEST_F(PostgresDriverTest, PgDumpSeesNoPasswordInArgvAndNoAgentSecretsInItsEnvironment) {
  ::setenv("BACKUPY_AGENT_KEY", "agent-key-must-not-leak", 1);
  ::setenv("PGPASSWORD", "agent-pgpassword-must-not-leak", 1);
  auto driver = make_postgres_driver(context("pg-secrets"));
  driver->probe();
  std::vector<std::string> argv, env;
  std::string passfile_mode;
  FirstWriteSink sink([&] {
    const auto children = children_named({"pg_dump"});
    ASSERT_EQ(children.size(), 1u);
    const fs::path proc = "/proc/" + std::to_string(children.front());
    argv = split_nul(read_file(proc / "cmdline"));
    env = split_nul(read_file(proc / "environ"));
    for (const auto& entry : env) {
      if (entry.starts_with("PGPASSFILE=")) {
        struct stat st {};
        ASSERT_EQ(::stat(entry.substr(11).c_str(), &st), 0);
        passfile_mode = std::to_string(st.st_mode & 0777);
      }
    }
  });
  driver->dump(sink, {});
  ::unsetenv("BACKUPY_AGENT_KEY");
  ::unsetenv("PGPASSWORD");
  ASSERT_FALSE(argv.empty());
  EXPECT_TRUE(argv.front().ends_with("/pg_dump")) << argv.front();
  for (const auto& arg : argv) {
    EXPECT_EQ(arg.find(server_->password()), std::string::npos) << arg;
  }
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--format=custom"), argv.end());
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--no-password"), argv.end());
  std::set<std::string> names;
  for (const auto& entry : env) {
    names.insert(entry.substr(0, entry.find('=')));
    EXPECT_EQ(entry.find(server_->password()), std::string::npos) << entry;
    EXPECT_EQ(entry.find("must-not-leak"), std::string::npos) << entry;
  }
  EXPECT_EQ(names, (std::set<std::string>{"PATH", "PGPASSFILE", "PGCONNECT_TIMEOUT", "PGSSLMODE",
                                          "LC_ALL"}));
  EXPECT_EQ(passfile_mode, std::to_string(0600));
  EXPECT_GT(sink.bytes(), 1u << 20);
  // The pgpass file does not outlive the dump.
  for (const auto& entry : fs::directory_iterator(scratch_.path())) {
    ADD_FAILURE() << "left behind: " << entry.path();
  }
}

TEST_F(PostgresDriverTest, StopTokenKillsPgDumpAndThrowsCancelled) {
  auto driver = make_postgres_driver(context("pg-stop"));
  driver->probe();
  std::stop_source stop;
  FirstWriteSink sink([&] {
    ASSERT_EQ(children_named({"pg_dump"}).size(), 1u);
    stop.request_stop();
  });
  EXPECT_THROW(driver->dump(sink, stop.get_token()), stream::Cancelled);
  EXPECT_TRUE(children_named({"pg_dump"}).empty());
}

TEST_F(PostgresDriverTest, PgDumpKilledMidwayFailsWithItsStatus) {
  auto driver = make_postgres_driver(context("pg-killed"));
  driver->probe();
  FirstWriteSink sink([&] {
    const auto children = children_named({"pg_dump"});
    ASSERT_EQ(children.size(), 1u);
    ::kill(children.front(), SIGKILL);
  });
  const std::string message = driver_error_of([&] { driver->dump(sink, {}); });
  EXPECT_NE(message.find("pg_dump failed"), std::string::npos) << message;
  EXPECT_NE(message.find("signal 9"), std::string::npos) << message;
  EXPECT_NE(message.find("pg-killed"), std::string::npos) << message;
  EXPECT_TRUE(children_named({"pg_dump"}).empty());
}

TEST_F(PostgresDriverTest, MissingPgDumpIsAPreciseError) {
  TempDir empty;
  PostgresOptions options;
  options.lib_root = empty.path();
  options.child_path = (empty.path() / "bin").string() + ":/nonexistent";
  auto driver = make_postgres_driver_with(context("pg-notool"), options);
  driver->probe();
  stream::MemorySink out;
  const std::string message = driver_error_of([&] { driver->dump(out, {}); });
  EXPECT_NE(message.find("pg_dump not found"), std::string::npos) << message;
  EXPECT_NE(message.find("pg-notool"), std::string::npos) << message;
}

// A stand-in pg_dump installed as <lib_root>/<major>/bin/pg_dump.
PostgresOptions fake_pg_dump(const TempDir& dir, const std::string& major,
                             const std::string& script) {
  const fs::path bin = dir.path() / major / "bin";
  fs::create_directories(bin);
  std::ofstream(bin / "pg_dump") << "#!/bin/sh\n" << script;
  ::chmod((bin / "pg_dump").c_str(), 0755);
  PostgresOptions options;
  options.lib_root = dir.path();
  options.child_path = "/usr/bin:/bin";
  return options;
}

TEST_F(PostgresDriverTest, OlderPgDumpIsRefusedNamingBothVersions) {
  TempDir tools;
  const auto options =
      fake_pg_dump(tools, "14",
                   "if [ \"$1\" = --version ]; then echo 'pg_dump (PostgreSQL) 14.11'; exit 0; fi\n"
                   "echo should-not-run; exit 0\n");
  auto driver = make_postgres_driver_with(context("pg-old"), options);
  const std::string server = driver->probe();
  stream::MemorySink out;
  const std::string message = driver_error_of([&] { driver->dump(out, {}); });
  EXPECT_NE(message.find("pg_dump 14.11"), std::string::npos) << message;
  EXPECT_NE(message.find("older than the server (" + server + ")"), std::string::npos) << message;
  EXPECT_NE(message.find("install pg_dump 15 or use the DOCKER_EXEC strategy"), std::string::npos)
      << message;
  EXPECT_TRUE(out.data().empty());
}

TEST_F(PostgresDriverTest, FailingOrForeignOutputIsNeverComplete) {
  TempDir tools;
  const std::string version =
      "if [ \"$1\" = --version ]; then echo 'pg_dump (PostgreSQL) 15.99'; exit 0; fi\n";
  {
    const auto options = fake_pg_dump(
        tools, "15",
        version + "printf PGDMP-partial; echo 'pg_dump: error: disk quota' >&2; exit 1\n");
    auto driver = make_postgres_driver_with(context("pg-fail"), options);
    stream::MemorySink out;
    const std::string message = driver_error_of([&] { driver->dump(out, {}); });
    EXPECT_NE(message.find("exit code 1"), std::string::npos) << message;
    EXPECT_NE(message.find("pg_dump: error: disk quota"), std::string::npos) << message;
  }
  {
    const auto options =
        fake_pg_dump(tools, "15", version + "echo '-- plain SQL, not custom format'; exit 0\n");
    auto driver = make_postgres_driver_with(context("pg-plain"), options);
    stream::MemorySink out;
    const std::string message = driver_error_of([&] { driver->dump(out, {}); });
    EXPECT_NE(message.find("not a custom-format archive"), std::string::npos) << message;
  }
}

// ---- DOCKER_EXEC, through the fake Engine API (tests/support FakeDockerEngine:
// no Docker engine runs here; the fake runs psql/pg_dump locally, against the
// test server over TCP).

DumpContext docker_context(DumpContext c, const fs::path& socket,
                           const std::string& container = "pg-container") {
  c.target.mutable_connection()->set_strategy(backup::v1::DOCKER_EXEC);
  c.target.mutable_connection()->set_container_id(container);
  c.docker_socket = socket;
  return c;
}

TEST_F(PostgresDriverTest, DockerExecProbesAndDumpsARestorableArchive) {
  test_support::FakeDockerEngine fake({.containers = {"pg-container"}});
  const std::string expected = trim(server_->psql(kChecksums));
  auto driver = make_postgres_driver(docker_context(context("pg-docker"), fake.socket()));
  const std::string raw = trim(server_->psql("SHOW server_version"));
  EXPECT_EQ(driver->probe(), "PostgreSQL " + raw.substr(0, raw.find(' ')));
  ASSERT_TRUE(driver->size_hint().has_value());
  EXPECT_EQ(std::to_string(*driver->size_hint()),
            trim(server_->psql("SELECT pg_database_size(current_database())")));

  stream::MemorySink out;
  driver->dump(out, {});
  ASSERT_TRUE(out.data().starts_with("PGDMP"));
  TempDir work;
  const fs::path archive = work.path() / "docker.dump";
  std::ofstream(archive, std::ios::binary) << out.data();
  EXPECT_EQ(restore(archive, "restored_docker"), expected);
  server_->psql("DROP DATABASE restored_docker", "postgres");

  // psql then pg_dump, in the container; the password only in the exec's Env,
  // no PATH (the image's own applies), nothing written to the agent's disk.
  const auto execs = fake.execs();
  ASSERT_EQ(execs.size(), 2u);
  EXPECT_EQ(execs[0].cmd.front(), "psql");
  EXPECT_EQ(execs[1].cmd.front(), "pg_dump");
  expect_secret_only_in_exec_env(execs, "pg-container", server_->password());
  for (const auto& exec : execs) {
    EXPECT_THAT(exec.env, ::testing::Contains("PGPASSWORD=" + server_->password()));
  }
  EXPECT_THAT(execs[1].cmd,
              ::testing::IsSupersetOf({std::string("--format=custom"), std::string("--host"),
                                       std::string("127.0.0.1")}));
  EXPECT_TRUE(scratch_.empty());
}

TEST_F(PostgresDriverTest, DockerExecWrongPasswordIsAnAuthenticationErrorWithoutIt) {
  test_support::FakeDockerEngine fake({.containers = {"pg-container"}});
  auto c = docker_context(context("pg-docker-badpw"), fake.socket());
  const std::string wrong = "Wr0ng-Docker-Pw";
  c.target.mutable_connection()->set_password_secret_ref(wrong);
  const std::string message = driver_error_of([&] { make_postgres_driver(c)->probe(); });
  std::printf("operator sees: %s\n", message.c_str());
  EXPECT_NE(message.find("authentication failed for user"), std::string::npos) << message;
  EXPECT_NE(message.find("container pg-container"), std::string::npos) << message;
  EXPECT_EQ(message.find(wrong), std::string::npos) << message;
  EXPECT_EQ(message.find(server_->password()), std::string::npos) << message;
}

TEST_F(PostgresDriverTest, DockerExecUnknownContainerIsTheDaemonsAnswer) {
  test_support::FakeDockerEngine fake({.containers = {"pg-container"}});
  const std::string message = driver_error_of([&] {
    make_postgres_driver(docker_context(context("pg-docker-nc"), fake.socket(), "pg-gone"))
        ->probe();
  });
  std::printf("operator sees: %s\n", message.c_str());
  EXPECT_NE(message.find("target pg-docker-nc"), std::string::npos) << message;
  EXPECT_NE(message.find("Docker Engine API at " + fake.socket().string()), std::string::npos)
      << message;
  EXPECT_NE(message.find("404 No such container: pg-gone"), std::string::npos) << message;
  EXPECT_EQ(message.find(server_->password()), std::string::npos) << message;
}

TEST_F(PostgresDriverTest, DockerExecMissingSocketNamesIt) {
  TempDir dir;
  const fs::path socket = dir.path() / "docker.sock";
  const std::string message = driver_error_of(
      [&] { make_postgres_driver(docker_context(context("pg-docker-ns"), socket))->probe(); });
  std::printf("operator sees: %s\n", message.c_str());
  EXPECT_NE(message.find("Docker Engine API at " + socket.string()), std::string::npos) << message;
  EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
}

TEST_F(PostgresDriverTest, DockerExecToolMissingFromTheImageIsAPreciseError) {
  test_support::FakeDockerEngine fake(
      {.containers = {"pg-container"}, .image_path = "/nonexistent"});
  const std::string message = driver_error_of([&] {
    make_postgres_driver(docker_context(context("pg-docker-notool"), fake.socket()))->probe();
  });
  std::printf("operator sees: %s\n", message.c_str());
  EXPECT_NE(message.find("psql is not in container pg-container"), std::string::npos) << message;
}

TEST_F(PostgresDriverTest, DockerExecStopClosesTheStreamAndThrowsCancelled) {
  test_support::FakeDockerEngine fake({.containers = {"pg-container"}});
  auto driver = make_postgres_driver(docker_context(context("pg-docker-stop"), fake.socket()));
  driver->probe();
  std::stop_source stop;
  FirstWriteSink sink([&] { stop.request_stop(); });
  EXPECT_THROW(driver->dump(sink, stop.get_token()), stream::Cancelled);
}

TEST_F(PostgresDriverTest, DockerExecWithoutContainerIdIsRejected) {
  auto c = context("pg-docker-noid");
  c.target.mutable_connection()->set_strategy(backup::v1::DOCKER_EXEC);
  const std::string message = driver_error_of([&] { make_postgres_driver(c)->probe(); });
  EXPECT_NE(message.find("DOCKER_EXEC strategy needs connection.container_id"), std::string::npos)
      << message;
}

}  // namespace
}  // namespace backupy::drivers
