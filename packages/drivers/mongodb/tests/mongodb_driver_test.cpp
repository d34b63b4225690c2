// The MongoDB driver against test doubles, because no MongoDB server or tools
// can be installed here (tests/support/fake_mongo.hpp):
//  - probe() through the real libmongoc against fake_mongod.js, which speaks the
//    real wire protocol and SCRAM-SHA-256;
//  - dump() through fake_mongodump.js, which checks and records its argv,
//    environment and --config file and writes an archive-shaped stream.
// Plus every failure case of issue 4 and a backup through the real pipeline.
#include "backupy/drivers/mongodb_driver.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "backupy/blob/blob_reader.hpp"
#include "backupy/compress/codec.hpp"
#include "backupy/drivers/builtin.hpp"
#include "backupy/drivers/testing/driver_test_kit.hpp"
#include "backupy/pipeline/pipeline.hpp"
#include "backupy/stream/cancelled.hpp"
#include "backupy/stream/hashing_sink.hpp"
#include "backupy/stream/memory_sink.hpp"
#include "backupy/test_support/db_servers.hpp"
#include "backupy/test_support/fake_docker.hpp"
#include "backupy/test_support/fake_mongo.hpp"
#include "backupy/test_support/temp_dir.hpp"

namespace backupy::drivers {
namespace {

namespace fs = std::filesystem;
using test_support::FakeDockerEngine;
using test_support::FakeDockerOptions;
using test_support::FakeMongod;
using test_support::FakeMongodOptions;
using test_support::FakeMongodump;
using test_support::Json;
using test_support::TempDir;
using namespace drivers::testing;

constexpr const char* kUser = "backup";
constexpr const char* kPassword = "S3cret-Mongo-Pw";
constexpr std::uint64_t kAppSize = 123456;

// Calls on_first once, on the first write (while the dump tool is alive and
// blocked on its pipe), then forwards to next.
class OnFirstWrite : public stream::ByteSink {
 public:
  OnFirstWrite(stream::ByteSink& next, std::function<void()> on_first)
      : next_(next), on_first_(std::move(on_first)) {}
  void write(std::span<const std::uint8_t> data) override {
    if (on_first_) std::exchange(on_first_, nullptr)();
    next_.write(data);
  }
  void finish() override { next_.finish(); }

 private:
  stream::ByteSink& next_;
  std::function<void()> on_first_;
};

// This process's resident set (VmRSS) in KiB.
long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  }
  return 0;
}

// Forwards to next and samples this process's RSS every 4 MiB: the largest
// value seen while the dump streams.
class RssSampler : public stream::ByteSink {
 public:
  explicit RssSampler(stream::ByteSink& next) : next_(next), max_kib_(rss_kib()) {}
  void write(std::span<const std::uint8_t> data) override {
    next_.write(data);
    since_ += data.size();
    if (since_ >= (4u << 20)) {
      since_ = 0;
      max_kib_ = std::max(max_kib_, rss_kib());
    }
  }
  void finish() override { next_.finish(); }
  long max_kib() const { return max_kib_; }

 private:
  stream::ByteSink& next_;
  std::uint64_t since_ = 0;
  long max_kib_;
};

bool contains(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

// driver_error_of, printing the message: the test log shows every error text.
template <typename F>
std::string error_of(F&& f) {
  std::string message = driver_error_of(std::forward<F>(f));
  std::printf("  DriverError: %s\n", message.c_str());
  return message;
}

void expect_empty(const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    ADD_FAILURE() << "left behind: " << entry.path();
  }
}

class MongodbDriverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    FakeMongodOptions options;
    options.user = kUser;
    options.password = kPassword;
    options.databases = {{"admin", 0}, {"app", kAppSize}, {"other", 0}};
    options.unix_socket = true;
    server_ = std::make_unique<FakeMongod>(options);
  }
  static void TearDownTestSuite() { server_.reset(); }

  DumpContext context(const std::string& id = "mongo-main") const {
    DumpContext c;
    c.target.set_id(id);
    c.target.set_type(backup::v1::MONGODB);
    auto* conn = c.target.mutable_connection();
    conn->set_host("127.0.0.1");
    conn->set_port(static_cast<std::uint32_t>(server_->port()));
    conn->set_database("app");
    conn->set_username(kUser);
    conn->set_password_secret_ref(kPassword);
    c.temp_dir = scratch_.path();
    return c;
  }
  std::string uri(const std::string& password) const {
    return "mongodb://" + std::string(kUser) + ":" + password +
           "@127.0.0.1:" + std::to_string(server_->port()) + "/?authSource=admin";
  }
  MongodbOptions with_fake(const FakeMongodump& tool) const {
    MongodbOptions options;
    options.child_path = tool.bin_dir().string() + ":/usr/bin:/bin";
    return options;
  }
  void expect_scratch_empty() const {
    for (const auto& entry : fs::directory_iterator(scratch_.path())) {
      ADD_FAILURE() << "left behind: " << entry.path();
    }
  }
  // The fake's own list of broken promises must be empty.
  static Json checked_report(const FakeMongodump& tool) {
    const auto report = tool.report();
    if (!report) {
      ADD_FAILURE() << "the fake mongodump never ran";
      return Json::object();
    }
    EXPECT_TRUE((*report)["violations"].empty()) << (*report)["violations"].dump();
    return *report;
  }

  static inline std::unique_ptr<FakeMongod> server_;
  TempDir scratch_{"backupy-mongo-scratch"};
};

// ----------------------------------------------------------------- probe --

TEST_F(MongodbDriverTest, ProbeAuthenticatesWithScramAndReportsVersionAndSize) {
  const auto before = server_->commands().size();
  auto driver = make_mongodb_driver(context());
  EXPECT_EQ(driver->probe(), "MongoDB 7.0.5");
  ASSERT_TRUE(driver->size_hint().has_value());
  EXPECT_EQ(*driver->size_hint(), kAppSize);
  // libmongoc ran the real SCRAM-SHA-256 conversation before its commands.
  std::vector<std::string> seen;
  const auto commands = server_->commands();
  ASSERT_GT(commands.size(), before);
  // The legacy handshake (OP_QUERY isMaster, answered with OP_REPLY) first,
  // then OP_MSG for the commands: both wire paths of the fake were used.
  EXPECT_EQ(commands[before]["op"], "OP_QUERY") << commands[before].dump();
  EXPECT_EQ(commands.back()["op"], "OP_MSG") << commands.back().dump();
  for (std::size_t i = before; i < commands.size(); ++i) {
    const auto& c = commands[i];
    seen.push_back(c["command"].get<std::string>() + (c["ok"] == 1 ? "" : "!") +
                   (c["authenticated"] == true ? "+" : ""));
  }
  const auto at = [&](const std::string& what) {
    return std::find(seen.begin(), seen.end(), what) - seen.begin();
  };
  ASSERT_LT(at("saslStart"), static_cast<long>(seen.size())) << ::testing::PrintToString(seen);
  EXPECT_LT(at("saslContinue+"), at("buildInfo+")) << ::testing::PrintToString(seen);
  EXPECT_LT(at("listDatabases+"), static_cast<long>(seen.size()));
  EXPECT_LT(at("dbStats+"), static_cast<long>(seen.size()));
}

TEST_F(MongodbDriverTest, ProbeOverTheUnixSocket) {
  auto c = context("mongo-socket");
  c.target.mutable_connection()->set_strategy(backup::v1::UNIX_SOCKET);
  c.target.mutable_connection()->set_host(server_->socket_path().string());
  c.target.mutable_connection()->set_port(1);  // ignored
  EXPECT_EQ(make_mongodb_driver(c)->probe(), "MongoDB 7.0.5");
}

TEST_F(MongodbDriverTest, ProbeWithAConnectionString) {
  auto c = context("mongo-uri");
  c.target.mutable_connection()->set_host(uri("S3cret-Mongo-Pw"));
  c.target.mutable_connection()->set_port(0);
  c.target.mutable_connection()->set_username("");
  c.target.mutable_connection()->set_password_secret_ref("");
  EXPECT_EQ(make_mongodb_driver(c)->probe(), "MongoDB 7.0.5");
}

