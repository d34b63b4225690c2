// Backup runs end to end: the real control plane sends RunBackup with a presigned URL for a
// real S3-compatible server (s3rver); the real agent dumps a SQLite database, encrypts,
// spools and uploads it; both backupy-decrypt and the independent Node decryptor restore it.
// PostgreSQL, MariaDB and Redis targets (real servers from tests/support) are restored from
// the stored object into a fresh database / redis-server and compared with the source.
// A fault-injecting proxy in front of S3 makes uploads stall so that the agent can be killed,
// cancelled or cut off from its control plane mid-upload.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "backupy/test_support/db_servers.hpp"
#include "backupy/test_support/fault_proxy.hpp"
#include "backupy/test_support/s3_server.hpp"
#include "fixtures.hpp"

namespace backupy::testing {
namespace {

const std::string kAdminToken = "agent-runs-admin-token-2b9c";

// A hiredis connection to a test Redis (binary-safe arguments); every error throws.
class RedisClient {
 public:
  using Reply = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

  // auth: {} (no AUTH), {password} or {user, password}.
  RedisClient(int port, const std::vector<std::string>& auth)
      : context_(redisConnect("127.0.0.1", port), &redisFree) {
    if (!context_ || context_->err) {
      throw std::runtime_error("redis connect to port " + std::to_string(port) + ": " +
                               (context_ ? context_->errstr : "out of memory"));
    }
    if (!auth.empty()) {
      std::vector<std::string> args{"AUTH"};
      args.insert(args.end(), auth.begin(), auth.end());
      run(args);
    }
  }

  Reply run(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    Reply reply(static_cast<redisReply*>(redisCommandArgv(
                    context_.get(), static_cast<int>(argv.size()), argv.data(), lens.data())),
                &freeReplyObject);
    if (!reply) throw std::runtime_error(args[0] + ": " + context_->errstr);
    if (reply->type == REDIS_REPLY_ERROR) {
      throw std::runtime_error(args[0] + ": " + std::string(reply->str, reply->len));
    }
    return reply;
  }
  template <typename... Args>
  Reply operator()(const std::string& first, const Args&... rest) {
    return run({first, std::string(rest)...});
  }

 private:
  std::unique_ptr<redisContext, decltype(&redisFree)> context_;
};

// A reply as one unambiguous string (length-prefixed bulk strings, nested arrays).
std::string flatten(const redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      return std::to_string(reply.len) + ':' + std::string(reply.str, reply.len);
    case REDIS_REPLY_INTEGER: return 'i' + std::to_string(reply.integer);
    case REDIS_REPLY_NIL: return "nil";
    case REDIS_REPLY_ARRAY: {
      std::string out = '[' + std::to_string(reply.elements);
      for (std::size_t i = 0; i < reply.elements; ++i) out += ',' + flatten(*reply.element[i]);
      return out + ']';
    }
    default: return "?";
  }
}

// The elements of an array reply, flattened; sorted for the unordered types (a hashtable's
// iteration order depends on the process's hash seed), pairs kept together for hashes.
std::string canonical_elements(const redisReply& reply, bool sorted, std::size_t group) {
  std::vector<std::string> items;
  for (std::size_t i = 0; i + group <= reply.elements; i += group) {
    std::string item;
    for (std::size_t j = 0; j < group; ++j) item += flatten(*reply.element[i + j]) + ';';
    items.push_back(std::move(item));
  }
  if (sorted) std::sort(items.begin(), items.end());
  std::string out;
  for (const auto& item : items) out += item + '\n';
  return out;
}

// Every key of every logical database: "db<n>/<key>" -> "<type> <ttl|persistent> <size>
// <sha256 of the type-specific content>" (GET, HGETALL, LRANGE, SMEMBERS, ZRANGE WITHSCORES,
// XRANGE + XINFO GROUPS).
std::map<std::string, std::string> redis_keyspace(RedisClient& redis) {
  std::map<std::string, std::string> keys;
  const auto info = redis("INFO", "keyspace");
  std::istringstream lines(std::string(info->str, info->len));
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("db")) continue;
    const std::string db = line.substr(2, line.find(':') - 2);
    redis("SELECT", db);
    std::string cursor = "0";
    do {
      const auto page = redis("SCAN", cursor, "COUNT", "1000");
      cursor.assign(page->element[0]->str, page->element[0]->len);
      const redisReply& names = *page->element[1];
      for (std::size_t i = 0; i < names.elements; ++i) {
        const std::string key(names.element[i]->str, names.element[i]->len);
        const auto type_reply = redis("TYPE", key);
        const std::string type(type_reply->str, type_reply->len);
        std::string content;
        if (type == "string") {
          content = flatten(*redis("GET", key));
        } else if (type == "list") {
          content = canonical_elements(*redis("LRANGE", key, "0", "-1"), false, 1);
        } else if (type == "hash") {
          content = canonical_elements(*redis("HGETALL", key), true, 2);
        } else if (type == "set") {
          content = canonical_elements(*redis("SMEMBERS", key), true, 1);
        } else if (type == "zset") {
          content = canonical_elements(*redis("ZRANGE", key, "0", "-1", "WITHSCORES"), false, 2);
        } else if (type == "stream") {
          content =
              flatten(*redis("XRANGE", key, "-", "+")) + flatten(*redis("XINFO", "GROUPS", key));
        } else {
          content = "unexpected type";
        }
        const long long pttl = redis("PTTL", key)->integer;
        keys["db" + db + "/" + key] = type + (pttl > 0 ? " ttl " : " persistent ") +
                                      std::to_string(content.size()) + " " + sha256_hex(content);
      }
    } while (cursor != "0");
  }
  return keys;
}

