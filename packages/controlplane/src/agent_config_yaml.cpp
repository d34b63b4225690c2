#include "agent_config_yaml.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <set>
#include <utility>
#include <variant>

#include "backupy/cron/cron.hpp"
#include "backupy/wire/db_type_names.hpp"

namespace backupy::controlplane::detail {
namespace {

constexpr std::uint64_t kU32Max = std::numeric_limits<std::uint32_t>::max();

template <typename Enum, std::size_t N>
Enum parse_enum(const YamlReader& reader, const YAML::Node& map, std::string_view path,
                std::string_view key, const std::array<std::pair<std::string_view, Enum>, N>& names,
                std::optional<Enum> fallback) {
  const std::optional<std::string> text = reader.opt_string(map, path, key);
  if (!text) {
    if (fallback) return *fallback;
    reader.fail(YamlReader::line_of(map, map), join_path(path, key), "is required");
  }
  std::string expected;
  for (const auto& [name, value] : names) {
    if (name == *text) return value;
    if (!expected.empty()) expected += '|';
    expected += name;
  }
  reader.fail(map[std::string(key)], join_path(path, key),
              "must be one of " + expected + " (got \"" + *text + "\")");
}

constexpr std::array<std::pair<std::string_view, backup::v1::ConnectionStrategy>, 3> kStrategies = {
    {
        {"tcp", backup::v1::TCP},
        {"docker_exec", backup::v1::DOCKER_EXEC},
        {"unix_socket", backup::v1::UNIX_SOCKET},
    }};
constexpr std::array<std::pair<std::string_view, backup::v1::CheckType>, 3> kCheckTypes = {{
    {"http", backup::v1::HTTP},
    {"https", backup::v1::HTTPS},
    {"tcp", backup::v1::TCP_CHECK},
}};
constexpr std::array<std::pair<std::string_view, int>, 3> kCompressions = {{
    {"zstd", 0},
    {"gzip", 1},
    {"none", 2},
}};
constexpr std::array<std::pair<std::string_view, int>, 5> kLogLevels = {{
    {"trace", 0},
    {"debug", 1},
    {"info", 2},
    {"warn", 3},
    {"error", 4},
}};

// "HH:MM" with HH 00-23 and MM 00-59.
bool is_hh_mm(const std::string& text) {
  if (text.size() != 5 || text[2] != ':') return false;
  for (std::size_t i : {0u, 1u, 3u, 4u}) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  const int hours = (text[0] - '0') * 10 + (text[1] - '0');
  const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  return hours < 24 && minutes < 60;
}

void check_unique_id(const YamlReader& reader, std::set<std::string>& seen, const YAML::Node& item,
                     std::string_view item_path, const std::string& id) {
  if (!seen.insert(id).second) {
    reader.fail(item["id"], join_path(item_path, "id"), "\"" + id + "\" is used more than once");
  }
}

void parse_target(const YamlReader& reader, const YAML::Node& node, const std::string& path,
                  backup::v1::Target* target, std::vector<std::string>* passwords) {
  reader.expect_map(node, path, {"id", "type", "display_name", "connection"});
  target->set_id(reader.req_string(node, path, "id"));
  target->set_type(parse_enum(reader, node, path, "type", wire::kDbTypeNames, {}));
  target->set_display_name(reader.opt_string(node, path, "display_name").value_or(""));
  if (!YamlReader::has(node, "connection")) {
    reader.fail(YamlReader::line_of(node, node), join_path(path, "connection"), "is required");
  }
  const YAML::Node conn = node["connection"];
  const std::string conn_path = join_path(path, "connection");
  reader.expect_map(
      conn, conn_path,
      {"host", "port", "database", "username", "password", "container_id", "strategy"});
  backup::v1::ConnectionConfig* out = target->mutable_connection();
  out->set_host(reader.opt_string(conn, conn_path, "host").value_or(""));
  out->set_port(
      static_cast<std::uint32_t>(reader.opt_uint(conn, conn_path, "port", 65535).value_or(0)));
  out->set_database(reader.opt_string(conn, conn_path, "database").value_or(""));
  out->set_username(reader.opt_string(conn, conn_path, "username").value_or(""));
  // v1 servers carry the plaintext password in password_secret_ref.
  const std::string password = reader.opt_string(conn, conn_path, "password").value_or("");
  if (!password.empty()) passwords->push_back(password);
  out->set_password_secret_ref(password);
  out->set_container_id(reader.opt_string(conn, conn_path, "container_id").value_or(""));
  out->set_strategy(
      parse_enum(reader, conn, conn_path, "strategy", kStrategies, std::optional(backup::v1::TCP)));
}

void parse_job(const YamlReader& reader, const YAML::Node& node, const std::string& path,
               const std::set<std::string>& target_ids, backup::v1::BackupJobSpec* job) {
  reader.expect_map(node, path,
                    {"id", "target_id", "cron", "retention_days", "compression",
                     "encryption_enabled", "pre_hooks", "post_hooks", "retry", "timeout_sec"});
  job->set_id(reader.req_string(node, path, "id"));
  job->set_target_id(reader.req_string(node, path, "target_id"));
  if (!target_ids.contains(job->target_id())) {
    reader.fail(node["target_id"], join_path(path, "target_id"),
                "\"" + job->target_id() + "\" does not name a target of this agent");
  }
  // Empty or absent: a manual-only job (the server's schedule never fires it).
  job->set_cron(reader.opt_string(node, path, "cron").value_or(""));
  if (!job->cron().empty()) {
    auto parsed = cron::CronExpression::parse(job->cron());
    if (const std::string* error = std::get_if<std::string>(&parsed)) {
      reader.fail(node["cron"], join_path(path, "cron"),
                  "is not a valid cron expression: " + *error);
    }
  }
  job->set_retention_days(static_cast<std::uint32_t>(
      reader.opt_uint(node, path, "retention_days", kU32Max).value_or(0)));
  parse_enum(reader, node, path, "compression", kCompressions, std::optional(0));
  job->set_compression(reader.opt_string(node, path, "compression").value_or("zstd"));
  job->set_encryption_enabled(reader.opt_bool(node, path, "encryption_enabled").value_or(true));
  for (std::string& hook : reader.opt_string_list(node, path, "pre_hooks")) {
    job->add_pre_hooks(std::move(hook));
  }
  for (std::string& hook : reader.opt_string_list(node, path, "post_hooks")) {
    job->add_post_hooks(std::move(hook));
  }
  if (YamlReader::has(node, "retry")) {
    const YAML::Node retry = node["retry"];
    const std::string retry_path = join_path(path, "retry");
    reader.expect_map(retry, retry_path, {"max_attempts", "backoff_seconds"});
    backup::v1::RetryPolicy* policy = job->mutable_retry();
    policy->set_max_attempts(static_cast<std::uint32_t>(
        reader.opt_uint(retry, retry_path, "max_attempts", kU32Max).value_or(0)));
    for (std::uint64_t seconds :
         reader.opt_uint_list(retry, retry_path, "backoff_seconds", kU32Max)) {
      policy->add_backoff_seconds(static_cast<std::uint32_t>(seconds));
    }
  }
  job->set_timeout_sec(
      static_cast<std::uint32_t>(reader.opt_uint(node, path, "timeout_sec", kU32Max).value_or(0)));
}

void parse_health_check(const YamlReader& reader, const YAML::Node& node, const std::string& path,
                        backup::v1::HealthCheckSpec* check) {
  reader.expect_map(
      node, path,
      {"id", "name", "type", "target", "interval_sec", "timeout_sec", "expected_status"});
  check->set_id(reader.req_string(node, path, "id"));
  check->set_name(reader.opt_string(node, path, "name").value_or(""));
  check->set_type(parse_enum(reader, node, path, "type", kCheckTypes, {}));
  check->set_target(reader.req_string(node, path, "target"));
  check->set_interval_sec(static_cast<std::uint32_t>(
      reader.opt_uint(node, path, "interval_sec", kU32Max).value_or(60)));
  check->set_timeout_sec(
      static_cast<std::uint32_t>(reader.opt_uint(node, path, "timeout_sec", kU32Max).value_or(5)));
  const bool http = check->type() != backup::v1::TCP_CHECK;
  const std::optional<std::uint64_t> status = reader.opt_uint(node, path, "expected_status", 599);
  if (status && !http) {
    reader.fail(node["expected_status"], join_path(path, "expected_status"),
                "applies only to http and https checks");
  }
  check->set_expected_status(static_cast<std::uint32_t>(status.value_or(http ? 200 : 0)));
}

}  // namespace

backup::v1::AgentConfig parse_agent_config(const YamlReader& reader, const YAML::Node& node,
                                           std::string_view path,
                                           std::vector<std::string>* passwords) {
  backup::v1::AgentConfig config;
  reader.expect_map(node, path,
                    {"version", "targets", "jobs", "health_checks", "maintenance", "advanced"});
  config.set_version(
      reader.opt_uint(node, path, "version", std::numeric_limits<std::uint64_t>::max())
          .value_or(0));

  std::set<std::string> target_ids;
  const YAML::Node targets = reader.opt_sequence(node, path, "targets");
  const std::string targets_path = join_path(path, "targets");
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const std::string item_path = index_path(targets_path, i);
    backup::v1::Target* target = config.add_targets();
    parse_target(reader, targets[i], item_path, target, passwords);
    check_unique_id(reader, target_ids, targets[i], item_path, target->id());
  }