TEST_F(MongodbDriverTest, WholeInstanceProbeHasNoSizeHint) {
  auto c = context("mongo-all");
  c.target.mutable_connection()->set_database("");
  auto driver = make_mongodb_driver(c);
  EXPECT_EQ(driver->probe(), "MongoDB 7.0.5");
  EXPECT_FALSE(driver->size_hint().has_value());
}

TEST_F(MongodbDriverTest, WrongPasswordFailsWithAuthenticationFailedWithoutThePassword) {
  auto c = context("mongo-badpw");
  const std::string wrong = "Wr0ng-Secret-Pw";
  c.target.mutable_connection()->set_password_secret_ref(wrong);
  const std::string message = error_of([&] { make_mongodb_driver(c)->probe(); });
  EXPECT_TRUE(contains(message, "authentication failed for user \"backup\"")) << message;
  EXPECT_TRUE(contains(message, "mongo-badpw")) << message;
  EXPECT_TRUE(contains(message, "127.0.0.1:" + std::to_string(server_->port()))) << message;
  EXPECT_TRUE(contains(message, "database \"app\"")) << message;
  EXPECT_FALSE(contains(message, wrong)) << message;
  EXPECT_FALSE(contains(message, kPassword)) << message;
  // dump() without a probe probes first, and fails the same way, before any tool runs.
  FakeMongodump tool;
  stream::MemorySink out;
  EXPECT_TRUE(
      contains(error_of([&] { make_mongodb_driver_with(c, with_fake(tool))->dump(out, {}); }),
               "authentication failed"));
  EXPECT_TRUE(out.data().empty());
  EXPECT_FALSE(tool.report().has_value());
}

TEST_F(MongodbDriverTest, WrongPasswordInAConnectionStringNeverShowsTheConnectionString) {
  auto c = context("mongo-uri-badpw");
  const std::string wrong = "Wr0ng%40Uri-Pw";  // "Wr0ng@Uri-Pw" percent-encoded
  c.target.mutable_connection()->set_host(uri(wrong));
  c.target.mutable_connection()->set_username("");
  c.target.mutable_connection()->set_password_secret_ref("");
  const std::string message = error_of([&] { make_mongodb_driver(c)->probe(); });
  EXPECT_TRUE(contains(message, "authentication failed for user \"backup\" at mongodb://"))
      << message;
  EXPECT_TRUE(contains(message, "mongodb://127.0.0.1:" + std::to_string(server_->port())))
      << message;
  EXPECT_FALSE(contains(message, "Wr0ng")) << message;
  EXPECT_FALSE(contains(message, "authSource")) << message;
}

TEST_F(MongodbDriverTest, UnreachableServerFailsNamingHostAndPort) {
  auto c = context("mongo-down");
  const int port = test_support::pick_free_port();
  c.target.mutable_connection()->set_port(static_cast<std::uint32_t>(port));
  const auto started = std::chrono::steady_clock::now();
  const std::string message = error_of([&] { make_mongodb_driver(c)->probe(); });
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));
  EXPECT_TRUE(contains(message, "MongoDB server unreachable at 127.0.0.1:" + std::to_string(port)))
      << message;
  EXPECT_TRUE(contains(message, "mongo-down")) << message;
  EXPECT_FALSE(contains(message, kPassword)) << message;
}

TEST_F(MongodbDriverTest, MissingDatabaseFailsNamingIt) {
  auto c = context("mongo-nodb");
  c.target.mutable_connection()->set_database("no_such_db");
  const std::string message = error_of([&] { make_mongodb_driver(c)->probe(); });
  EXPECT_TRUE(contains(message,
                       "database \"no_such_db\" does not exist on the MongoDB server at "
                       "127.0.0.1:" +
                           std::to_string(server_->port())))
      << message;
  EXPECT_TRUE(contains(message, "mongo-nodb")) << message;
}

