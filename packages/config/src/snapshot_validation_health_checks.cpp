// Rules for HealthCheckSpec: the target must suit the check type, and the
// timing must make sense.
#include "snapshot_validation_formats.hpp"
#include "snapshot_validation_rules.hpp"

namespace backupy::config::detail {
namespace {

// The target's syntax for a known check type; target is non-empty.
void check_target_syntax(const backup::v1::HealthCheckSpec& check, const std::string& prefix,
                         Report& report) {
  const std::string& target = check.target();
  const std::string shown = report.quote(without_userinfo(target));
  switch (check.type()) {
    case backup::v1::HTTP:
      // A plain-HTTP check may still be pointed at an https:// URL.
      if (!has_scheme(target, "http://") && !has_scheme(target, "https://")) {
        report.add(prefix + "http target " + shown + " must start with http:// or https://");
      } else if (!has_host_after_scheme(target)) {
        report.add(prefix + "http target " + shown + " has no host");
      }
      break;
    case backup::v1::HTTPS:
      if (!has_scheme(target, "https://")) {
        report.add(prefix + "https target " + shown + " must start with https://");
      } else if (!has_host_after_scheme(target)) {
        report.add(prefix + "https target " + shown + " has no host");
      }
      break;
    case backup::v1::TCP_CHECK:
      switch (check_host_port(target)) {
        case EndpointProblem::none: break;
        case EndpointProblem::not_host_port:
          report.add(prefix + "tcp target " + shown + " is not host:port");
          break;
        case EndpointProblem::unbracketed_ipv6:
          report.add(prefix + "tcp target " + shown +
                     " is not host:port (write ipv6 addresses as [::1]:5432)");
          break;
        case EndpointProblem::bad_port:
          report.add(prefix + "tcp target " + shown + " has a port outside 1-65535");
          break;
      }
      break;
    default: break;  // unknown types are reported by the caller
  }
}

}  // namespace

void check_health_check(const backup::v1::HealthCheckSpec& check, std::string_view label,
                        Report& report) {
  const std::string prefix = std::string(label) + ": ";

  const bool known_type = backup::v1::CheckType_IsValid(check.type());
  if (!known_type) report.add(prefix + "unknown type " + std::to_string(check.type()));
  if (check.target().empty()) {
    report.add(prefix + "target is empty");
  } else if (known_type) {
    check_target_syntax(check, prefix, report);
  }

  // Zero means "use the default" for both, so only compare when both are set.
  if (check.interval_sec() != 0 && check.timeout_sec() != 0 &&
      check.timeout_sec() > check.interval_sec()) {
    report.add(prefix + "timeout_sec " + std::to_string(check.timeout_sec()) +
               " is above interval_sec " + std::to_string(check.interval_sec()));
  }

  const std::uint32_t status = check.expected_status();
  if (status != 0 && (status < 100 || status > 599)) {
    report.add(prefix + "expected_status " + std::to_string(status) + " is not 0 or 100-599");
  }
}

}  // namespace backupy::config::detail