// A fresh redis-server (no password) that loads rdb_file at start-up.
class RestoredRedis {
 public:
  RestoredRedis(const std::filesystem::path& dir, const std::filesystem::path& rdb_file)
      : port_(pick_free_port()) {
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(rdb_file, dir / "dump.rdb");
    const std::filesystem::path config = dir / "redis.conf";
    std::ofstream(config) << "port " << port_ << "\nbind 127.0.0.1\ndir " << dir.string()
                          << "\ndbfilename dump.rdb\nsave \"\"\nappendonly no\n"
                             "daemonize no\nlogfile \"\"\n";
    log_ = dir / "redis.log";
    process_ = std::make_unique<Process>(
        std::vector<std::string>{"/usr/bin/redis-server", config.string()},
        std::map<std::string, std::string>{}, log_, log_);
  }

  int port() const { return port_; }
  // Connected once the server has loaded the file and answers PING.
  std::unique_ptr<RedisClient> connect(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      try {
        auto client = std::make_unique<RedisClient>(port_, std::vector<std::string>{});
        (*client)("PING");
        return client;
      } catch (const std::exception& e) {
        if (!process_->running() || std::chrono::steady_clock::now() > deadline) {
          std::ifstream in(log_);
          throw std::runtime_error(
              std::string("restored redis-server not ready: ") + e.what() + "\n" +
              std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
        }
        std::this_thread::sleep_for(100ms);
      }
    }
  }

 private:
  int port_;
  std::filesystem::path log_;
  std::unique_ptr<Process> process_;
};

class AgentRunsTest : public ::testing::Test {
 protected:
  void SetUp() override { create_database(); }

  std::filesystem::path database() const { return ws_.dir() / "app.db"; }

  void create_database() { create_orders_database(database(), 5000); }

  // job_extra: more fields for the job's flow mapping, e.g. ", pre_hooks: [\"true\"]".
  ControlPlaneOptions options(const std::string& storage_endpoint, unsigned timeout_sec = 0,
                              const std::string& job_extra = "") {
    ControlPlaneOptions o;
    o.admin_tokens = {kAdminToken};
    o.storage_endpoint = storage_endpoint;
    o.storage_access_key_id = "S3RVER";  // the only key id s3rver accepts
    const std::string target =
        target_yaml_.empty()
            ? "{id: lite, type: sqlite, display_name: Orders, connection: {database: \"" +
                  database().string() + "\"}}"
            : target_yaml_;
    o.agent_config_yaml =
        "version: 1\n"
        "targets:\n"
        "  - " +
        target +
        "\n"
        "jobs:\n"
        "  - {id: orders, target_id: lite, cron: \"0 3 * * *\", retention_days: 7, "
        "compression: zstd, encryption_enabled: true, timeout_sec: " +
        std::to_string(timeout_sec) + job_extra + "}\n";
    return o;
  }