TEST_F(MongodbDriverTest, InvalidTargetsAreRefusedBeforeConnecting) {
  {
    auto c = context("mongo-docker");
    c.target.mutable_connection()->set_strategy(backup::v1::DOCKER_EXEC);
    EXPECT_TRUE(contains(error_of([&] { make_mongodb_driver(c)->probe(); }),
                         "the DOCKER_EXEC strategy needs connection.container_id"));
  }
  {
    auto c = context("mongo-badsock");
    c.target.mutable_connection()->set_strategy(backup::v1::UNIX_SOCKET);
    c.target.mutable_connection()->set_host("/tmp");
    EXPECT_TRUE(contains(error_of([&] { make_mongodb_driver(c)->probe(); }), "ending in .sock"));
  }
  {
    auto c = context("mongo-newline");
    c.target.mutable_connection()->set_password_secret_ref("two\nlines");
    const std::string message = error_of([&] { make_mongodb_driver(c)->probe(); });
    EXPECT_TRUE(contains(message, "line break")) << message;
    EXPECT_FALSE(contains(message, "two")) << message;
  }
  {
    auto c = context("mongo-baduri");
    c.target.mutable_connection()->set_host("mongodb://u:Bad-Uri-Secret@/nohost");
    const std::string message = error_of([&] { make_mongodb_driver(c)->probe(); });
    EXPECT_TRUE(contains(message, "not a usable MongoDB connection string")) << message;
    EXPECT_FALSE(contains(message, "Bad-Uri-Secret")) << message;
  }
}

TEST_F(MongodbDriverTest, TheBuiltinRegistryHasTheMongodbDriver) {
  const DriverRegistry registry = builtin_drivers();
  ASSERT_TRUE(registry.supports(backup::v1::MONGODB));
  EXPECT_EQ(registry.create(context())->probe(), "MongoDB 7.0.5");
}

// ------------------------------------------------------------------ dump --

TEST_F(MongodbDriverTest, DumpStreamsTheArchiveAndNoSecretReachesArgvOrEnvironment) {
  ::setenv("BACKUPY_AGENT_KEY", "agent-key-must-not-leak", 1);
  FakeMongodump tool;
  tool.plan({{"mode", "ok"}, {"bytes", 8 << 20}, {"seed", "dump-1"}});
  auto driver = make_mongodb_driver_with(context("mongo-secrets"), with_fake(tool));
  driver->probe();
  std::vector<std::string> argv, env;
  std::string config_mode, config_text;
  stream::HashingSink hash;
  OnFirstWrite sink(hash, [&] {
    const auto children = children_named({"mongodump"});
    ASSERT_EQ(children.size(), 1u);
    const fs::path proc = "/proc/" + std::to_string(children.front());
    argv = split_nul(read_file(proc / "cmdline"));
    env = split_nul(read_file(proc / "environ"));
    const auto config = std::find_if(
        argv.begin(), argv.end(), [](const std::string& a) { return a.starts_with("--config="); });
    ASSERT_NE(config, argv.end());
    const std::string file = config->substr(9);
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    config_mode = std::to_string(st.st_mode & 0777);
    config_text = read_file(file);
  });
  driver->dump(sink, {});
  hash.finish();
  ::unsetenv("BACKUPY_AGENT_KEY");

  // What the driver streamed is exactly what the tool wrote.
  const Json report = checked_report(tool);
  EXPECT_EQ(hash.bytes(), report["output"]["bytes"].get<std::uint64_t>());
  EXPECT_EQ(hash.sha256_hex(), report["output"]["sha256"].get<std::string>());
  EXPECT_EQ(hash.bytes(), 8u << 20);

  // /proc of the running tool: no password in argv, nothing of the agent in its environment.
  ASSERT_FALSE(argv.empty());
  for (const auto& arg : argv) EXPECT_FALSE(contains(arg, kPassword)) << arg;
  const std::vector<std::string> tail(argv.end() - 6, argv.end());
  EXPECT_EQ(tail, (std::vector<std::string>{
                      "--archive", "--host=127.0.0.1", "--port=" + std::to_string(server_->port()),
                      "--username=backup", "--authenticationDatabase=admin", "--db=app"}));
  std::set<std::string> names;
  for (const auto& entry : env) {
    names.insert(entry.substr(0, entry.find('=')));
    EXPECT_FALSE(contains(entry, kPassword)) << entry;
    EXPECT_FALSE(contains(entry, "must-not-leak")) << entry;
  }
  EXPECT_EQ(names, (std::set<std::string>{"PATH", "LC_ALL"}));
  // The password is in the 0600 config file only, which does not outlive the dump.
  EXPECT_EQ(config_mode, std::to_string(0600));
  EXPECT_TRUE(contains(config_text, std::string("password: '") + kPassword + "'")) << config_text;
  EXPECT_EQ(report["config"]["values"]["password"], kPassword);
  expect_scratch_empty();
}

