// The embedded object store's URL signing, verification and key rules (local_store.hpp).
#include "local_store.hpp"

#include <gtest/gtest.h>

#include <string>

#include "backupy/core/hex.hpp"
#include "backupy/crypto/crypto.hpp"
#include "hmac.hpp"
#include "test_support.hpp"

namespace backupy::controlplane::detail {
namespace {

constexpr std::uint64_t kNowMs = 1'700'000'000'123;
constexpr std::string_view kKey = "agents/agent-1/nightly/run-1.bkpy";
const std::string kUrlKey(32, 'k');

class LocalStoreTest : public ::testing::Test {
 protected:
  LocalStoreTest() : store_(storage(), crypto::as_bytes(kUrlKey), "https://cp.test:8443/") {}

  StorageConfig storage() const {
    StorageConfig config;
    config.type = StorageType::local;
    config.dir = dir_.path();
    config.url_ttl_sec = 600;
    return config;
  }

  // The query of url ("expires=..&sig=..").
  static std::string query_of(const std::string& url) { return url.substr(url.find('?') + 1); }

  testing::TempDir dir_;
  LocalStore store_;
};

TEST_F(LocalStoreTest, SignsTheDocumentedStringToSign) {
  const PresignedUrl put = store_.presign_put(std::string(kKey), kNowMs);
  const std::uint64_t expires = kNowMs / 1000 + 600;
  EXPECT_EQ(put.expires_at_ms, expires * 1000);
  const std::string sig = core::to_hex(hmac_sha256(
      crypto::as_bytes(kUrlKey), "PUT\n" + std::string(kKey) + "\n" + std::to_string(expires)));
  EXPECT_EQ(put.url, "https://cp.test:8443/objects/" + std::string(kKey) +
                         "?expires=" + std::to_string(expires) + "&sig=" + sig);
}

TEST_F(LocalStoreTest, AcceptsItsOwnUrlsUntilTheyExpire) {
  const std::string put = query_of(store_.presign_put(std::string(kKey), kNowMs).url);
  const std::string get = query_of(store_.presign_get(std::string(kKey), kNowMs).url);
  EXPECT_EQ(store_.verify("PUT", kKey, put, kNowMs), UrlCheck::ok);
  EXPECT_EQ(store_.verify("GET", kKey, get, kNowMs + 599'000), UrlCheck::ok);
  EXPECT_EQ(store_.verify("GET", kKey, get, kNowMs + 600'000), UrlCheck::expired);
}

TEST_F(LocalStoreTest, RefusesTamperedUrls) {
  const std::string put = query_of(store_.presign_put(std::string(kKey), kNowMs).url);
  // Wrong method: an upload URL cannot download.
  EXPECT_EQ(store_.verify("GET", kKey, put, kNowMs), UrlCheck::bad_signature);
  // Another key.
  EXPECT_EQ(store_.verify("PUT", "agents/agent-1/nightly/run-2.bkpy", put, kNowMs),
            UrlCheck::bad_signature);
  // A flipped signature character.
  std::string flipped = put;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  EXPECT_EQ(store_.verify("PUT", kKey, flipped, kNowMs), UrlCheck::bad_signature);
  // A later expiry with the old signature.
  const std::string expires = std::to_string(kNowMs / 1000 + 600);
  std::string extended = put;
  extended.replace(extended.find(expires), expires.size(), std::to_string(kNowMs / 1000 + 9999));
  EXPECT_EQ(store_.verify("PUT", kKey, extended, kNowMs), UrlCheck::bad_signature);
  // An expired URL with a bad signature is reported as a bad signature, not as expired.
  EXPECT_EQ(store_.verify("PUT", kKey, flipped, kNowMs + 3'600'000), UrlCheck::bad_signature);
  // Another store key.
  const std::string other_key(32, 'o');
  const LocalStore other(storage(), crypto::as_bytes(other_key), "https://cp.test:8443");
  EXPECT_EQ(other.verify("PUT", kKey, put, kNowMs), UrlCheck::bad_signature);
}

TEST_F(LocalStoreTest, RefusesMalformedQueries) {
  const std::string sig(64, 'a');
  for (const std::string& query : std::vector<std::string>{
           std::string(), "expires=1", "sig=" + sig, "expires=&sig=" + sig,
           "expires=12x&sig=" + sig, "expires=-1&sig=" + sig, "expires=1&expires=2&sig=" + sig,
           "expires=1&sig=" + sig + "&extra=1", "expires=1&sig",
           "expires=99999999999999999999&sig=" + sig}) {
    EXPECT_EQ(store_.verify("PUT", kKey, query, kNowMs), UrlCheck::malformed) << query;
  }
  // Parameter order does not matter.
  const std::string put = query_of(store_.presign_put(std::string(kKey), kNowMs).url);
  const std::size_t amp = put.find('&');
  EXPECT_EQ(store_.verify("PUT", kKey, put.substr(amp + 1) + "&" + put.substr(0, amp), kNowMs),
            UrlCheck::ok);
}

TEST_F(LocalStoreTest, EncodesKeysInUrlsAndSignsTheDecodedKey) {
  const std::string key = "agents/agent-1/nightly job/run-1.bkpy";
  const std::string url = store_.presign_put(key, kNowMs).url;
  EXPECT_NE(url.find("/objects/agents/agent-1/nightly%20job/run-1.bkpy?"), std::string::npos);
  const std::string path = url.substr(0, url.find('?'));
  const std::optional<std::string> decoded =
      decode_object_path(path.substr(path.find("/objects/") + 9));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, key);
  EXPECT_EQ(store_.verify("PUT", *decoded, query_of(url), kNowMs), UrlCheck::ok);
  EXPECT_FALSE(decode_object_path("a%2"));
  EXPECT_FALSE(decode_object_path("a%zz"));
}

TEST(ObjectKeyTest, AcceptsRunKeysAndRejectsEscapes) {
  EXPECT_TRUE(is_valid_object_key("agents/agent-1/nightly/run-1.bkpy"));
  EXPECT_TRUE(is_valid_object_key("a"));
  EXPECT_TRUE(is_valid_object_key("agents/a/job with space/..x.bkpy"));
  for (const std::string_view bad : std::vector<std::string_view>{
           "", "/agents/a", "agents/a/", "agents//a", "..", "agents/../etc/passwd", "./a", "a/./b",
           ".partial/x.part", "a/b\nc", std::string_view("a\0b", 3)}) {
    EXPECT_FALSE(is_valid_object_key(bad)) << bad;
  }
  EXPECT_TRUE(is_valid_object_key("agents/.partial/x"));  // only the top-level name is reserved
  EXPECT_FALSE(is_valid_object_key(std::string(1025, 'a')));
  EXPECT_TRUE(is_valid_object_key(std::string(1024, 'a')));
}

TEST_F(LocalStoreTest, PresignRefusesInvalidKeys) {
  EXPECT_THROW(store_.presign_put("../x", kNowMs), std::invalid_argument);
}

TEST_F(LocalStoreTest, StatAndRemoveSeeTheStoreDirectory) {
  const std::string key(kKey);
  EXPECT_EQ(store_.stat(key), std::nullopt);
  EXPECT_FALSE(store_.remove(key));
  std::filesystem::create_directories(store_.path_of(key).parent_path());
  testing::write_text(store_.path_of(key), "12345");
  EXPECT_EQ(store_.path_of(key), dir_.path() / kKey);
  EXPECT_EQ(store_.stat(key), 5u);
  EXPECT_TRUE(store_.remove(key));
  EXPECT_EQ(store_.stat(key), std::nullopt);
  // A directory is not an object.
  EXPECT_EQ(store_.stat("agents"), std::nullopt);
}

TEST_F(LocalStoreTest, RemovesPartialFilesLeftByACrash) {
  EXPECT_EQ(store_.remove_partial_files(), 0u);  // no .partial directory yet
  std::filesystem::create_directories(dir_.path() / ".partial");
  testing::write_text(dir_.path() / ".partial" / "a.part", "x");
  testing::write_text(dir_.path() / ".partial" / "b.part", "y");
  testing::write_text(dir_.path() / "kept", "z");
  EXPECT_EQ(store_.remove_partial_files(), 2u);
  EXPECT_TRUE(std::filesystem::is_empty(dir_.path() / ".partial"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "kept"));
}

}  // namespace
}  // namespace backupy::controlplane::detail