  void connect_agent(ControlPlane& cp, std::map<std::string, std::string> env = {}) {
    agent_ = std::make_unique<Agent>(ws_, AgentOptions{.server_url = cp.url(), .extra_env = env});
    agent_->start();
    ASSERT_TRUE(cp.log().wait_for(event_is("register"), 20s)) << cp.log().dump_tail();
  }

  std::string start_run(ControlPlane& cp) {
    const ApiReply reply = cp.api("POST", "/v1/jobs/orders/run", kAdminToken);
    EXPECT_EQ(reply.status, 202) << reply.body;
    return reply.json().value("run_id", "");
  }

  static std::function<bool(const Json&)> status_is(std::string status) {
    return [status](const Json& run) { return run.value("status", "") == status; };
  }
  static std::function<bool(const Json&)> step_is(std::string step) {
    return [step](const Json& run) { return run.value("current_step", "") == step; };
  }

  // The agent reported the run as uploading (its PUT is about to be in flight).
  ::testing::AssertionResult reaches_upload(ControlPlane& cp, const std::string& run_id) {
    const Json run = cp.wait_for_run(run_id, kAdminToken, step_is("uploading"), 30s);
    if (run.value("current_step", "") == "uploading") return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "run never reached the upload: " << run.dump();
  }

  std::string token_for(ControlPlane& cp, const std::string& run_id) {
    const ApiReply reply = cp.api("POST", "/v1/runs/" + run_id + "/decryption-token", kAdminToken);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.json().value("token", "");
  }

  // How many `result` events of this type the control plane logged for the run.
  static std::size_t results(ControlPlane& cp, const std::string& type, const std::string& run_id,
                             const std::string& status = "") {
    return cp.log().count([&](const Json& line) {
      return line.value("event", "") == "result" && line.value("type", "") == type &&
             line.value("run_id", "") == run_id &&
             (status.empty() || line.value("status", "") == status);
    });
  }

  void expect_no_signature_in_agent_log(const std::string& signature) {
    agent_->log().poll();
    EXPECT_EQ(agent_->log().raw().find(signature), std::string::npos);
    EXPECT_EQ(agent_->log().raw().find("X-Amz-Signature"), std::string::npos);
  }

  // Fetches the run's object through the operator's download URL, checks it is the object in
  // S3 as the run describes it, and restores it with backupy-decrypt and the control plane's
  // decryption token into out; returns the stored object.
  std::string restore_with_backupy_decrypt(ControlPlane& cp, const S3Server& s3, const Json& run,
                                           const std::filesystem::path& out) {
    const std::filesystem::path blob = ws_.dir() / "object.bkpy";
    cp.download_object(run.value("run_id", ""), kAdminToken, blob);
    const std::string object = slurp(blob);
    EXPECT_EQ(s3.read_object(run.value("s3_key", "")), object);
    EXPECT_EQ(object.size(), run.value("size_bytes", 0ull));
    EXPECT_EQ(sha256_hex(object), run.value("sha256", ""));
    const CommandResult decrypt =
        cp.decrypt_object(run.value("run_id", ""), kAdminToken, blob, out);
    EXPECT_EQ(decrypt.exit_code, 0) << decrypt.err;
    return object;
  }

  // Points the job at a database server over TCP (the target keeps the id "lite").
  void use_tcp_target(const std::string& type, const std::string& host, int port,
                      const std::string& database, const std::string& username,
                      const std::string& password) {
    target_yaml_ = "{id: lite, type: " + type + ", display_name: Shop, connection: {host: \"" +
                   host + "\", port: " + std::to_string(port) +
                   (database.empty() ? "" : ", database: \"" + database + "\"") +
                   (username.empty() ? "" : ", username: \"" + username + "\"") + ", password: \"" +
                   password + "\", strategy: tcp}}";
  }

