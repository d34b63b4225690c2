// Client TLS set-up shared by the control channel and uploads (see detail/tls_client.hpp).
#include "backupy/net/detail/tls_client.hpp"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <unistd.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <cerrno>
#include <system_error>

namespace backupy::net::detail {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using boost::system::error_code;

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

std::string configure_tls_client(ssl::context& ctx, const std::optional<std::string>& ca_file) {
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  ctx.set_verify_mode(ssl::verify_peer);
  error_code ec;
  // A host without a system store can still work with ca_file; the handshake
  // reports the verification error if neither has the issuer.
  ctx.set_default_verify_paths(ec);
  if (!ca_file) return {};
  // OpenSSL's own text for a missing file is vague; the OS says exactly why.
  if (const int fd = ::open(ca_file->c_str(), O_RDONLY | O_CLOEXEC); fd < 0) {
    return "cannot load CA file " + *ca_file + ": " + std::generic_category().message(errno);
  } else {
    ::close(fd);
  }
  ctx.load_verify_file(*ca_file, ec);
  if (ec) return "cannot load CA file " + *ca_file + ": " + ec.message();
  return {};
}

void prepare_tls_client(TlsStream& tls, const std::string& host) {
  const bool ip = is_ip_literal(host);
  // SNI is for names only (RFC 6066).
  if (!ip) SSL_set_tlsext_host_name(tls.native_handle(), host.c_str());
  tls.set_verify_callback(
      [check = ssl::host_name_verification(host), ip](bool preverified, ssl::verify_context& ctx) {
        if (check(preverified, ctx)) return true;
        // host_name_verification refuses a mismatch without recording why,
        // which would leave the verify result at "ok"; name the reason so
        // the handshake error can report it.
        if (preverified) {
          X509_STORE_CTX_set_error(ctx.native_handle(), ip ? X509_V_ERR_IP_ADDRESS_MISMATCH
                                                           : X509_V_ERR_HOSTNAME_MISMATCH);
        }
        return false;
      });
}

bool tls_verify_failed(TlsStream& tls) {
  return SSL_get_verify_result(tls.native_handle()) != X509_V_OK;
}

std::string tls_failure_detail(const error_code& ec, TlsStream& tls) {
  // Set by our verify callback too, for host name and IP mismatches.
  if (const long verify = SSL_get_verify_result(tls.native_handle()); verify != X509_V_OK) {
    return std::string("certificate verify failed (") + X509_verify_cert_error_string(verify) + ")";
  }
  if (ec == ssl::error::stream_truncated || ec == asio::error::eof) {
    return "the server closed the connection mid-handshake (is this a TLS port?)";
  }
  if (ec.category() == asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_WRONG_VERSION_NUMBER) {
    return "wrong version number (is the server speaking TLS on this port?)";
  }
  return {};
}

}  // namespace backupy::net::detail
