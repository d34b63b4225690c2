#include "backupy/controlplane/dev_tls.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <chrono>
#include <memory>
#include <string>

#include "test_support.hpp"

namespace backupy::controlplane {
namespace {

using namespace testing;  // the shared helpers of test_support.hpp
using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct StoreFree {
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};
using Cert = std::unique_ptr<X509, X509Free>;

Cert read_cert(const std::filesystem::path& file) {
  const std::string pem = read_text(file);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  return Cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

// What a TLS client does with the files: verify server.crt against ca.crt alone (no system
// store), as a TLS server certificate for `name`, at time `at`. Returns the OpenSSL verdict.
std::string verify(const DevTls& dev, const std::string& name, bool ip,
                   Clock::time_point at = Clock::now()) {
  const Cert ca = read_cert(dev.ca_file);
  const Cert server = read_cert(dev.tls.cert_file);
  if (!ca || !server) return "unreadable certificate";
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), ca.get());
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), server.get(), nullptr);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  X509_VERIFY_PARAM_set_time(param, Clock::to_time_t(at));
  if (ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
  } else {
    X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
  }
  const int ok = X509_verify_cert(ctx.get());
  ERR_clear_error();
  return ok == 1 ? "ok" : X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
}

class DevTlsTest : public ::testing::Test {
 protected:
  TempDir tmp_;
  std::filesystem::path dir_ = tmp_.path() / "dev-tls";
};

TEST_F(DevTlsTest, GeneratesAChainThatVerifiesForTheLoopbackNames) {
  const DevTls dev = ensure_dev_tls(dir_, "127.0.0.1");
  EXPECT_TRUE(dev.generated);
  EXPECT_EQ(dev.reason, "first start in dev mode");
  EXPECT_EQ(dev.ca_file, dir_ / "ca.crt");
  EXPECT_EQ(dev.tls.cert_file, dir_ / "server.crt");
  EXPECT_EQ(dev.tls.key_file, dir_ / "server.key");

  EXPECT_EQ(verify(dev, "localhost", false), "ok");
  EXPECT_EQ(verify(dev, "127.0.0.1", true), "ok");
  EXPECT_EQ(verify(dev, "::1", true), "ok");
  // The certificate is for this machine only, and for about a year.
  EXPECT_EQ(verify(dev, "example.com", false), "hostname mismatch");
  EXPECT_EQ(verify(dev, "10.1.2.3", true), "IP address mismatch");
  EXPECT_EQ(verify(dev, "localhost", false, Clock::now() + 360 * 24h), "ok");
  EXPECT_EQ(verify(dev, "localhost", false, Clock::now() + 370 * 24h), "certificate has expired");
  EXPECT_GT(dev.not_after, Clock::now() + 364 * 24h);
  EXPECT_LT(dev.not_after, Clock::now() + 366 * 24h);

  // EC P-256 keys; the CA is a CA, the server certificate is not.
  const Cert ca = read_cert(dev.ca_file);
  const Cert server = read_cert(dev.tls.cert_file);
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_EQ(X509_check_ca(server.get()), 0);
  EXPECT_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(ca.get())), 256);
  EXPECT_TRUE(EVP_PKEY_is_a(X509_get0_pubkey(server.get()), "EC"));
  const ASN1_TIME* ca_end = X509_get0_notAfter(ca.get());
  const std::time_t nine_years = Clock::to_time_t(Clock::now() + 9 * 365 * 24h);
  EXPECT_EQ(X509_cmp_time(ca_end, const_cast<std::time_t*>(&nine_years)), 1);
}

