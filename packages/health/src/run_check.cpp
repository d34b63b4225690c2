#include "backupy/health/run_check.hpp"

#include <algorithm>

#include "backupy/core/redactor.hpp"
#include "backupy/upload/https_request.hpp"
#include "tcp_connect.hpp"

namespace backupy::health {

std::chrono::seconds effective_timeout(const backup::v1::HealthCheckSpec& spec,
                                       const CheckOptions& options) {
  std::chrono::seconds timeout =
      spec.timeout_sec() > 0 ? std::chrono::seconds(spec.timeout_sec()) : options.default_timeout;
  if (spec.interval_sec() > 0)
    timeout = std::min(timeout, std::chrono::seconds(spec.interval_sec()));
  return std::max(timeout, std::chrono::seconds(1));
}

namespace {

// Removes every copy of the target's userinfo ("user:pass@") and query from a text: the
// transport's errors drop the query but echo a URL with credentials as it was given.
std::string without_url_secrets(std::string text, const std::string& url) {
  auto erase_all = [&text](const std::string& part) {
    if (part.empty()) return;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at)) {
      text.erase(at, part.size());
    }
  };
  const auto scheme_end = url.find("://");
  if (scheme_end != std::string::npos) {
    const auto host_start = scheme_end + 3;
    const auto authority_end = url.find_first_of("/?#", host_start);
    const auto at = url.rfind('@', authority_end == std::string::npos ? url.size() : authority_end);
    if (at != std::string::npos && at >= host_start) {
      erase_all(url.substr(host_start, at + 1 - host_start));
    }
  }
  if (const auto query = url.find('?'); query != std::string::npos) erase_all(url.substr(query));
  return text;
}

bool status_ok(const backup::v1::HealthCheckSpec& spec, int status) {
  if (spec.expected_status() != 0) return status == static_cast<int>(spec.expected_status());
  return status >= 200 && status < 400;
}

void http_check(const backup::v1::HealthCheckSpec& spec, std::chrono::seconds timeout,
                const CheckOptions& options, backup::v1::HealthCheckResult& result) {
  upload::HttpsRequest request;
  request.url = spec.target();
  upload::HttpsOptions http;
  http.ca_file = options.ca_file;
  http.connect_timeout = timeout;
  http.idle_timeout = timeout;
  http.max_body_bytes = 1024 * 1024;  // a health page, not a download
  upload::HttpsResponse response = upload::https_request(request, http);
  if (response.failure == upload::HttpsResponse::Failure::timeout) {
    result.set_error("timed out after " + std::to_string(timeout.count()) +
                     " s: " + response.error);
    return;
  }
  if (!response.ok()) {
    result.set_error(response.error);
    return;
  }
  result.set_status_code(static_cast<std::uint32_t>(response.status));
  if (status_ok(spec, response.status)) {
    result.set_ok(true);
  } else if (spec.expected_status() != 0) {
    result.set_error("HTTP " + std::to_string(response.status) + ", expected " +
                     std::to_string(spec.expected_status()));
  } else {
    result.set_error("HTTP " + std::to_string(response.status) + ", expected 2xx or 3xx");
  }
}

}  // namespace

backup::v1::HealthCheckResult run_check(const backup::v1::HealthCheckSpec& spec,
                                        const CheckOptions& options, std::stop_token stop) {
  backup::v1::HealthCheckResult result;
  result.set_check_id(spec.id());
  result.set_ts_ms(static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(options.now().time_since_epoch())
          .count()));
  const auto timeout = effective_timeout(spec, options);
  const auto started = std::chrono::steady_clock::now();
  switch (spec.type()) {
    case backup::v1::HTTP:
    case backup::v1::HTTPS: http_check(spec, timeout, options, result); break;
    case backup::v1::TCP_CHECK: {
      std::string error = detail::tcp_connect(spec.target(), timeout, stop);
      if (error.empty()) {
        result.set_ok(true);
      } else {
        result.set_error(error);
      }
      break;
    }
    default: result.set_error("unknown check type " + std::to_string(spec.type())); break;
  }
  result.set_latency_ms(
      static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - started)
                                     .count()));
  if (!result.error().empty()) {
    result.set_error(core::redact(without_url_secrets(result.error(), spec.target())));
  }
  return result;
}

}  // namespace backupy::health