  // Connects the agent, starts one run of the job and waits until it reaches status (or the
  // timeout passes); returns the run as the control plane last reported it.
  Json run_job_until(ControlPlane& cp, const std::string& status,
                     std::chrono::milliseconds timeout = 60s) {
    connect_agent(cp);
    const std::string run_id = start_run(cp);
    return cp.wait_for_run(run_id, kAdminToken, status_is(status), timeout);
  }

  void expect_not_in_agent_log(const std::string& secret) {
    agent_->log().poll();
    EXPECT_EQ(agent_->log().raw().find(secret), std::string::npos);
  }

  Workspace ws_;
  std::unique_ptr<Agent> agent_;
  std::string target_yaml_;  // empty: the SQLite target "lite"
};

TEST_F(AgentRunsTest, ARunUploadsABlobThatBothDecryptorsRestoreExactly) {
  S3Server s3;
  ControlPlane cp(ws_, options(s3.endpoint()));
  connect_agent(cp);
  const std::string run_id = start_run(cp);
  const Json run = cp.wait_for_run(run_id, kAdminToken, status_is("success"), 60s);
  ASSERT_EQ(run.value("status", ""), "success") << run.dump();
  EXPECT_EQ(run.value("compression", ""), "zstd");
  EXPECT_EQ(run.value("db_engine_version", "").rfind("SQLite 3.", 0), 0u) << run.dump();

  // The stored object is exactly what the agent reported; backupy-decrypt (which checks the
  // token's sha256 too) restores it.
  const std::filesystem::path restored = ws_.dir() / "restored.db";
  restore_with_backupy_decrypt(cp, s3, run, restored);
  const std::filesystem::path blob = ws_.dir() / "object.bkpy";
  const std::string token = token_for(cp, run_id);
  EXPECT_EQ(orders_rows(restored), "5000/order 0/order 999");

  // The independent decryptor (Node's crypto) with the DEK from the token, then zstd -d.
  const std::string payload =
      decode_base64(token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1));
  const std::string dek = decode_base64(Json::parse(payload).value("dek", ""));
  ASSERT_EQ(dek.size(), 32u);
  std::string dek_hex;
  for (unsigned char c : dek) {
    static const char* digits = "0123456789abcdef";
    dek_hex += digits[c >> 4];
    dek_hex += digits[c & 15];
  }
  const std::filesystem::path compressed = ws_.dir() / "node.zst";
  const CommandResult node = decrypt_blob_with_node(dek_hex, blob, compressed);
  ASSERT_EQ(node.exit_code, 0) << node.err;
  const std::filesystem::path restored_by_node = ws_.dir() / "restored-node.db";
  const CommandResult unzstd = run_command({find_executable("zstd").string(), "-q", "-d",
                                            compressed.string(), "-o", restored_by_node.string()},
                                           {});
  ASSERT_EQ(unzstd.exit_code, 0) << unzstd.err;
  EXPECT_EQ(orders_rows(restored_by_node), "5000/order 0/order 999");
  // Both restorations are the same bytes: the agent's SQLite artifact, bit for bit.
  EXPECT_EQ(slurp(restored), slurp(restored_by_node));
  EXPECT_EQ(slurp(restored).substr(0, 16), std::string("SQLite format 3\0", 16));

  // One completion, one final update; the signature never reached the agent's log.
  EXPECT_EQ(results(cp, "backup_completed", run_id), 1u);
  EXPECT_EQ(results(cp, "job_update", run_id, "SUCCESS"), 1u);
  expect_no_signature_in_agent_log("X-Amz-Signature=");

  // dump-state lists the run from the journal, never its upload URL.
  const CommandResult dump = agent_->command({"dump-state", "--allow-secrets"});
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  const Json state = Json::parse(dump.out);
  ASSERT_FALSE(state["runs"].empty());
  EXPECT_EQ(state["runs"][0].value("run_id", ""), run_id);
  EXPECT_EQ(state["runs"][0].value("state", ""), "completed");
  EXPECT_EQ(state["runs"][0]["spool"].value("sha256", ""), run.value("sha256", ""));
  EXPECT_EQ(dump.out.find("X-Amz-Signature"), std::string::npos);
}

