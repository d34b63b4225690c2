// The Redis driver against a real, private Redis 7 (tests/support
// RedisServer): probe over TCP, ACL user and UNIX socket, a backup through
// the real pipeline loaded into a fresh redis-server and compared key by key,
// the diskless form, and the failure cases of issue 4.
#include "backupy/drivers/redis_driver.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
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
#include "backupy/test_support/process.hpp"
#include "backupy/test_support/temp_dir.hpp"

namespace backupy::drivers {
namespace {

namespace fs = std::filesystem;
using test_support::RedisServer;
using test_support::TempDir;
using namespace drivers::testing;

struct Closer {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Conn = std::unique_ptr<redisContext, Closer>;

redisReply* run(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
}

// key -> TYPE | DUMP (serialized value) | has TTL, over a connection.
std::map<std::string, std::string> snapshot(redisContext* c) {
  std::map<std::string, std::string> keys;
  redisReply* all = run(c, {"KEYS", "*"});
  EXPECT_TRUE(all && all->type == REDIS_REPLY_ARRAY);
  for (std::size_t i = 0; all && i < all->elements; ++i) {
    const std::string key(all->element[i]->str, all->element[i]->len);
    redisReply* type = run(c, {"TYPE", key});
    redisReply* dump = run(c, {"DUMP", key});
    redisReply* ttl = run(c, {"PTTL", key});
    const std::string kind(type->str, type->len);
    // Hash-table sets and hashes iterate in no fixed order, so their DUMP
    // differs after a reload: compare their sorted content instead.
    std::string value(dump->str, dump->len);
    if (kind == "set" || kind == "hash") {
      redisReply* items = run(c, {kind == "set" ? "SMEMBERS" : "HGETALL", key});
      std::vector<std::string> parts;
      for (std::size_t j = 0; j < items->elements; j += (kind == "set" ? 1 : 2)) {
        std::string part(items->element[j]->str, items->element[j]->len);
        if (kind == "hash")
          part += "=" + std::string(items->element[j + 1]->str, items->element[j + 1]->len);
        parts.push_back(part);
      }
      freeReplyObject(items);
      std::sort(parts.begin(), parts.end());
      value.clear();
      for (const auto& part : parts) value += part + "\n";
    }
    keys[key] = kind + "|" + value + "|" + (ttl->integer > 0 ? "ttl" : "none");
    freeReplyObject(type);
    freeReplyObject(dump);
    freeReplyObject(ttl);
  }
  if (all) freeReplyObject(all);
  return keys;
}

Conn authed(const RedisServer& server) {
  Conn c(redisConnect(server.host().c_str(), server.port()));
  freeReplyObject(run(c.get(), {"AUTH", server.password()}));
  return c;
}

// A fresh redis-server (no password) loading rdb; returns its key snapshot.
std::map<std::string, std::string> restore(const std::string& rdb) {
  TempDir dir("backupy-redis-restore");
  std::ofstream(dir.path() / "dump.rdb", std::ios::binary) << rdb;
  const int port = test_support::pick_free_port();
  test_support::Process server(
      {"/usr/bin/redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1", "--dir",
       dir.path().string(), "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no"},
      {}, dir.path() / "log", dir.path() / "log");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    Conn c(redisConnect("127.0.0.1", port));
    if (c && !c->err) {
      redisReply* pong = run(c.get(), {"PING"});
      const bool ready = pong && pong->type == REDIS_REPLY_STATUS;
      if (pong) freeReplyObject(pong);
      if (ready) {
        auto keys = snapshot(c.get());
        server.kill_and_wait();
        return keys;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "restored redis-server did not start: " << read_file(dir.path() / "log");
  return {};
}

// Compares snapshots naming the keys that differ (not the values: megabytes).
void expect_same(const std::map<std::string, std::string>& restored,
                 const std::map<std::string, std::string>& expected) {
  EXPECT_EQ(restored.size(), expected.size());
  for (const auto& [key, value] : expected) {
    const auto it = restored.find(key);
    if (it == restored.end()) {
      ADD_FAILURE() << "missing key " << key;
    } else if (it->second != value) {
      ADD_FAILURE() << "key " << key << " differs: " << it->second.substr(0, 60) << " vs "
                    << value.substr(0, 60);
    }
  }
}

class RedisDriverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = std::make_unique<RedisServer>();
    Conn c = authed(*server_);
    std::string binary("bin\0\xff\x01\r\n", 8);
    freeReplyObject(run(c.get(), {"SET", "str:plain", "hello Zoë 日本語"}));
    freeReplyObject(run(c.get(), {"SET", std::string("str:\0binary", 11), binary}));
    freeReplyObject(run(c.get(), {"SET", "str:int", "12345"}));
    // ~5 MB that LZF cannot shrink (a xorshift sequence).
    std::string large(5 << 20, '\0');
    std::uint64_t x = 88172645463325252ULL;
    for (char& ch : large) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      ch = static_cast<char>(x & 0xff);
    }
    freeReplyObject(run(c.get(), {"SET", "str:large", large}));
    freeReplyObject(run(c.get(), {"SET", "str:ttl", "expiring", "EX", "3600"}));
    for (int i = 0; i < 200; ++i) {
      const std::string n = std::to_string(i);
      freeReplyObject(run(c.get(), {"RPUSH", "list:a", "item" + n}));
      freeReplyObject(run(c.get(), {"HSET", "hash:a", "field" + n, "value" + n}));
      freeReplyObject(run(c.get(), {"SADD", "set:a", "member" + n}));
      freeReplyObject(run(c.get(), {"ZADD", "zset:a", std::to_string(i * 1.5), "z" + n}));
      freeReplyObject(run(c.get(), {"XADD", "stream:a", "*", "n", n}));
      freeReplyObject(run(c.get(), {"SET", "many:" + n, std::string(1000, 'a' + i % 26)}));
    }
    freeReplyObject(run(c.get(), {"HSET", "hash:ttl", "f", "v"}));
    freeReplyObject(run(c.get(), {"EXPIRE", "hash:ttl", "7200"}));
    freeReplyObject(run(c.get(), {"SADD", "set:ints", "1", "2", "3"}));
  }
  static void TearDownTestSuite() { server_.reset(); }

