#include "backupy/controlplane/dev_tls.hpp"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include "backupy/core/files.hpp"

namespace backupy::controlplane {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

constexpr int kCaDays = 3650;
constexpr int kServerDays = 365;
constexpr long kBackdateSec = 3600;  // tolerate an agent whose clock is a little behind

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO_free>>;
using Bignum = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using Extension = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using Store = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreCtx = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;

// The first queued OpenSSL error as text; clears the queue so a later failure does not report
// a stale reason.
std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

[[noreturn]] void fail(const std::string& step) {
  throw std::runtime_error("dev TLS: " + step + ": " + openssl_error());
}

template <typename T>
T check(T value, const std::string& step) {
  if (!value) fail(step);
  return value;
}

bool is_ip(const std::string& name) {
  unsigned char buf[16];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

bool is_wildcard(const std::string& host) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, host.c_str(), buf) == 1) return host == "0.0.0.0";
  if (inet_pton(AF_INET6, host.c_str(), buf) == 1) {
    return std::all_of(buf, buf + 16, [](unsigned char b) { return b == 0; });
  }
  return false;
}

// A host name usable as a SAN dNSName: letters, digits, '-', '.'.
bool is_dns_name(const std::string& name) {
  return !name.empty() && name.size() <= 253 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
  });
}

std::string to_pem(X509* cert) {
  Bio bio(check(BIO_new(BIO_s_mem()), "BIO_new"));
  if (PEM_write_bio_X509(bio.get(), cert) != 1) fail("PEM_write_bio_X509");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string to_pem(EVP_PKEY* key) {
  Bio bio(check(BIO_new(BIO_s_mem()), "BIO_new"));
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    fail("PEM_write_bio_PrivateKey");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

Bio memory_bio(const std::string& text) {
  return Bio(check(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), "BIO_new_mem_buf"));
}

PKey new_p256_key() {
  return PKey(check(EVP_EC_gen("P-256"), "generating an EC P-256 key"));
}

// One X.509 v3 extension from its openssl.cnf-style text (e.g. "critical,CA:TRUE").
void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  Extension ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext) fail(std::string("extension ") + OBJ_nid2sn(nid) + "=" + value);
  if (X509_add_ext(cert, ext.get(), -1) != 1) fail("X509_add_ext");
}

// A certificate for key, signed by issuer_key; issuer null = self-signed. The subject key
// identifier is added first: the authority key identifier copies it from the issuer.
Cert new_certificate(const std::string& common_name, EVP_PKEY* key, X509* issuer,
                     EVP_PKEY* issuer_key, int days, std::time_t now,
                     const std::vector<std::pair<int, std::string>>& extensions) {
  Cert cert(check(X509_new(), "X509_new"));
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) fail("X509_set_version");
  // A random positive 127-bit serial (RFC 5280: unique per CA, at most 20 octets).
  Bignum serial(check(BN_new(), "BN_new"));
  if (BN_rand(serial.get(), 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1) fail("BN_rand");
  if (!BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()))) {
    fail("BN_to_ASN1_INTEGER");
  }
  if (!X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -kBackdateSec, &now) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, &now)) {
    fail("setting the validity period");
  }
  X509_NAME* subject = X509_get_subject_name(cert.get());
  const auto add_entry = [&](const char* field, const std::string& value) {
    if (X509_NAME_add_entry_by_txt(subject, field, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                   0) != 1) {
      fail(std::string("subject ") + field);
    }
  };
  add_entry("O", "backupy control plane (serve --dev)");
  add_entry("CN", common_name);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) != 1) {
    fail("X509_set_issuer_name");
  }
  if (X509_set_pubkey(cert.get(), key) != 1) fail("X509_set_pubkey");
  for (const auto& [nid, value] : extensions) add_extension(cert.get(), signer, nid, value.c_str());
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) fail("X509_sign");
  return cert;
}

std::string subject_alt_names(const std::vector<std::string>& names) {
  std::string san;
  for (const std::string& name : names) {
    san += (san.empty() ? "" : ",") + std::string(is_ip(name) ? "IP:" : "DNS:") + name;
  }
  return san;
}

struct Loaded {
  Cert ca;
  Cert server;
  PKey key;
};