TEST_F(MongodbDriverTest, ConnectionStringGoesOnlyIntoTheConfigFile) {
  FakeMongodump tool;
  auto c = context("mongo-uri-dump");
  const std::string connection = uri("S3cret-Mongo-Pw");
  c.target.mutable_connection()->set_host(connection);
  c.target.mutable_connection()->set_username("");
  c.target.mutable_connection()->set_password_secret_ref("");
  stream::MemorySink out;
  make_mongodb_driver_with(c, with_fake(tool))->dump(out, {});
  const Json report = checked_report(tool);
  EXPECT_EQ(report["config"]["values"]["uri"], connection);
  EXPECT_FALSE(report["config"]["values"].contains("password"));
  const auto argv = report["argv"].get<std::vector<std::string>>();
  EXPECT_EQ(argv.size(), 3u) << report["argv"].dump();  // --config, --archive, --db
  EXPECT_EQ(argv.back(), "--db=app");
  EXPECT_EQ(out.data().size(), report["output"]["bytes"].get<std::size_t>());
  expect_scratch_empty();
}

TEST_F(MongodbDriverTest, PasswordWithQuotesAndYamlCharactersSurvivesTheConfigFile) {
  const std::string password = "it's a \"p@ss\" #: \\n {x} - [y] 'z'";
  FakeMongodOptions options;
  options.user = kUser;
  options.password = password;
  options.databases = {{"app", 1}};
  FakeMongod odd(options);
  auto c = context("mongo-odd");
  c.target.mutable_connection()->set_port(static_cast<std::uint32_t>(odd.port()));
  c.target.mutable_connection()->set_password_secret_ref(password);
  FakeMongodump tool;
  auto driver = make_mongodb_driver_with(c, with_fake(tool));
  EXPECT_EQ(driver->probe(), "MongoDB 7.0.5");
  stream::MemorySink out;
  driver->dump(out, {});
  const Json report = checked_report(tool);
  EXPECT_EQ(report["config"]["values"]["password"], password);
}

TEST_F(MongodbDriverTest, ToolAuthenticationFailureIsPreciseAndMasked) {
  // The fake's stderr echoes the password and the connection string (tools
  // and servers are never trusted not to): both must come out masked.
  auto with_password = context("mongo-tool-auth");
  auto with_uri = context("mongo-tool-auth-uri");
  with_uri.target.mutable_connection()->set_host(uri("S3cret-Mongo-Pw"));
  with_uri.target.mutable_connection()->set_username("");
  with_uri.target.mutable_connection()->set_password_secret_ref("");
  for (const auto& c : {with_password, with_uri}) {
    FakeMongodump tool;
    tool.plan({{"mode", "auth-fail"}});
    stream::MemorySink out;
    const std::string message =
        error_of([&] { make_mongodb_driver_with(c, with_fake(tool))->dump(out, {}); });
    EXPECT_TRUE(contains(message, c.target.id() + " (MongoDB ")) << message;
    EXPECT_TRUE(contains(message, "mongodump failed (exit code 1)")) << message;
    EXPECT_TRUE(contains(message, "Authentication failed")) << message;
    EXPECT_FALSE(contains(message, kPassword)) << message;
    EXPECT_TRUE(contains(message, "***")) << message;
    ASSERT_TRUE(tool.report().has_value());
  }
  expect_scratch_empty();
}