TEST_F(AgentRunsTest, KilledDuringTheUploadTheRunCompletesExactlyOnceAfterRestart) {
  S3Server s3;
  // The first PUT stalls (the agent would wait for its idle timeout); the next passes.
  FaultProxy proxy(s3.endpoint(), {"stall"});
  ControlPlane cp(ws_, options(proxy.endpoint()));
  connect_agent(cp);
  const std::string run_id = start_run(cp);
  ASSERT_TRUE(reaches_upload(cp, run_id));
  std::this_thread::sleep_for(500ms);  // the PUT is in flight, stalled
  agent_->process().signal(SIGKILL);
  agent_->process().wait(10s);

  agent_->start();  // same state directory: recovery resumes the upload
  const Json run = cp.wait_for_run(run_id, kAdminToken, status_is("success"), 60s);
  ASSERT_EQ(run.value("status", ""), "success") << run.dump() << agent_->log().dump_tail();
  const auto object = s3.read_object(run.value("s3_key", ""));
  ASSERT_TRUE(object.has_value());
  EXPECT_EQ(sha256_hex(*object), run.value("sha256", ""));
  ASSERT_TRUE(agent_->log().wait_for(msg_is("run completed"), 10s));
  // Exactly once: one completion and no failure, across both agent processes.
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(results(cp, "backup_completed", run_id), 1u);
  EXPECT_EQ(results(cp, "job_update", run_id, "SUCCESS"), 1u);
  EXPECT_EQ(results(cp, "job_update", run_id, "FAILED"), 0u);
  EXPECT_GE(proxy.requests().size(), 2u);
}

TEST_F(AgentRunsTest, CancelJobAbortsAStalledUpload) {
  S3Server s3;
  FaultProxy proxy(s3.endpoint(), {"stall"});
  ControlPlane cp(ws_, options(proxy.endpoint()));
  connect_agent(cp);
  const std::string run_id = start_run(cp);
  ASSERT_TRUE(reaches_upload(cp, run_id));
  EXPECT_EQ(cp.api("POST", "/v1/jobs/orders/cancel", kAdminToken).status, 202);
  const Json run = cp.wait_for_run(run_id, kAdminToken, status_is("cancelled"), 20s);
  EXPECT_EQ(run.value("status", ""), "cancelled") << run.dump();
  EXPECT_EQ(run.value("error", ""), "cancelled by the control plane");
  EXPECT_FALSE(s3.read_object(run.value("s3_key", "")).has_value());
  // Nothing is left in the agent's spool.
  const auto spool = agent_->state_dir() / "spool";
  for (int i = 0; i < 100 && !std::filesystem::is_empty(spool); ++i) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(std::filesystem::is_empty(spool));
}

TEST_F(AgentRunsTest, TheTimeoutCoversTheUpload) {
  S3Server s3;
  FaultProxy proxy(s3.endpoint(), {"stall"});
  ControlPlane cp(ws_, options(proxy.endpoint(), /*timeout_sec=*/3));
  connect_agent(cp);
  const std::string run_id = start_run(cp);
  const Json run = cp.wait_for_run(run_id, kAdminToken, status_is("failed"), 30s);
  EXPECT_EQ(run.value("status", ""), "failed") << run.dump();
  EXPECT_EQ(run.value("error", ""), "timed out after 3 s");
}

TEST_F(AgentRunsTest, ARunOutlivesItsControlPlaneConnection) {
  S3Server s3;
  // Two failed attempts (1 s + 2 s of backoff) keep the upload busy while the control plane
  // goes away and comes back; the run never notices.
  FaultProxy proxy(s3.endpoint(), {"500", "500"});
  ControlPlane cp(ws_, options(proxy.endpoint()));
  connect_agent(cp);
  const std::string run_id = start_run(cp);
  ASSERT_TRUE(cp.log().wait_for(event_is("run_sent"), 10s));
  cp.kill();
  ASSERT_TRUE(agent_->log().wait_for(msg_is("run completed"), 30s)) << agent_->log().dump_tail();
  cp.restart();
  // The outbox delivers the run's results to the new control-plane process.
  ASSERT_TRUE(cp.log().wait_for(
      [&](const Json& line) {
        return line.value("event", "") == "result" &&
               line.value("type", "") == "backup_completed" && line.value("run_id", "") == run_id;
      },
      30s))
      << cp.log().dump_tail();
}

