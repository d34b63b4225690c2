// The embedded object store (storage type local) end to end: the real agent uploads a SQLite
// backup to the control plane's own HTTPS listener through the URL in RunBackup, the object
// lands in the store directory, the operator's download URL returns the exact bytes and
// backupy-decrypt restores them. Refused and broken uploads leave nothing behind. The test
// knows the URL signing key (storage.url_signing_key_file), so it signs URLs of its own the
// way docs/protocol.md describes.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <sqlite3.h>

#include <fstream>
#include <thread>

#include "fixtures.hpp"

namespace backupy::testing {
namespace {

const std::string kAdminToken = "local-storage-admin-token-7f3e";
const std::string kUrlKey = "local-storage-url-signing-key-0123456789abcdef";

// hex HMAC-SHA256(kUrlKey, "<METHOD>\n<key>\n<expires>"): the documented string to sign.
std::string sign(const std::string& method, const std::string& key, std::int64_t expires) {
  const std::string text = method + "\n" + key + "\n" + std::to_string(expires);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), kUrlKey.data(), static_cast<int>(kUrlKey.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest, &length);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    static const char* digits = "0123456789abcdef";
    hex += digits[digest[i] >> 4];
    hex += digits[digest[i] & 15];
  }
  return hex;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class LocalStorageTest : public ::testing::Test {
 protected:
  void SetUp() override { create_orders_database(database(), 2000); }

  std::filesystem::path database() const { return ws_.dir() / "app.db"; }
  std::filesystem::path store() const { return ws_.dir() / "objects"; }

  ControlPlaneOptions options() const {
    ControlPlaneOptions o;
    o.admin_tokens = {kAdminToken};
    o.storage_type = "local";
    o.storage_url_signing_key = kUrlKey;
    o.agent_config_yaml = orders_agent_config(database());
    return o;
  }

  // curl against the control plane, trusting the test CA; returns the HTTP status (0 if curl
  // failed) and stores the body in *body if given.
  int curl(std::vector<std::string> args, std::string* body = nullptr) {
    const std::filesystem::path out = ws_.dir() / "curl.out";
    std::vector<std::string> argv = {find_executable("curl").string(),
                                     "--silent",
                                     "--cacert",
                                     (ws_.pki() / "ca.crt").string(),
                                     "--output",
                                     out.string(),
                                     "--write-out",
                                     "%{http_code}"};
    argv.insert(argv.end(), args.begin(), args.end());
    const CommandResult result = run_command(std::move(argv), {});
    if (body != nullptr) *body = slurp(out);
    return result.out.empty() ? 0 : std::stoi(result.out);
  }

  // Regular files under the store's upload area (partial uploads).
  std::size_t partial_files() const {
    std::error_code ec;
    std::size_t count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(store() / ".partial", ec)) {
      count += entry.is_regular_file() ? 1 : 0;
    }
    return count;
  }

  Workspace ws_;
};

TEST_F(LocalStorageTest, ARunUploadsIntoTheStoreAndTheDownloadUrlRestoresIt) {
  ControlPlane cp(ws_, options());
  Agent agent(ws_, AgentOptions{.server_url = cp.url()});
  agent.start();
  ASSERT_TRUE(cp.log().wait_for(event_is("register"), 20s)) << cp.log().dump_tail();

  const ApiReply accepted = cp.api("POST", "/v1/jobs/orders/run", kAdminToken);
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  const std::string run_id = accepted.json().value("run_id", "");
  const Json run = cp.wait_for_run(
      run_id, kAdminToken, [](const Json& r) { return r.value("status", "") == "success"; }, 60s);
  ASSERT_EQ(run.value("status", ""), "success") << run.dump() << cp.log().dump_tail();

  // The object is a file of the store, exactly what the agent reported.
  const std::string key = run.value("s3_key", "");
  EXPECT_EQ(key, "agents/agent-1/orders/" + run_id + ".bkpy");
  const std::string object = slurp(store() / key);
  EXPECT_EQ(object.size(), run.value("size_bytes", 0ull));
  EXPECT_EQ(sha256_hex(object), run.value("sha256", ""));
  EXPECT_EQ(partial_files(), 0u);

  // The download URL points at the control plane and returns the same bytes.
  const ApiReply download = cp.api("GET", "/v1/runs/" + run_id + "/download-url", kAdminToken);
  ASSERT_EQ(download.status, 200) << download.body;
  const std::string url = download.json().value("url", "");
  EXPECT_EQ(url.rfind(cp.url() + "/objects/" + key + "?expires=", 0), 0u) << url;
  std::string fetched;
  ASSERT_EQ(curl({url}, &fetched), 200);
  EXPECT_EQ(fetched, object);
  // The download URL cannot upload.
  const std::filesystem::path junk = ws_.dir() / "junk";
  std::ofstream(junk) << "junk";
  EXPECT_EQ(curl({"--upload-file", junk.string(), url}), 403);
  EXPECT_EQ(slurp(store() / key), object);

  // backupy-decrypt restores the downloaded object with the control plane's token.
  const std::filesystem::path blob = ws_.dir() / "downloaded.bkpy";
  std::ofstream(blob, std::ios::binary) << fetched;
  const std::filesystem::path restored = ws_.dir() / "restored.db";
  const CommandResult decrypt = cp.decrypt_object(run_id, kAdminToken, blob, restored);
  ASSERT_EQ(decrypt.exit_code, 0) << decrypt.err;
  EXPECT_EQ(slurp(restored), slurp(database()));

  // No URL signature in either log.
  const std::string sig = url.substr(url.find("&sig=") + 5);
  agent.log().poll();
  EXPECT_EQ(agent.log().raw().find("sig="), std::string::npos);
  cp.log().poll();
  EXPECT_EQ(cp.log().raw().find(sig), std::string::npos);
}