TEST_F(MongodbDriverTest, OutputWithoutTheMagicNumberOrEmptyIsNeverComplete) {
  {
    FakeMongodump tool;
    tool.plan({{"mode", "no-magic"}});
    stream::MemorySink out;
    const std::string message = error_of([&] {
      make_mongodb_driver_with(context("mongo-nomagic"), with_fake(tool))->dump(out, {});
    });
    EXPECT_TRUE(contains(message, "is not a mongodump archive (no magic number 0x8199e26d)"))
        << message;
    EXPECT_TRUE(contains(message, "mongo-nomagic")) << message;
  }
  {
    FakeMongodump tool;
    tool.plan({{"mode", "empty"}});
    stream::MemorySink out;
    const std::string message = error_of(
        [&] { make_mongodb_driver_with(context("mongo-empty"), with_fake(tool))->dump(out, {}); });
    EXPECT_TRUE(contains(message, "mongodump exited 0 but wrote no archive")) << message;
  }
  expect_scratch_empty();
}

TEST_F(MongodbDriverTest, DumpToolKilledMidwayFailsWithItsSignal) {
  FakeMongodump tool;
  tool.plan({{"mode", "kill-midway"}});
  stream::MemorySink out;
  const std::string message = error_of(
      [&] { make_mongodb_driver_with(context("mongo-killed"), with_fake(tool))->dump(out, {}); });
  EXPECT_TRUE(contains(message, "mongodump failed")) << message;
  EXPECT_TRUE(contains(message, "signal 9")) << message;
  EXPECT_TRUE(contains(message, "mongo-killed")) << message;
  EXPECT_GT(out.data().size(), 0u);
  EXPECT_TRUE(children_named({"mongodump"}).empty());
  expect_scratch_empty();
}

