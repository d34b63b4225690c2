#include "operator_client.hpp"

#include <cctype>
#include <cstdlib>
#include <fstream>

#include "backupy/core/percent.hpp"
#include "backupy/upload/https_request.hpp"

namespace backupy::cpcli {
namespace {

using nlohmann::json;
using Failure = upload::HttpsResponse::Failure;

std::string trim(std::string text) {
  const std::string_view blanks = " \t\r\n";
  const std::size_t first = text.find_first_not_of(blanks);
  if (first == std::string::npos) return {};
  return text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

std::string read_token_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw CommandError("cannot read the admin token file " + file);
  std::string line;
  std::getline(in, line);
  std::string token = trim(std::move(line));
  if (token.empty()) throw CommandError("the admin token file " + file + " is empty");
  return token;
}

}  // namespace

std::optional<std::string> process_env(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

ClientSettings client_settings(const ParsedArgs& args, const Env& env) {
  ClientSettings settings;
  settings.base_url =
      args.value("--url").value_or(env("BACKUPY_CP_URL").value_or(std::string(kDefaultUrl)));
  while (settings.base_url.ends_with('/')) settings.base_url.pop_back();
  settings.ca_file = args.value("--ca");
  if (!settings.ca_file) settings.ca_file = env("BACKUPY_CP_CA");
  // An explicit file wins over the environment.
  if (const auto file = args.value("--token-file")) {
    settings.admin_token = read_token_file(*file);
  } else if (const auto token = env("BACKUPY_ADMIN_TOKEN")) {
    settings.admin_token = trim(*token);
  }
  if (settings.admin_token.empty()) {
    throw UsageError("no admin token: set BACKUPY_ADMIN_TOKEN or pass --token-file FILE");
  }
  return settings;
}

json OperatorClient::call(const std::string& method, const std::string& path,
                          const std::string& body,
                          std::vector<std::pair<std::string, std::string>> headers) const {
  upload::HttpsRequest request;
  request.method = method;
  request.url = settings_.base_url + path;
  request.headers = std::move(headers);
  request.headers.emplace_back("Authorization", "Bearer " + settings_.admin_token);
  request.headers.emplace_back("Accept", "application/json");
  request.body = body;
  upload::HttpsOptions options;
  options.ca_file = settings_.ca_file;
  const upload::HttpsResponse response = upload::https_request(request, options);

  const std::string& where = settings_.base_url;
  switch (response.failure) {
    case Failure::none: break;
    case Failure::bad_url: throw CommandError(response.error + " (check --url / BACKUPY_CP_URL)");
    case Failure::connect_refused:
      throw CommandError("cannot reach the control plane at " + where + ": connection refused " +
                         "(is it running? check --url / BACKUPY_CP_URL)");
    case Failure::tls_verify:
      throw CommandError("cannot reach the control plane at " + where + ": " + response.error +
                         "; pass the CA that signed its certificate with --ca or BACKUPY_CP_CA");
    default:
      throw CommandError("cannot reach the control plane at " + where + ": " + response.error);
  }
  const json answer = json::parse(response.body, nullptr, false);
  if (response.status == 401) {
    throw CommandError("admin token rejected (HTTP 401): check BACKUPY_ADMIN_TOKEN or " +
                       std::string("--token-file against admin.token_sha256 of the control plane"));
  }
  if (response.status / 100 != 2) {
    const std::string text =
        answer.is_object() && answer.contains("error") && answer["error"].is_string()
            ? answer["error"].get<std::string>()
            : "unexpected answer to " + method + " " + path;
    throw CommandError(text + " (HTTP " + std::to_string(response.status) + ")");
  }
  if (answer.is_discarded()) {
    throw CommandError("the control plane at " + where + " answered " + method + " " + path +
                       " with something that is not JSON");
  }
  return answer;
}

}  // namespace backupy::cpcli
