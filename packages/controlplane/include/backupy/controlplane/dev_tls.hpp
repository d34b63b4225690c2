#pragma once
// `serve --dev`: a throwaway CA and a server certificate signed by it, so that the control plane
// can be tried out without a PKI of the operator's own. Production uses real certificates
// (the YAML's `tls:` section); see docs/operations.md.
//
// Files, in the directory given (the CLI uses `<YAML dir>/dev-tls/`):
//   ca.crt      the CA certificate agents trust (BACKUPY_CA_FILE) and the operator CLI (--ca)
//   server.crt  the listener's certificate, signed by the CA
//   server.key  its private key (0600)
// The CA's private key is never written: it lives in memory while server.crt is signed, so
// trusting ca.crt trusts this one server certificate and nothing anyone could sign later.
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "backupy/controlplane/server_config.hpp"

namespace backupy::controlplane {

// Certificates are replaced when they would expire within this margin.
inline constexpr std::chrono::hours kDevTlsRenewMargin{24 * 7};

struct DevTls {
  TlsFiles tls;                   // dir/server.crt, dir/server.key (absolute)
  std::filesystem::path ca_file;  // dir/ca.crt (absolute)
  bool generated = false;         // false: the files of an earlier start were reused
  std::string reason;             // why they were generated (empty when reused)
  std::chrono::system_clock::time_point not_after;  // server.crt's expiry
};

// The names the server certificate covers: localhost, 127.0.0.1 and ::1, plus listen_host when
// it is another address, or this machine's host name when listen_host is a wildcard (0.0.0.0,
// ::), since agents elsewhere then dial the host by name.
std::vector<std::string> dev_tls_names(const std::string& listen_host);

// Reuses dir/{ca.crt,server.crt,server.key} when they parse, belong together (server.crt signed
// by ca.crt, server.key its key, 0600), cover dev_tls_names(listen_host) and stay valid until
// now + kDevTlsRenewMargin; otherwise generates all three anew (EC P-256: a 10-year CA, a
// 1-year serverAuth certificate) and writes each atomically. Throws std::runtime_error naming
// the step or file that failed.
DevTls ensure_dev_tls(const std::filesystem::path& dir, const std::string& listen_host,
                      std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// The one line `serve --dev` prints for the operator: which CA file agents must trust.
std::string dev_tls_notice(const DevTls& dev);

}  // namespace backupy::controlplane