TEST_F(LocalStorageTest, RefusedUploadsLeaveNothing) {
  ControlPlane cp(ws_, options());
  const std::filesystem::path body = ws_.dir() / "body";
  std::ofstream(body) << "not a backup";
  const std::string key = "agents/agent-1/orders/run-x.bkpy";
  const std::int64_t expires = unix_now() + 600;
  const std::string base = cp.url() + "/objects/" + key + "?expires=" + std::to_string(expires);
  const std::string good = sign("PUT", key, expires);
  std::string answer;

  std::string flipped = good;
  flipped[0] = flipped[0] == '0' ? '1' : '0';
  EXPECT_EQ(curl({"--upload-file", body.string(), base + "&sig=" + flipped}, &answer), 403);
  EXPECT_EQ(answer, R"({"error":"bad signature"})");
  EXPECT_EQ(curl({"--upload-file", body.string(), base + "&sig=" + sign("GET", key, expires)}),
            403);
  const std::int64_t past = unix_now() - 1;
  EXPECT_EQ(curl({"--upload-file", body.string(),
                  cp.url() + "/objects/" + key + "?expires=" + std::to_string(past) +
                      "&sig=" + sign("PUT", key, past)},
                 &answer),
            403);
  EXPECT_EQ(answer, R"({"error":"url expired"})");
  EXPECT_EQ(curl({"--upload-file", body.string(), cp.url() + "/objects/" + key}), 403);
  // Keys that escape the store are 400, signed or not.
  EXPECT_EQ(curl({"--path-as-is", "--upload-file", body.string(),
                  cp.url() + "/objects/agents/../../x?expires=" + std::to_string(expires) +
                      "&sig=" + sign("PUT", "agents/../../x", expires)}),
            400);
  EXPECT_EQ(curl({"--upload-file", body.string(), cp.url() + "/objects/a//b?expires=1&sig=x"}),
            400);
  // Other methods, bodies without Content-Length and bodies over max_object_bytes (1 TiB).
  EXPECT_EQ(curl({"--request", "DELETE", base + "&sig=" + good}), 405);
  EXPECT_EQ(curl({"--header", "Transfer-Encoding: chunked", "--upload-file", body.string(),
                  base + "&sig=" + good},
                 &answer),
            411);
  EXPECT_EQ(answer, R"({"error":"Content-Length required"})");
  EXPECT_EQ(curl({"--header", "Content-Length: 1099511627777", "--upload-file", body.string(),
                  base + "&sig=" + good}),
            413);
  EXPECT_FALSE(std::filesystem::exists(store() / key));
  EXPECT_FALSE(std::filesystem::exists(ws_.dir() / "x"));
  EXPECT_EQ(partial_files(), 0u);
  // Nothing stored: a signed GET is 404.
  EXPECT_EQ(curl({base + "&sig=" + sign("GET", key, expires)}), 404);

  // The right signature stores the body.
  EXPECT_EQ(curl({"--upload-file", body.string(), base + "&sig=" + good}), 200);
  EXPECT_EQ(slurp(store() / key), "not a backup");
}

TEST_F(LocalStorageTest, AnUploadKilledMidBodyLeavesNoObject) {
  ControlPlane cp(ws_, options());
  const std::filesystem::path body = ws_.dir() / "big";
  {
    std::ofstream out(body, std::ios::binary);
    const std::string chunk(64 * 1024, 'x');
    for (int i = 0; i < 64; ++i) out << chunk;  // 4 MiB
  }
  const std::string key = "agents/agent-1/orders/run-killed.bkpy";
  const std::int64_t expires = unix_now() + 600;
  const std::string url = cp.url() + "/objects/" + key + "?expires=" + std::to_string(expires) +
                          "&sig=" + sign("PUT", key, expires);
  // A slow upload (256 KiB/s) that is killed once part of the body is on disk.
  Process upload(
      {find_executable("curl").string(), "--silent", "--cacert", (ws_.pki() / "ca.crt").string(),
       "--limit-rate", "256K", "--upload-file", body.string(), url},
      {}, ws_.dir() / "upload.out", ws_.dir() / "upload.err");
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (partial_files() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(partial_files(), 1u) << cp.log().dump_tail();
  std::this_thread::sleep_for(300ms);
  upload.kill_and_wait();

  ASSERT_TRUE(cp.log().wait_for(
      [](const Json& line) {
        return line.value("event", "") == "object_request" && line.value("status", -1) == 0;
      },
      20s))
      << cp.log().dump_tail();
  EXPECT_EQ(partial_files(), 0u);
  EXPECT_FALSE(std::filesystem::exists(store() / key));

  // What a crash of the control plane itself leaves behind goes at the next start.
  std::ofstream(store() / ".partial" / "crashed.part") << "half an upload";
  cp.kill();
  cp.restart();
  EXPECT_EQ(partial_files(), 0u);
  EXPECT_TRUE(cp.log().wait_for(event_is("partial_uploads_removed"), 5s)) << cp.log().dump_tail();
}

}  // namespace
}  // namespace backupy::testing