  std::set<std::string> job_ids;
  const YAML::Node jobs = reader.opt_sequence(node, path, "jobs");
  const std::string jobs_path = join_path(path, "jobs");
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const std::string item_path = index_path(jobs_path, i);
    backup::v1::BackupJobSpec* job = config.add_jobs();
    parse_job(reader, jobs[i], item_path, target_ids, job);
    check_unique_id(reader, job_ids, jobs[i], item_path, job->id());
  }

  std::set<std::string> check_ids;
  const YAML::Node checks = reader.opt_sequence(node, path, "health_checks");
  const std::string checks_path = join_path(path, "health_checks");
  for (std::size_t i = 0; i < checks.size(); ++i) {
    const std::string item_path = index_path(checks_path, i);
    backup::v1::HealthCheckSpec* check = config.add_health_checks();
    parse_health_check(reader, checks[i], item_path, check);
    check_unique_id(reader, check_ids, checks[i], item_path, check->id());
  }

  if (YamlReader::has(node, "maintenance")) {
    const YAML::Node window = node["maintenance"];
    const std::string window_path = join_path(path, "maintenance");
    reader.expect_map(window, window_path, {"start_utc", "end_utc"});
    for (std::string_view key : {"start_utc", "end_utc"}) {
      const std::string value = reader.req_string(window, window_path, key);
      if (!is_hh_mm(value)) {
        reader.fail(window[std::string(key)], join_path(window_path, key),
                    "must be a UTC time \"HH:MM\" (got \"" + value + "\")");
      }
    }
    config.mutable_maintenance()->set_start_utc(window["start_utc"].Scalar());
    config.mutable_maintenance()->set_end_utc(window["end_utc"].Scalar());
  }

  backup::v1::AdvancedSettings* advanced = config.mutable_advanced();
  advanced->set_max_parallel_jobs(1);
  advanced->set_log_level("info");
  advanced->set_auto_update_enabled(false);
  if (YamlReader::has(node, "advanced")) {
    const YAML::Node adv = node["advanced"];
    const std::string adv_path = join_path(path, "advanced");
    reader.expect_map(adv, adv_path, {"max_parallel_jobs", "log_level", "auto_update_enabled"});
    advanced->set_max_parallel_jobs(static_cast<std::uint32_t>(
        reader.opt_uint(adv, adv_path, "max_parallel_jobs", 64, 1).value_or(1)));
    parse_enum(reader, adv, adv_path, "log_level", kLogLevels, std::optional(2));
    advanced->set_log_level(reader.opt_string(adv, adv_path, "log_level").value_or("info"));
    advanced->set_auto_update_enabled(
        reader.opt_bool(adv, adv_path, "auto_update_enabled").value_or(false));
  }
  return config;
}

}  // namespace backupy::controlplane::detail