TEST_F(MongodbDriverTest, StopTokenKillsTheDumpToolAndThrowsCancelled) {
  FakeMongodump tool;
  tool.plan({{"mode", "slow"}});
  auto driver = make_mongodb_driver_with(context("mongo-stop"), with_fake(tool));
  driver->probe();
  std::stop_source stop;
  FirstWriteSink sink([&] {
    ASSERT_EQ(children_named({"mongodump"}).size(), 1u);
    stop.request_stop();
  });
  const auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(driver->dump(sink, stop.get_token()), stream::Cancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_TRUE(children_named({"mongodump"}).empty());
  expect_scratch_empty();
}

TEST_F(MongodbDriverTest, MissingDumpToolIsAPreciseError) {
  TempDir empty;
  MongodbOptions options;
  options.child_path = (empty.path() / "bin").string() + ":/nonexistent";
  auto driver = make_mongodb_driver_with(context("mongo-notool"), options);
  driver->probe();
  stream::MemorySink out;
  const std::string message = error_of([&] { driver->dump(out, {}); });
  EXPECT_TRUE(contains(message, "mongodump not found in PATH")) << message;
  EXPECT_TRUE(contains(message, "mongo-notool")) << message;
}

TEST_F(MongodbDriverTest, LargeArchiveStreamsWithBoundedMemory) {
  constexpr std::uint64_t kBytes = 160ull << 20;
  FakeMongodump tool;
  tool.plan({{"mode", "ok"}, {"bytes", kBytes}, {"seed", "large"}});
  auto driver = make_mongodb_driver_with(context("mongo-large"), with_fake(tool));
  driver->probe();
  const long before_kib = rss_kib();
  stream::HashingSink hash;
  RssSampler sampler(hash);
  driver->dump(sampler, {});
  hash.finish();
  const long growth_mib = (sampler.max_kib() - before_kib) / 1024;
  std::printf("160 MiB archive: RSS grew by at most %ld MiB while streaming\n", growth_mib);
  EXPECT_LT(growth_mib, 32);
  const Json report = checked_report(tool);
  EXPECT_EQ(hash.bytes(), kBytes);
  EXPECT_EQ(hash.sha256_hex(), report["output"]["sha256"].get<std::string>());
}

TEST_F(MongodbDriverTest, BackupThroughThePipelineRestoresTheSameArchive) {
  FakeMongodump tool;
  tool.plan({{"mode", "ok"}, {"bytes", 3 << 20}, {"seed", "pipeline"}});
  auto driver = make_mongodb_driver_with(context("mongo-pipeline"), with_fake(tool));
  ASSERT_EQ(driver->probe(), "MongoDB 7.0.5");
  TempDir work;
  pipeline::PipelineOptions options;
  options.dek = dek();
  options.spool_path = work.path() / "spool";
  const auto result =
      pipeline::run_pipeline([&](stream::ByteSink& sink) { driver->dump(sink, {}); }, options);
  EXPECT_EQ(result.compression, "zstd");
  // Spool -> BlobReader -> zstd -> the archive mongorestore would read.
  stream::MemorySink raw;
  auto decompressor = compress::make_decompressor(compress::Codec::zstd, raw);
  const auto key = dek();
  blob::BlobReader reader{std::span(key), *decompressor};
  reader.write(read_file(options.spool_path));
  reader.finish();
  const Json report = checked_report(tool);
  ASSERT_EQ(raw.data().size(), report["output"]["bytes"].get<std::size_t>());
  EXPECT_EQ(result.raw_bytes, raw.data().size());
  stream::HashingSink hash;
  hash.write(
      std::span(reinterpret_cast<const std::uint8_t*>(raw.data().data()), raw.data().size()));
  hash.finish();
  EXPECT_EQ(hash.sha256_hex(), report["output"]["sha256"].get<std::string>());
  EXPECT_TRUE(raw.data().starts_with("\x6d\xe2\x99\x81"));
}

// ----------------------------------------------------------- DOCKER_EXEC --
// The fake Engine API (tests/support FakeDockerEngine) runs each exec locally
// with the "image" PATH pointing at the fake mongosh and mongodump.

class MongodbDockerExecTest : public ::testing::Test {
 protected:
  MongodbDockerExecTest() {
    tools_.plan_mongosh({{"user", kUser},
                         {"password", kPassword},
                         {"auth_db", "admin"},
                         {"version", "6.0.12"},
                         {"databases", {{"admin", 0}, {"app", 777}}}});
    // The container's sh exports PWD; MONGODUMP_CONFIG_YAML must be gone.
    tools_.plan({{"mode", "ok"},
                 {"bytes", 2 << 20},
                 {"seed", "docker"},
                 {"env_names", {"LC_ALL", "PATH", "PWD"}}});
  }
  FakeDockerEngine& docker(const std::string& image_path = "") {
    FakeDockerOptions options;
    options.image_path =
        image_path.empty() ? tools_.bin_dir().string() + ":/usr/bin:/bin" : image_path;
    docker_ = std::make_unique<FakeDockerEngine>(options);
    return *docker_;
  }
  DumpContext context(const std::string& id) const {
    DumpContext c;
    c.target.set_id(id);
    c.target.set_type(backup::v1::MONGODB);
    auto* conn = c.target.mutable_connection();
    conn->set_strategy(backup::v1::DOCKER_EXEC);
    conn->set_container_id("db1");
    conn->set_database("app");
    conn->set_username(kUser);
    conn->set_password_secret_ref(kPassword);
    c.temp_dir = scratch_.path();
    c.docker_socket = docker_ ? docker_->socket() : fs::path("/nonexistent/docker.sock");
    return c;
  }

  FakeMongodump tools_;
  std::unique_ptr<FakeDockerEngine> docker_;
  TempDir scratch_{"backupy-mongo-scratch"};
};

TEST_F(MongodbDockerExecTest, ProbeAndDumpRunInTheContainerWithSecretsOnlyInTheExecEnv) {
  auto& engine = docker();
  auto driver = make_mongodb_driver(context("mongo-docker"));
  EXPECT_EQ(driver->probe(), "MongoDB 6.0.12");
  ASSERT_TRUE(driver->size_hint().has_value());
  EXPECT_EQ(*driver->size_hint(), 777u);
  stream::HashingSink hash;
  driver->dump(hash, {});
  hash.finish();

  const auto report = tools_.report();
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE((*report)["violations"].empty()) << (*report)["violations"].dump();
  EXPECT_EQ(hash.sha256_hex(), (*report)["output"]["sha256"].get<std::string>());
  EXPECT_EQ(hash.bytes(), 2u << 20);
  // Container defaults for host and port: no --host/--port.
  auto argv = (*report)["argv"].get<std::vector<std::string>>();
  ASSERT_EQ(argv.size(), 5u) << (*report)["argv"].dump();
  EXPECT_TRUE(argv[0].starts_with("--config=")) << argv[0];
  EXPECT_EQ(std::vector<std::string>(argv.begin() + 1, argv.end()),
            (std::vector<std::string>{"--archive", "--username=backup",
                                      "--authenticationDatabase=admin", "--db=app"}));
  EXPECT_EQ((*report)["config"]["mode"], "600");
  EXPECT_EQ((*report)["config"]["values"]["password"], kPassword);
  // The shell removed its private config file.
  EXPECT_FALSE(fs::exists(argv[0].substr(9))) << argv[0];
  const auto mongosh = tools_.mongosh_report();
  ASSERT_TRUE(mongosh.has_value());
  EXPECT_TRUE((*mongosh)["violations"].empty()) << (*mongosh)["violations"].dump();

  // What the Engine API was asked: secrets only in Env.
  const auto execs = engine.execs();
  ASSERT_EQ(execs.size(), 2u);
  expect_secret_only_in_exec_env(execs, "db1", kPassword);
  EXPECT_EQ(execs[0].cmd.front(), "mongosh");
  EXPECT_EQ(execs[1].cmd.front(), "sh");
  expect_empty(scratch_.path());
}

TEST_F(MongodbDockerExecTest, FailuresArePreciseAndNeverShowThePassword) {
  docker();
  {
    auto c = context("mongo-docker-badpw");
    c.target.mutable_connection()->set_password_secret_ref("Wr0ng-Docker-Pw");
    const std::string message = error_of([&] { make_mongodb_driver(c)->probe(); });
    EXPECT_TRUE(contains(message, "authentication failed for user \"backup\" at container db1"))
        << message;
    EXPECT_FALSE(contains(message, "Wr0ng-Docker-Pw")) << message;
  }
  {
    auto c = context("mongo-docker-nodb");
    c.target.mutable_connection()->set_database("nope");
    const std::string message = error_of([&] { make_mongodb_driver(c)->probe(); });
    EXPECT_TRUE(contains(message,
                         "database \"nope\" does not exist on the MongoDB server at "
                         "container db1"))
        << message;
  }
  {
    tools_.plan_mongosh({{"unreachable", true}});
    const std::string message =
        error_of([&] { make_mongodb_driver(context("mongo-docker-down"))->probe(); });
    EXPECT_TRUE(contains(message, "MongoDB server unreachable at container db1")) << message;
  }
  {
    // Auth failure of mongodump itself: exit 1 with the echoed password masked.
    tools_.plan_mongosh({{"user", kUser}, {"password", kPassword}, {"databases", {{"app", 1}}}});
    tools_.plan({{"mode", "auth-fail"}, {"env_names", {"LC_ALL", "PATH", "PWD"}}});
    stream::MemorySink out;
    const std::string message =
        error_of([&] { make_mongodb_driver(context("mongo-docker-dumpauth"))->dump(out, {}); });
    EXPECT_TRUE(contains(message, "mongodump failed (exit code 1)")) << message;
    EXPECT_TRUE(contains(message, "Authentication failed")) << message;
    EXPECT_FALSE(contains(message, kPassword)) << message;
  }
  {
    fs::remove(tools_.bin_dir() / "mongodump");
    stream::MemorySink out;
    const std::string message =
        error_of([&] { make_mongodb_driver(context("mongo-docker-notool"))->dump(out, {}); });
    EXPECT_TRUE(contains(message, "mongodump is not in container db1")) << message;
  }
}

TEST_F(MongodbDockerExecTest, AnImageWithoutMongoshIsAPreciseError) {
  TempDir empty;
  docker(empty.path().string() + ":/nonexistent");
  const std::string message =
      error_of([&] { make_mongodb_driver(context("mongo-docker-nosh"))->probe(); });
  EXPECT_TRUE(contains(message, "mongosh is not in container db1")) << message;
}

}  // namespace
}  // namespace backupy::drivers
