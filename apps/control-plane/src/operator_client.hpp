#pragma once
// The operator CLI's view of the control plane: where it is, which CA to trust, the admin
// token, and JSON calls to its API with errors an operator can act on.
//
// The admin token comes only from the environment (BACKUPY_ADMIN_TOKEN) or a file
// (--token-file): never from argv, which every local user can read. It is sent only in the
// Authorization header and never printed.
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli_args.hpp"

namespace backupy::cpcli {

inline constexpr std::string_view kDefaultUrl = "https://127.0.0.1:8443";

using Env = std::function<std::optional<std::string>(std::string_view name)>;

// The process environment (std::getenv).
std::optional<std::string> process_env(std::string_view name);

struct ClientSettings {
  std::string base_url;                // without a trailing slash
  std::optional<std::string> ca_file;  // --ca, else BACKUPY_CP_CA
  std::string admin_token;             // BACKUPY_ADMIN_TOKEN, else --token-file
};

// From --url/--ca/--token-file and the environment; throws UsageError when no token is set
// and CommandError when the token file cannot be read or is empty.
ClientSettings client_settings(const ParsedArgs& args, const Env& env);

class OperatorClient {
 public:
  explicit OperatorClient(ClientSettings settings) : settings_(std::move(settings)) {}

  // Calls the API and returns its JSON answer when the status is 2xx. Throws CommandError:
  // "cannot reach the control plane at URL: <why>" (connection refused, certificate verify
  // failed with a hint at --ca, ...), "admin token rejected (HTTP 401) ...", or the server's
  // own error text with the status (e.g. "run run-x not found (HTTP 404)").
  nlohmann::json call(const std::string& method, const std::string& path,
                      const std::string& body = "",
                      std::vector<std::pair<std::string, std::string>> headers = {}) const;

  const ClientSettings& settings() const { return settings_; }

 private:
  ClientSettings settings_;
};

}  // namespace backupy::cpcli