// The reason the files in dir cannot be reused, or nullopt when they can.
std::optional<std::string> unusable(const fs::path& dir, const std::vector<std::string>& names,
                                    std::time_t now) {
  const fs::path ca_file = dir / "ca.crt";
  const fs::path cert_file = dir / "server.crt";
  const fs::path key_file = dir / "server.key";
  std::optional<std::string> ca_pem;
  std::optional<std::string> cert_pem;
  std::optional<std::string> key_pem;
  try {
    ca_pem = core::read_file(ca_file);
    cert_pem = core::read_file(cert_file);
    key_pem = core::read_file(key_file);
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
  if (!ca_pem && !cert_pem && !key_pem) return "first start in dev mode";
  for (const auto& [pem, file] : {std::pair{&ca_pem, &ca_file}, std::pair{&cert_pem, &cert_file},
                                  std::pair{&key_pem, &key_file}}) {
    if (!*pem) return file->filename().string() + " is missing";
  }

  Loaded loaded;
  loaded.ca.reset(PEM_read_bio_X509(memory_bio(*ca_pem).get(), nullptr, nullptr, nullptr));
  loaded.server.reset(PEM_read_bio_X509(memory_bio(*cert_pem).get(), nullptr, nullptr, nullptr));
  loaded.key.reset(PEM_read_bio_PrivateKey(memory_bio(*key_pem).get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!loaded.ca) return "ca.crt is not a PEM certificate";
  if (!loaded.server) return "server.crt is not a PEM certificate";
  if (!loaded.key) return "server.key is not a PEM private key";

  struct stat st {};
  if (::stat(key_file.c_str(), &st) != 0 || (st.st_mode & 077) != 0) {
    return "server.key is readable by others than its owner";
  }
  if (X509_check_private_key(loaded.server.get(), loaded.key.get()) != 1) {
    ERR_clear_error();
    return "server.key does not belong to server.crt";
  }

  // The chain as a client checks it, now and at the end of the renewal margin.
  Store store(check(X509_STORE_new(), "X509_STORE_new"));
  if (X509_STORE_add_cert(store.get(), loaded.ca.get()) != 1) fail("X509_STORE_add_cert");
  const std::time_t horizon = now + std::chrono::seconds(kDevTlsRenewMargin).count();
  for (const std::time_t at : {now, horizon}) {
    StoreCtx ctx(check(X509_STORE_CTX_new(), "X509_STORE_CTX_new"));
    if (X509_STORE_CTX_init(ctx.get(), store.get(), loaded.server.get(), nullptr) != 1) {
      fail("X509_STORE_CTX_init");
    }
    X509_STORE_CTX_set_time(ctx.get(), 0, at);
    X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
    if (X509_verify_cert(ctx.get()) != 1) {
      ERR_clear_error();
      const int err = X509_STORE_CTX_get_error(ctx.get());
      const bool expiring = at == horizon && (err == X509_V_ERR_CERT_HAS_EXPIRED);
      return expiring ? std::string("the certificates expire within 7 days")
                      : std::string("server.crt does not verify against ca.crt: ") +
                            X509_verify_cert_error_string(err);
    }
  }
  for (const std::string& name : names) {
    const int covered =
        is_ip(name) ? X509_check_ip_asc(loaded.server.get(), name.c_str(), 0)
                    : X509_check_host(loaded.server.get(), name.c_str(), name.size(), 0, nullptr);
    if (covered != 1) return "server.crt does not cover \"" + name + "\"";
  }
  return std::nullopt;
}

Clock::time_point not_after(const fs::path& cert_file) {
  const std::optional<std::string> pem = core::read_file(cert_file);
  if (!pem) throw std::runtime_error("dev TLS: " + cert_file.string() + " disappeared");
  Cert cert(PEM_read_bio_X509(memory_bio(*pem).get(), nullptr, nullptr, nullptr));
  if (!cert) fail("reading " + cert_file.string());
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &tm) != 1) fail("ASN1_TIME_to_tm");
  return Clock::from_time_t(timegm(&tm));
}

void generate(const fs::path& dir, const std::vector<std::string>& names, std::time_t now) {
  const PKey ca_key = new_p256_key();
  const Cert ca = new_certificate("backupy dev CA (throwaway)", ca_key.get(), nullptr, ca_key.get(),
                                  kCaDays, now,
                                  {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                                   {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                   {NID_subject_key_identifier, "hash"}});
  const PKey server_key = new_p256_key();
  const Cert server =
      new_certificate(names.front(), server_key.get(), ca.get(), ca_key.get(), kServerDays, now,
                      {{NID_basic_constraints, "critical,CA:FALSE"},
                       {NID_key_usage, "critical,digitalSignature"},
                       {NID_ext_key_usage, "serverAuth"},
                       {NID_subject_alt_name, subject_alt_names(names)},
                       {NID_subject_key_identifier, "hash"},
                       {NID_authority_key_identifier, "keyid:always"}});
  core::ensure_private_dir(dir, 0700);
  // Key first, CA last: a crash in between leaves a set that fails the checks above (key and
  // certificate or certificate and CA do not match), so the next start generates again.
  core::write_file_atomically(dir / "server.key", to_pem(server_key.get()), 0600);
  core::write_file_atomically(dir / "server.crt", to_pem(server.get()), 0644);
  core::write_file_atomically(dir / "ca.crt", to_pem(ca.get()), 0644);
}

}  // namespace

std::vector<std::string> dev_tls_names(const std::string& listen_host) {
  std::vector<std::string> names = {"localhost", "127.0.0.1", "::1"};
  std::string extra = listen_host;
  if (is_wildcard(listen_host)) {
    char host[256] = {};
    extra = ::gethostname(host, sizeof host - 1) == 0 ? host : "";
  }
  // inet_pton-equal spellings ("::0:1") are rare enough to be added once more, harmlessly.
  if ((is_ip(extra) || is_dns_name(extra)) &&
      std::find(names.begin(), names.end(), extra) == names.end()) {
    names.push_back(extra);
  }
  return names;
}

DevTls ensure_dev_tls(const fs::path& dir_in, const std::string& listen_host,
                      Clock::time_point now) {
  const fs::path dir = fs::absolute(dir_in).lexically_normal();
  const std::vector<std::string> names = dev_tls_names(listen_host);
  const std::time_t now_t = Clock::to_time_t(now);
  DevTls dev;
  dev.tls.cert_file = dir / "server.crt";
  dev.tls.key_file = dir / "server.key";
  dev.ca_file = dir / "ca.crt";
  if (std::optional<std::string> reason = unusable(dir, names, now_t)) {
    generate(dir, names, now_t);
    dev.generated = true;
    dev.reason = std::move(*reason);
  }
  dev.not_after = not_after(dev.tls.cert_file);
  return dev;
}

std::string dev_tls_notice(const DevTls& dev) {
  const std::string ca = dev.ca_file.string();
  return "dev mode: agents must trust " + ca + " (BACKUPY_CA_FILE=" + ca +
         "; operator CLI: BACKUPY_CP_CA=" + ca + ")";
}

}  // namespace backupy::controlplane