  DumpContext context(const std::string& id = "redis-main") const {
    DumpContext c;
    c.target.set_id(id);
    c.target.set_type(backup::v1::REDIS);
    auto* conn = c.target.mutable_connection();
    conn->set_host(server_->host());
    conn->set_port(static_cast<std::uint32_t>(server_->port()));
    conn->set_password_secret_ref(server_->password());
    c.temp_dir = scratch_.path();
    return c;
  }

  static std::map<std::string, std::string> source() {
    Conn c = authed(*server_);
    return snapshot(c.get());
  }

  static inline std::unique_ptr<RedisServer> server_;
  TempDir scratch_{"backupy-redis-scratch"};
};

TEST_F(RedisDriverTest, ProbeReportsTheServerVersionAndMemory) {
  auto driver = make_redis_driver(context());
  const std::string info = server_->cli("INFO", "server");
  const auto at = info.find("redis_version:") + 14;
  const std::string expected = info.substr(at, info.find_first_of("\r\n", at) - at);
  EXPECT_EQ(driver->probe(), "Redis " + expected);
  ASSERT_TRUE(driver->size_hint().has_value());
  EXPECT_GT(*driver->size_hint(), 5u << 20);
}

TEST_F(RedisDriverTest, ProbeWithAclUserAndOverTheUnixSocket) {
  auto c = context("redis-acl");
  c.target.mutable_connection()->set_username(server_->acl_user());
  c.target.mutable_connection()->set_password_secret_ref(server_->acl_password());
  EXPECT_TRUE(make_redis_driver(c)->probe().starts_with("Redis 7."));

  auto s = context("redis-sock");
  s.target.mutable_connection()->set_strategy(backup::v1::UNIX_SOCKET);
  s.target.mutable_connection()->set_host(server_->socket_path().string());
  EXPECT_TRUE(make_redis_driver(s)->probe().starts_with("Redis 7."));
}

TEST_F(RedisDriverTest, BackupThroughThePipelineRestoresIdentically) {
  const auto expected = source();
  ASSERT_GE(expected.size(), 200u);
  auto driver = make_redis_driver(context());
  ASSERT_TRUE(driver->probe().starts_with("Redis 7."));

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
  EXPECT_GT(result.raw_bytes, 5u << 20);

  stream::MemorySink raw;
  auto decompressor = compress::make_decompressor(compress::Codec::zstd, raw);
  const auto key = dek();
  blob::BlobReader reader{std::span(key), *decompressor};
  reader.write(read_file(options.spool_path));
  reader.finish();
  ASSERT_EQ(raw.data().size(), result.raw_bytes);
  ASSERT_TRUE(raw.data().starts_with("REDIS"));
  expect_same(restore(raw.data()), expected);
}

TEST_F(RedisDriverTest, DisklessFormRestoresIdentically) {
  server_->cli("CONFIG", "SET", "repl-diskless-sync-delay", "0");
  RedisOptions options;
  options.diskless = true;
  auto driver = make_redis_driver_with(context("redis-diskless"), options);
  stream::MemorySink out;
  driver->dump(out, {});
  ASSERT_TRUE(out.data().starts_with("REDIS"));
  expect_same(restore(out.data()), source());
  // The server really took the diskless ($EOF:<mark>) path.
  const std::string log = read_file(server_->data_dir().parent_path() / "redis.log");
  EXPECT_NE(log.find("target: replicas sockets"), std::string::npos);
}

TEST_F(RedisDriverTest, WrongPasswordFailsWithAuthenticationErrorWithoutThePassword) {
  const std::string wrong = "Wr0ng-Secret-Pw";
  for (bool acl : {false, true}) {
    auto c = context("redis-badpw");
    if (acl) c.target.mutable_connection()->set_username(server_->acl_user());
    c.target.mutable_connection()->set_password_secret_ref(wrong);
    const std::string message = driver_error_of([&] { make_redis_driver(c)->probe(); });
    EXPECT_NE(message.find("authentication failed"), std::string::npos) << message;
    EXPECT_NE(message.find("redis-badpw"), std::string::npos) << message;
    EXPECT_NE(message.find("127.0.0.1:" + std::to_string(server_->port())), std::string::npos)
        << message;
    EXPECT_EQ(message.find(wrong), std::string::npos) << message;
    EXPECT_EQ(message.find(server_->password()), std::string::npos) << message;
  }
  auto none = context("redis-nopw");
  none.target.mutable_connection()->set_password_secret_ref("");
  const std::string message = driver_error_of([&] { make_redis_driver(none)->probe(); });
  EXPECT_NE(message.find("authentication failed"), std::string::npos) << message;
}

TEST_F(RedisDriverTest, UnreachablePortFailsNamingTheAddress) {
  auto c = context("redis-down");
  const int port = test_support::pick_free_port();
  c.target.mutable_connection()->set_port(static_cast<std::uint32_t>(port));
  const std::string message = driver_error_of([&] { make_redis_driver(c)->probe(); });
  EXPECT_NE(message.find("unreachable"), std::string::npos) << message;
  EXPECT_NE(message.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << message;
  EXPECT_NE(message.find("redis-down"), std::string::npos) << message;
}

// A slow sink that requests stop on its first write.
class StoppingSink : public stream::ByteSink {
 public:
  explicit StoppingSink(std::stop_source& source) : source_(source) {}
  void write(std::span<const std::uint8_t> data) override {
    bytes_ += data.size();
    source_.request_stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  void finish() override {}
  std::uint64_t bytes_ = 0;

 private:
  std::stop_source& source_;
};

TEST_F(RedisDriverTest, StopMidTransferThrowsCancelled) {
  auto driver = make_redis_driver(context("redis-stop"));
  std::stop_source source;
  StoppingSink sink(source);
  EXPECT_THROW(driver->dump(sink, source.get_token()), stream::Cancelled);
  EXPECT_GT(sink.bytes_, 0u);
  EXPECT_LT(sink.bytes_, 5u << 20);
  // The server is still fine for the next run.
  stream::MemorySink out;
  make_redis_driver(context())->dump(out, {});
  EXPECT_TRUE(out.data().starts_with("REDIS"));
}

TEST_F(RedisDriverTest, DockerExecIsRefused) {
  auto c = context("redis-docker");
  c.target.mutable_connection()->set_strategy(backup::v1::DOCKER_EXEC);
  EXPECT_NE(driver_error_of([&] { make_redis_driver(c)->probe(); }).find("DOCKER_EXEC"),
            std::string::npos);
}

}  // namespace
}  // namespace backupy::drivers