TEST_F(DevTlsTest, TheKeyIsPrivateToItsOwnerAndTheCaKeyIsNotWritten) {
  const DevTls dev = ensure_dev_tls(dir_, "127.0.0.1");
  struct stat st {};
  ASSERT_EQ(::stat(dev.tls.key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    ++files;
    EXPECT_TRUE(entry.path().filename() == "ca.crt" || entry.path().filename() == "server.crt" ||
                entry.path().filename() == "server.key")
        << entry.path();
  }
  EXPECT_EQ(files, 3u);
  EXPECT_NE(read_text(dev.tls.key_file).find("BEGIN PRIVATE KEY"), std::string::npos);
}

TEST_F(DevTlsTest, ASecondStartReusesTheFiles) {
  const DevTls first = ensure_dev_tls(dir_, "127.0.0.1");
  const std::string ca = read_text(first.ca_file);
  const std::string cert = read_text(first.tls.cert_file);
  const std::string key = read_text(first.tls.key_file);
  const DevTls second = ensure_dev_tls(dir_, "127.0.0.1");
  EXPECT_FALSE(second.generated);
  EXPECT_EQ(second.reason, "");
  EXPECT_EQ(read_text(second.ca_file), ca);
  EXPECT_EQ(read_text(second.tls.cert_file), cert);
  EXPECT_EQ(read_text(second.tls.key_file), key);
  EXPECT_EQ(second.not_after, first.not_after);
}

TEST_F(DevTlsTest, RegeneratesCertificatesThatExpireWithinAWeek) {
  const DevTls first = ensure_dev_tls(dir_, "127.0.0.1");
  const std::string ca = read_text(first.ca_file);
  // 360 days later the server certificate has 5 days left.
  const auto later = Clock::now() + 360 * 24h;
  const DevTls second = ensure_dev_tls(dir_, "127.0.0.1", later);
  EXPECT_TRUE(second.generated);
  EXPECT_EQ(second.reason, "the certificates expire within 7 days");
  EXPECT_NE(read_text(second.ca_file), ca);
  EXPECT_EQ(verify(second, "localhost", false, later + 300 * 24h), "ok");
  // 355 days later (10 days left) a set is still reused.
  TempDir other;
  ensure_dev_tls(other.path(), "127.0.0.1");
  EXPECT_FALSE(ensure_dev_tls(other.path(), "127.0.0.1", Clock::now() + 355 * 24h).generated);
}

TEST_F(DevTlsTest, RegeneratesAGarbledOrMismatchedSet) {
  const DevTls first = ensure_dev_tls(dir_, "127.0.0.1");
  write_text(first.tls.cert_file, "-----BEGIN CERTIFICATE-----\ngarbage\n");
  DevTls again = ensure_dev_tls(dir_, "127.0.0.1");
  EXPECT_TRUE(again.generated);
  EXPECT_EQ(again.reason, "server.crt is not a PEM certificate");
  EXPECT_EQ(verify(again, "localhost", false), "ok");

  // A CA from another set: server.crt no longer verifies against it.
  TempDir other;
  const DevTls foreign = ensure_dev_tls(other.path(), "127.0.0.1");
  std::filesystem::copy_file(foreign.ca_file, again.ca_file,
                             std::filesystem::copy_options::overwrite_existing);
  again = ensure_dev_tls(dir_, "127.0.0.1");
  EXPECT_TRUE(again.generated);
  EXPECT_EQ(again.reason.rfind("server.crt does not verify against ca.crt: ", 0), 0u)
      << again.reason;
  EXPECT_EQ(verify(again, "localhost", false), "ok");

  std::filesystem::remove(again.tls.key_file);
  again = ensure_dev_tls(dir_, "127.0.0.1");
  EXPECT_TRUE(again.generated);
  EXPECT_EQ(again.reason, "server.key is missing");

  ::chmod(again.tls.key_file.c_str(), 0644);
  again = ensure_dev_tls(dir_, "127.0.0.1");
  EXPECT_TRUE(again.generated);
  EXPECT_EQ(again.reason, "server.key is readable by others than its owner");
}

TEST_F(DevTlsTest, CoversAnotherListenAddressAndRegeneratesWhenItChanges) {
  ensure_dev_tls(dir_, "127.0.0.1");
  const DevTls dev = ensure_dev_tls(dir_, "10.20.30.40");
  EXPECT_TRUE(dev.generated);
  EXPECT_EQ(dev.reason, "server.crt does not cover \"10.20.30.40\"");
  EXPECT_EQ(verify(dev, "10.20.30.40", true), "ok");
  EXPECT_EQ(verify(dev, "localhost", false), "ok");
}

TEST(DevTlsNames, LoopbackAlwaysPlusTheListenHostOrTheHostNameForWildcards) {
  EXPECT_EQ(dev_tls_names("127.0.0.1"),
            (std::vector<std::string>{"localhost", "127.0.0.1", "::1"}));
  EXPECT_EQ(dev_tls_names("::1"), (std::vector<std::string>{"localhost", "127.0.0.1", "::1"}));
  EXPECT_EQ(dev_tls_names("192.168.1.5").back(), "192.168.1.5");
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  for (const char* wildcard : {"0.0.0.0", "::"}) {
    const std::vector<std::string> names = dev_tls_names(wildcard);
    ASSERT_EQ(names.size(), 4u) << wildcard;
    EXPECT_EQ(names.back(), host);
  }
}

TEST(DevTlsNotice, NamesTheCaFileForAgentsAndTheCli) {
  DevTls dev;
  dev.ca_file = "/srv/cp/dev-tls/ca.crt";
  EXPECT_EQ(dev_tls_notice(dev),
            "dev mode: agents must trust /srv/cp/dev-tls/ca.crt "
            "(BACKUPY_CA_FILE=/srv/cp/dev-tls/ca.crt; operator CLI: "
            "BACKUPY_CP_CA=/srv/cp/dev-tls/ca.crt)");
}

TEST(DevTlsErrors, AnUnusableDirectoryIsAPreciseError) {
  TempDir tmp;
  write_text(tmp.path() / "dev-tls", "a file where the directory should be");
  try {
    ensure_dev_tls(tmp.path() / "dev-tls", "127.0.0.1");
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find((tmp.path() / "dev-tls").string()), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace backupy::controlplane