TEST_F(AgentRunsTest, JobsWithHooksFailWhileTheOperatorHasNotEnabledThem) {
  S3Server s3;
  ControlPlane cp(ws_, options(s3.endpoint(), 0, ", pre_hooks: [\"echo hi\"]"));
  connect_agent(cp);
  const std::string run_id = start_run(cp);
  const Json run = cp.wait_for_run(run_id, kAdminToken, status_is("failed"), 20s);
  EXPECT_NE(run.value("error", "").find("hooks are disabled on this agent"), std::string::npos)
      << run.dump();
}

TEST_F(AgentRunsTest, HooksEnabledByTheOperatorRunAroundTheBackup) {
  S3Server s3;
  const std::filesystem::path trace = ws_.dir() / "hooks.log";
  ControlPlane cp(ws_,
                  options(s3.endpoint(), 0,
                          ", pre_hooks: [\"echo \\\"pre $BACKUPY_JOB_ID\\\" >> " + trace.string() +
                              "\"], post_hooks: [\"echo \\\"post $BACKUPY_RUN_STATUS\\\" >> " +
                              trace.string() + "\"]"));
  connect_agent(cp, {{"BACKUPY_HOOKS", "enabled"}});
  const std::string run_id = start_run(cp);
  const Json run = cp.wait_for_run(run_id, kAdminToken, status_is("success"), 60s);
  ASSERT_EQ(run.value("status", ""), "success") << run.dump();
  std::string text;
  for (int i = 0; i < 100; ++i) {
    std::ifstream in(trace);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (text.find("post") != std::string::npos) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(text, "pre orders\npost success\n");
}

TEST_F(AgentRunsTest, APostgresDatabaseRestoresWithPgRestore) {
  PostgresServer pg;
  pg.psql(
      "CREATE TABLE items(id serial PRIMARY KEY, name text, price numeric(10,2), blob bytea);"
      "INSERT INTO items(name, price, blob) SELECT 'item ' || g || ' ✓', g * 1.25, "
      "decode(md5(g::text), 'hex') FROM generate_series(1, 20000) g;");
  const std::string checksum_sql =
      "SELECT count(*) || '/' || md5(string_agg(t::text, ',' ORDER BY id)) FROM items t";
  const std::string expected = pg.psql(checksum_sql);
  use_tcp_target("postgresql", pg.host(), pg.port(), pg.database(), pg.user(), pg.password());
  S3Server s3;
  ControlPlane cp(ws_, options(s3.endpoint()));
  const Json run = run_job_until(cp, "success");
  ASSERT_EQ(run.value("status", ""), "success") << run.dump() << agent_->log().dump_tail();
  EXPECT_EQ(run.value("db_engine_version", "").rfind("PostgreSQL 15.", 0), 0u) << run.dump();

  const std::filesystem::path dump = ws_.dir() / "shop.pgdump";
  restore_with_backupy_decrypt(cp, s3, run, dump);
  pg.psql("CREATE DATABASE restored");
  const CommandResult restore = run_command(
      {(PostgresServer::bin_dir() / "pg_restore").string(), "--no-owner", "-h", pg.host(), "-p",
       std::to_string(pg.port()), "-U", pg.user(), "-d", "restored", dump.string()},
      {{"PGPASSWORD", pg.password()}});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_EQ(pg.psql(checksum_sql, "restored"), expected);
  // The password never reached the agent's log.
  expect_not_in_agent_log(pg.password());
}

TEST_F(AgentRunsTest, AMariaDbDatabaseRestoresWithTheMariadbClient) {
  MariaDbServer db;
  db.sql(
      "CREATE TABLE items(id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100), "
      "price DECIMAL(10,2), blob_col BLOB) DEFAULT CHARSET=utf8mb4;"
      "INSERT INTO items(name, price, blob_col) SELECT CONCAT('item ', seq, ' ✓ 🙂'), "
      "seq * 1.25, UNHEX(MD5(seq)) FROM seq_1_to_20000;");
  const std::string checksum_sql =
      "SET SESSION group_concat_max_len = 1073741824; SELECT CONCAT(COUNT(*), '/', "
      "MD5(GROUP_CONCAT(CONCAT_WS('/', id, name, price, HEX(blob_col)) ORDER BY id))) FROM items";
  const std::string expected = db.sql(checksum_sql);
  use_tcp_target("mariadb", db.host(), db.port(), db.database(), db.user(), db.password());
  S3Server s3;
  ControlPlane cp(ws_, options(s3.endpoint()));
  const Json run = run_job_until(cp, "success");
  ASSERT_EQ(run.value("status", ""), "success") << run.dump() << agent_->log().dump_tail();
  EXPECT_EQ(run.value("db_engine_version", "").rfind("MariaDB ", 0), 0u) << run.dump();

  const std::filesystem::path dump = ws_.dir() / "shop.sql";
  restore_with_backupy_decrypt(cp, s3, run, dump);
  db.sql("CREATE DATABASE restored");
  const CommandResult restore =
      run_command({"/bin/sh", "-c", "exec mariadb \"$0\" restored < \"$1\"",
                   "--defaults-extra-file=" + db.client_options_file().string(), dump.string()},
                  {{"PATH", "/usr/bin:/bin"}});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_EQ(db.sql("USE restored; " + checksum_sql), expected);
  // The password never reached the agent's log.
  expect_not_in_agent_log(db.password());
}

// Several key types (binary and unicode strings, small and large hashes, lists, sets, sorted
// sets, a stream with a consumer group, keys with a TTL and a 20 MB value) in two logical
// databases; the RDB the agent stored, loaded by a fresh redis-server, holds exactly them.
TEST_F(AgentRunsTest, ARedisKeyspaceRestoresIntoAFreshServer) {
  RedisServer source;
  RedisClient redis(source.port(), {source.password()});
  std::string binary;
  for (int i = 0; i < 256; ++i) binary += static_cast<char>(i);
  redis("SET", "str:ascii", "hello world");
  redis("SET", "str:unicode ✓ 🙂", "grüße ✓ 🙂 日本語");
  redis("SET", std::string("bin:\0\xff\r\n", 6), binary);
  redis("SET", "str:int", "12345");
  std::string big(20 << 20, '\0');
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  for (std::size_t i = 0; i < big.size(); ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift: incompressible, deterministic
    big[i] = static_cast<char>(i % 3 == 0 ? 'a' + i / 4096 % 26 : x & 0xff);
  }
  redis("SET", "big", big);
  redis("HSET", "hash:small", "name", "Ada ✓", "bytes", binary, "n", "42");
  redis("RPUSH", "list:small", "a", "b", "c", "a");
  redis("SADD", "set:ints", "1", "2", "3", "-7");
  redis("ZADD", "zset:small", "1.5", "one", "-2", "minus", "1e10", "big");
  for (int i = 0; i < 1000; ++i) {
    const std::string n = std::to_string(i);
    redis("HSET", "hash:big", "field:" + n, "value " + n + " ✓");
    redis("RPUSH", "list:big", "element " + n);
    redis("SADD", "set:big", "member-" + n);
    redis("ZADD", "zset:big", std::to_string(i * 0.25 - 100), "m" + n);
    if (i < 200) redis("XADD", "stream", "*", "n", n, "payload", binary.substr(i % 200));
  }
  redis("XGROUP", "CREATE", "stream", "workers", "0");
  redis("XREADGROUP", "GROUP", "workers", "alice", "COUNT", "5", "STREAMS", "stream", ">");
  redis("SET", "ttl:string", "expires", "EX", "3600");
  redis("EXPIRE", "hash:small", "7200");
  redis("SELECT", "3");
  redis("SET", "str:ascii", "the same name in db 3");
  redis("RPUSH", "list:small", "x", "y");
  std::vector<std::string> mset{"MSET"};
  for (int i = 0; i < 2000; ++i) {
    mset.push_back("k:" + std::to_string(i));
    mset.push_back(std::to_string(i * 7919));
  }
  redis.run(mset);
  const std::map<std::string, std::string> expected = redis_keyspace(redis);
  ASSERT_EQ(expected.size(), 15u + 2002u);
  EXPECT_EQ(expected.at("db0/ttl:string").rfind("string ttl ", 0), 0u);
  EXPECT_EQ(expected.at("db0/hash:small").rfind("hash ttl ", 0), 0u);
  EXPECT_EQ(expected.at("db0/big").rfind("string persistent " + std::to_string(big.size() + 9), 0),
            0u);

  // The ACL user authenticates with AUTH <user> <password>.
  use_tcp_target("redis", source.host(), source.port(), "", source.acl_user(),
                 source.acl_password());
  S3Server s3;
  ControlPlane cp(ws_, options(s3.endpoint()));
  const Json run = run_job_until(cp, "success", 120s);
  ASSERT_EQ(run.value("status", ""), "success") << run.dump() << agent_->log().dump_tail();
  EXPECT_EQ(run.value("db_engine_version", "").rfind("Redis 7.", 0), 0u) << run.dump();
  // Two thirds of the large value are random bytes: the stored blob cannot be much smaller.
  EXPECT_GT(run.value("size_bytes", 0ull), 14ull << 20);

  const std::filesystem::path rdb = ws_.dir() / "redis.rdb";
  restore_with_backupy_decrypt(cp, s3, run, rdb);
  RestoredRedis restored(ws_.dir() / "restored-redis", rdb);
  const auto client = restored.connect(60s);
  const std::map<std::string, std::string> actual = redis_keyspace(*client);
  EXPECT_EQ(actual.size(), expected.size());
  for (const auto& [key, value] : expected) {
    const auto it = actual.find(key);
    if (it == actual.end()) {
      ADD_FAILURE() << "missing after the restore: " << key;
    } else {
      EXPECT_EQ(it->second, value) << key;
    }
  }
  for (const auto& [key, value] : actual) {
    EXPECT_TRUE(expected.contains(key)) << "not in the source: " << key;
  }
  expect_not_in_agent_log(source.acl_password());
}

TEST_F(AgentRunsTest, ARedisRunWithAWrongPasswordFailsBeforeTheUpload) {
  RedisServer source;
  source.cli("SET", "k", "v");
  const std::string wrong = "not-the-Redis-passw0rd";
  use_tcp_target("redis", source.host(), source.port(), "", "", wrong);
  S3Server s3;
  ControlPlane cp(ws_, options(s3.endpoint()));
  const Json run = run_job_until(cp, "failed", 30s);
  ASSERT_EQ(run.value("status", ""), "failed") << run.dump();
  const std::string error = run.value("error", "");
  EXPECT_NE(error.find("target lite: authentication failed at 127.0.0.1:" +
                       std::to_string(source.port()) + " (check the username and password)"),
            std::string::npos)
      << error;
  EXPECT_EQ(error.find(wrong), std::string::npos) << error;
  const std::string run_id = run.value("run_id", "");
  EXPECT_EQ(results(cp, "job_update", run_id, "SUCCESS"), 0u);
  EXPECT_EQ(results(cp, "backup_completed", run_id), 0u);
  if (!run.value("s3_key", "").empty()) {
    EXPECT_FALSE(s3.read_object(run.value("s3_key", "")).has_value());
  }
  expect_not_in_agent_log(wrong);
  // The agent's error line also went upstream as a LogEvent (log_level defaults to warn), and
  // neither it nor anything else the control plane logged carries the password.
  const auto forwarded = cp.log().wait_for(
      [](const Json& line) {
        return line.value("type", "") == "log_event" && line.value("message", "") == "run failed" &&
               line.value("job_id", "") == "orders";
      },
      10s);
  ASSERT_TRUE(forwarded) << cp.log().dump_tail();
  EXPECT_EQ(forwarded->value("log_level", ""), "ERROR");
  EXPECT_EQ(cp.log().raw().find(wrong), std::string::npos);
}

}  // namespace
}  // namespace backupy::testing
