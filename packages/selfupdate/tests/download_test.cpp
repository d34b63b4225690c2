// download_release() against the scripted HTTPS server with the test PKI (real TLS).
#include "backupy/selfupdate/download.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "backupy/test_support/temp_dir.hpp"
#include "backupy/test_support/test_http_server.hpp"
#include "backupy/test_support/test_pki.hpp"

namespace backupy::selfupdate {
namespace {

using test_support::Reply;
using test_support::TestHttpServer;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

class DownloadTest : public ::testing::Test {
 protected:
  std::string url(const TestHttpServer& server, const std::string& rest = "/r/agent?X-Sig=S3CRET") {
    return "https://localhost:" + std::to_string(server.port()) + rest;
  }
  DownloadOptions trusting() const {
    DownloadOptions options;
    options.ca_file = (pki_ / "ca.crt").string();
    return options;
  }
  static std::string slurp(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  const std::filesystem::path pki_ = test_support::test_pki();
  const test_support::TempDir dir_;
  const std::filesystem::path dest_ = dir_.path() / "download.part";
};

TEST_F(DownloadTest, StreamsTheBodyIntoAPrivateExecutableFile) {
  std::string body(1'000'000, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 7 % 256);
  TestHttpServer server({Reply{.body = body}}, pki_);
  const DownloadResult result = download_release(url(server), dest_, trusting());
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.bytes, body.size());
  EXPECT_EQ(slurp(dest_), body);
  struct stat info {};
  ASSERT_EQ(::stat(dest_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0700u);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, "/r/agent?X-Sig=S3CRET");
}

TEST_F(DownloadTest, TruncatesAnExistingFileAndFixesItsMode) {
  {
    std::ofstream old(dest_);
    old << std::string(5000, 'o');
  }
  ::chmod(dest_.c_str(), 0644);
  TestHttpServer server({Reply{.body = "new"}}, pki_);
  const DownloadResult result = download_release(url(server), dest_, trusting());
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(slurp(dest_), "new");
  struct stat info {};
  ASSERT_EQ(::stat(dest_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0700u);
}

TEST_F(DownloadTest, RefusesAnAnnouncedLengthOverTheCap) {
  TestHttpServer server({Reply{.body = std::string(5000, 'x')}}, pki_);
  DownloadOptions options = trusting();
  options.max_bytes = 4096;
  const DownloadResult result = download_release(url(server), dest_, options);
  EXPECT_FALSE(result.ok);
  EXPECT_THAT(result.error, HasSubstr("announces 5000 bytes, more than the limit of 4096 bytes"));
  EXPECT_THAT(result.error, StartsWith("cannot download https://localhost:" +
                                       std::to_string(server.port()) + "/r/agent: "));
  EXPECT_THAT(result.error, Not(HasSubstr("S3CRET")));
  EXPECT_FALSE(std::filesystem::exists(dest_));
}

TEST_F(DownloadTest, AbortsAChunkedBodyThatGrowsOverTheCap) {
  TestHttpServer server({Reply{.body = std::string(1'000'000, 'x'), .chunked = true}}, pki_);
  DownloadOptions options = trusting();
  options.max_bytes = 300'000;
  const DownloadResult result = download_release(url(server), dest_, options);
  EXPECT_FALSE(result.ok);
  EXPECT_THAT(result.error, HasSubstr("is larger than the limit of 300000 bytes"));
  EXPECT_FALSE(std::filesystem::exists(dest_));

  // The same chunked body within the cap arrives whole.
  TestHttpServer small({Reply{.body = std::string(200'000, 'y'), .chunked = true}}, pki_);
  const DownloadResult ok = download_release(url(small), dest_, options);
  ASSERT_TRUE(ok.ok) << ok.error;
  EXPECT_EQ(ok.bytes, 200'000u);
  EXPECT_EQ(slurp(dest_), std::string(200'000, 'y'));
}

TEST_F(DownloadTest, NamesTheStatusButNotTheQueryString) {
  TestHttpServer server({Reply{.status = 404, .body = "<Error><Code>NoSuchKey</Code></Error>"}},
                        pki_);
  const DownloadResult result = download_release(url(server), dest_, trusting());
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error,
            "HTTP 404 from https://localhost:" + std::to_string(server.port()) + "/r/agent");
  EXPECT_FALSE(std::filesystem::exists(dest_));
}

TEST_F(DownloadTest, RefusesPlainHttpWithoutConnecting) {
  TestHttpServer server({Reply{.body = "binary"}});  // plain http on loopback
  const DownloadResult result = download_release(
      "http://127.0.0.1:" + std::to_string(server.port()) + "/agent?sig=S3CRET", dest_, {});
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error, "refusing to download http://127.0.0.1:" + std::to_string(server.port()) +
                              "/agent: only https:// URLs are allowed");
  EXPECT_EQ(server.connections(), 0);
  EXPECT_FALSE(std::filesystem::exists(dest_));

  const DownloadResult garbage = download_release("not a url?sig=S3CRET", dest_, {});
  EXPECT_FALSE(garbage.ok);
  EXPECT_THAT(garbage.error, StartsWith("invalid URL not a url: "));
  EXPECT_THAT(garbage.error, Not(HasSubstr("S3CRET")));
}

TEST_F(DownloadTest, RefusesAnUntrustedServer) {
  TestHttpServer server({Reply{.body = "binary"}}, pki_);
  const DownloadResult result = download_release(url(server), dest_, {});  // CA not trusted
  EXPECT_FALSE(result.ok);
  EXPECT_THAT(result.error, HasSubstr("certificate verify failed"));
  EXPECT_THAT(result.error, Not(HasSubstr("S3CRET")));
  EXPECT_FALSE(std::filesystem::exists(dest_));
}

TEST_F(DownloadTest, ReportsAnUncreatableDestination) {
  TestHttpServer server({Reply{.body = "binary"}}, pki_);
  const auto dest = dir_.path() / "missing-dir" / "download.part";
  const DownloadResult result = download_release(url(server), dest, trusting());
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error, "cannot create " + dest.string() + ": No such file or directory");
  EXPECT_EQ(server.connections(), 0);
}

}  // namespace
}  // namespace backupy::selfupdate
