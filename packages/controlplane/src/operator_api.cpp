#include "operator_api.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <variant>
#include <vector>

#include "backupy/controlplane/agent_registry.hpp"
#include "backupy/core/percent.hpp"
#include "backupy/core/time.hpp"
#include "backupy/upload/https_request.hpp"
#include "decryption_token.hpp"
#include "run_dispatcher.hpp"
#include "self_update_body.hpp"

namespace backupy::controlplane::detail {
namespace {

using nlohmann::json;
using Envelope = backup::v1::Envelope;

constexpr std::string_view kPrefix = "/v1/";
constexpr std::string_view kAgentConnectPath = "/v1/agents/connect";
constexpr std::size_t kMaxIdempotencyKey = 255;
constexpr std::size_t kMaxRunsLimit = 1000;

// Agents may report arbitrary bytes (error messages): never let a bad UTF-8 byte throw.
std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

ApiResponse reply(unsigned status, const json& body) {
  return {status, dump(body)};
}

ApiResponse error(unsigned status, const std::string& message) {
  return reply(status, {{"error", message}});
}

bool authorized(const ApiRequest& request, const ServerConfig& config) {
  if (!request.authorization) return false;
  const std::optional<std::string_view> token = bearer_token(*request.authorization);
  if (!token) return false;
  // Only hashes are configured; compare every one in constant time, like agent keys.
  const std::string hash = hash_agent_key(*token);
  bool match = false;
  for (const std::string& allowed : config.admin_token_sha256) {
    match |= allowed.size() == hash.size() &&
             CRYPTO_memcmp(allowed.data(), hash.data(), hash.size()) == 0;
  }
  return match;
}

// "/v1/a/b/c" -> {"a", "b", "c"} (percent-decoded); nullopt on an empty or undecodable segment.
std::optional<std::vector<std::string>> segments(std::string_view path) {
  path.remove_prefix(kPrefix.size());
  std::vector<std::string> out;
  while (true) {
    const std::size_t slash = path.find('/');
    std::optional<std::string> segment = core::percent_decode(path.substr(0, slash));
    if (!segment || segment->empty()) return std::nullopt;
    out.push_back(std::move(*segment));
    if (slash == std::string_view::npos) return out;
    path.remove_prefix(slash + 1);
  }
}

// delivered: RunBackup went out; false while the run waits for its agent to connect.
json run_accepted(const RunRecord& run) {
  return {{"run_id", run.run_id},
          {"agent_id", run.agent_id},
          {"job_id", run.job_id},
          {"s3_key", run.s3_key},
          {"status", to_string(run.status)},
          {"trigger", to_string(run.trigger)},
          {"delivered", run.sent_ms != 0}};
}

json run_view(const RunRecord& run) {
  return {
      {"run_id", run.run_id},
      {"job_id", run.job_id},
      {"agent_id", run.agent_id},
      {"status", to_string(run.status)},
      {"current_step", run.current_step},
      {"progress_percent", run.progress_percent},
      {"error", run.error},
      {"s3_key", run.s3_key},
      {"size_bytes", run.size_bytes},
      {"sha256", run.sha256},
      {"compression", run.compression},
      {"db_engine_version", run.db_engine_version},
      {"updates", run.updates},
      {"trigger", to_string(run.trigger)},
      {"catch_up", run.catch_up},
      {"scheduled_for",
       run.scheduled_for_ms == 0 ? json(nullptr) : json(core::iso8601_utc(run.scheduled_for_ms))},
      {"delivered", run.sent_ms != 0}};
}

// RFC 3339 UTC, or null for "never".
json timestamp(std::uint64_t epoch_ms) {
  return epoch_ms == 0 ? json(nullptr) : json(core::iso8601_utc(epoch_ms));
}

template <typename T>
json optional_value(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

json run_list_entry(const RunRecord& run) {
  json entry = run_view(run);
  entry["created_at"] = timestamp(run.created_ms);
  entry["sent_at"] = timestamp(run.sent_ms);
  entry["finished_at"] = timestamp(run.finished_ms);
  return entry;
}

// One agent of GET /v1/agents. state: "connected" (a registered live session),
// "disconnected" (registered earlier, in this process or one the catalog remembers) or "never".
json agent_view(const AgentEntry& agent, const AgentStatus* status, bool online) {
  const char* state = online ? "connected" : status != nullptr ? "disconnected" : "never";
  json view = {{"agent_id", agent.id},
               {"state", state},
               {"configured_config_version", agent.config.version()},
               {"connected_since", nullptr},
               {"disconnected_at", nullptr},
               {"last_heartbeat", nullptr},
               {"config_version_sent", nullptr},
               {"config_version_acked", nullptr},
               {"metrics", nullptr},
               {"agent_version", nullptr},
               {"hostname", nullptr}};
  if (status == nullptr) return view;
  view["connected_since"] = timestamp(status->connected_since_ms);
  if (!status->connected) view["disconnected_at"] = timestamp(status->disconnected_at_ms);
  view["last_heartbeat"] = timestamp(status->last_heartbeat_ms);
  view["config_version_sent"] = optional_value(status->config_version_sent);
  view["config_version_acked"] = optional_value(status->config_version_acked);
  if (status->metrics) {
    const backup::v1::AgentMetrics& m = *status->metrics;
    view["metrics"] = {
        {"cpu_percent", m.cpu_percent()},           {"mem_used_bytes", m.mem_used_bytes()},
        {"mem_total_bytes", m.mem_total_bytes()},   {"disk_used_bytes", m.disk_used_bytes()},
        {"disk_total_bytes", m.disk_total_bytes()}, {"queue_depth", m.queue_depth()}};
  }
  view["agent_version"] = status->agent_version;
  view["hostname"] = status->hostname;
  return view;
}

// "agent=a&limit=5" -> a RunFilter, or a 400 answer naming the bad parameter.
std::variant<RunFilter, ApiResponse> parse_run_filter(std::string_view query) {
  RunFilter filter;
  std::vector<std::string> seen;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    const std::optional<std::string> name = core::percent_decode(pair.substr(0, eq));
    const std::optional<std::string> value = core::percent_decode(
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!name || !value) return error(400, "malformed query string");
    if (std::find(seen.begin(), seen.end(), *name) != seen.end()) {
      return error(400, "filter " + *name + " given twice");
    }
    seen.push_back(*name);
    if (*name != "agent" && *name != "job" && *name != "status" && *name != "limit") {
      return error(400, "unknown filter " + *name + " (expected agent, job, status, limit)");
    }
    if (value->empty()) return error(400, "filter " + *name + " must not be empty");
    if (*name == "agent") {
      filter.agent_id = *value;
    } else if (*name == "job") {
      filter.job_id = *value;
    } else if (*name == "status") {
      filter.status = parse_run_status(*value);
      if (!filter.status) {
        return error(400, "status must be one of queued, running, success, failed, cancelled");
      }
    } else {
      const std::string range =
          "limit must be an integer between 1 and " + std::to_string(kMaxRunsLimit);
      if (value->size() > 4 || value->find_first_not_of("0123456789") != std::string::npos) {
        return error(400, range);
      }
      filter.limit = std::stoul(*value);
      if (filter.limit < 1 || filter.limit > kMaxRunsLimit) return error(400, range);
    }
  }
  return filter;
}

class Handler {
 public:
  Handler(const ApiRequest& request, ApiContext& context) : request_(request), ctx_(context) {}

  ApiResponse route(std::string_view path) {
    const std::optional<std::vector<std::string>> parts = segments(path);
    if (!parts) return error(404, "not found");
    const std::vector<std::string>& p = *parts;
    if (p.size() == 1 && p[0] == "agents") return get(&Handler::list_agents);
    if (p.size() == 1 && p[0] == "runs") return get(&Handler::list_runs);
    if (p.size() == 2 && p[0] == "config" && p[1] == "reload") {
      return post(&Handler::reload_config);
    }
    if (p.size() == 2 && p[0] == "retention" && p[1] == "sweep") {
      return post(&Handler::sweep_retention);
    }
    if (p.size() == 3 && p[0] == "jobs" && p[2] == "run") return post(&Handler::run_job, p[1]);
    if (p.size() == 3 && p[0] == "jobs" && p[2] == "cancel") return post(&Handler::cancel, p[1]);
    if (p.size() == 3 && p[0] == "agents" && p[2] == "self-update") {
      if (request_.method == "POST") return request_self_update(p[1]);
      if (request_.method == "GET") return self_update_requests(p[1]);
      return error(405, "method not allowed");
    }
    if (p.size() == 2 && p[0] == "runs") return get(&Handler::show_run, p[1]);
    if (p.size() == 3 && p[0] == "runs") {
      if (p[2] == "resend") return post(&Handler::resend, p[1]);
      if (p[2] == "decryption-token") return post(&Handler::decryption_token, p[1]);
      if (p[2] == "download-url") return get(&Handler::download_url, p[1]);
    }
    return error(404, "not found");
  }

 private:
  using Method = ApiResponse (Handler::*)(const std::string&);
  using Action = ApiResponse (Handler::*)();  // a route without an id

  ApiResponse post(Action action) {
    if (request_.method != "POST") return error(405, "method not allowed");
    return (this->*action)();
  }
  ApiResponse get(Action action) {
    if (request_.method != "GET") return error(405, "method not allowed");
    return (this->*action)();
  }

  ApiResponse post(Method method, const std::string& id) {
    if (request_.method != "POST") return error(405, "method not allowed");
    return (this->*method)(id);
  }
  ApiResponse get(Method method, const std::string& id) {
    if (request_.method != "GET") return error(405, "method not allowed");
    return (this->*method)(id);
  }

  // ------------------------------------------------------------------- jobs --

  RunDispatcher dispatcher() const {
    return RunDispatcher(ctx_.config, ctx_.runs, ctx_.agents, ctx_.store, ctx_.now_ms, ctx_.log);
  }

  static ApiResponse refused(const RunRefusal& refusal) {
    json body = {{"error", refusal.reason}};
    if (!refusal.active_run_id.empty()) body["active_run_id"] = refusal.active_run_id;
    return reply(refusal.http_status, body);
  }

  // The body of POST /v1/jobs/{id}/run: empty, or {"allow_concurrent": bool}.
  std::variant<bool, ApiResponse> parse_run_options() const {
    if (request_.body.find_first_not_of(" \t\r\n") == std::string::npos) return false;
    const json body = json::parse(request_.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return error(400, "body must be a JSON object");
    bool allow_concurrent = false;
    for (const auto& [name, value] : body.items()) {
      if (name != "allow_concurrent") {
        return error(400, "unknown field " + name + " (expected allow_concurrent)");
      }
      if (!value.is_boolean()) return error(400, "allow_concurrent must be true or false");
      allow_concurrent = value.get<bool>();
    }
    return allow_concurrent;
  }

  ApiResponse run_job(const std::string& job_id) {
    const auto options = parse_run_options();
    if (const auto* answer = std::get_if<ApiResponse>(&options)) return *answer;
    if (request_.idempotency_key) {
      const std::string& key = *request_.idempotency_key;
      if (key.empty() || key.size() > kMaxIdempotencyKey) {
        return error(400, "Idempotency-Key must be 1-255 characters");
      }
      if (const RunRecord* earlier = ctx_.runs.find_by_idempotency_key(key)) {
        if (earlier->job_id != job_id) {
          return error(422, "Idempotency-Key was already used for job " + earlier->job_id);
        }
        return reply(202, run_accepted(*earlier));
      }
    }
    const RunRequestResult result =
        dispatcher().request_run(job_id, RunTrigger::manual, std::get<bool>(options));
    if (const auto* refusal = std::get_if<RunRefusal>(&result)) return refused(*refusal);
    const RunRecord& run = *std::get<RunAccepted>(result).run;
    if (request_.idempotency_key) {
      ctx_.runs.remember_idempotency_key(*request_.idempotency_key, run.run_id);
    }
    return reply(202, run_accepted(run));
  }

  ApiResponse cancel(const std::string& job_id) {
    const auto agent = dispatcher().agent_for_job(job_id);
    if (const auto* refusal = std::get_if<RunRefusal>(&agent)) return refused(*refusal);
    const std::string& agent_id = std::get<const AgentEntry*>(agent)->id;
    // Runs that still wait for the agent are withdrawn here: the agent never hears of them.
    std::size_t withdrawn = 0;
    for (RunRecord* run : ctx_.runs.undelivered(agent_id)) {
      if (run->job_id != job_id) continue;
      ctx_.runs.withdraw(*run, "cancelled by an operator before it reached the agent", ctx_.now_ms);
      ++withdrawn;
      ctx_.log.info("run_withdrawn", {{"event", "run_withdrawn"},
                                      {"run_id", run->run_id},
                                      {"job_id", job_id},
                                      {"agent_id", agent_id},
                                      {"remote", request_.remote}});
    }
    Envelope envelope;
    envelope.mutable_cancel_job()->set_job_id(job_id);
    const std::optional<std::string> correlation =
        ctx_.agents.send(agent_id, "cancel", std::move(envelope));
    if (!correlation && withdrawn == 0) return error(409, "agent " + agent_id + " is offline");
    if (correlation) {
      ctx_.log.info("cancel_sent", {{"event", "cancel_sent"},
                                    {"job_id", job_id},
                                    {"agent_id", agent_id},
                                    {"correlation_id", *correlation}});
    }
    return reply(202, {{"job_id", job_id},
                       {"agent_id", agent_id},
                       {"withdrawn_runs", withdrawn},
                       {"cancel_sent", correlation.has_value()}});
  }

  // ------------------------------------------------------------------- runs --

  ApiResponse show_run(const std::string& run_id) {
    const RunRecord* run = ctx_.runs.find(run_id);
    if (run == nullptr) return error(404, "run " + run_id + " not found");
    return reply(200, run_view(*run));
  }

  ApiResponse resend(const std::string& run_id) {
    RunRecord* run = ctx_.runs.find(run_id);
    if (run == nullptr) return error(404, "run " + run_id + " not found");
    // Fresh credentials serve an upload that is still to come; a stored backup must not be
    // overwritten.
    if (run->status == RunStatus::success) {
      return error(409, "run " + run_id + " already succeeded");
    }
    if (run->completed && !is_finished(run->status)) {
      return error(409, "run " + run_id + " has stored its object (being verified)");
    }
    if (ctx_.store == nullptr) return error(503, "storage is not configured");
    if (!ctx_.agents.online(run->agent_id) || !dispatcher().send(*run, true)) {
      return error(409, "agent " + run->agent_id + " is offline");
    }
    return reply(202, run_accepted(*run));
  }

  ApiResponse decryption_token(const std::string& run_id) {
    const RunRecord* run = ctx_.runs.find(run_id);
    if (run == nullptr) return error(404, "run " + run_id + " not found");
    if (!run->dek_known) {
      // An adopted run whose wrapped DEK has not arrived (or did not open): no key to give.
      return error(
          409, "run " + run_id + " has no data key: its agent has not sent a usable wrapped key");
    }
    std::uint32_t ttl = kDefaultTokenTtlSec;
    if (request_.body.find_first_not_of(" \t\r\n") != std::string::npos) {
      const json body = json::parse(request_.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) {
        return error(400, "body must be a JSON object");
      }
      for (const auto& [name, value] : body.items()) {
        if (name != "ttl_sec") return error(400, "unknown field " + name + " (expected ttl_sec)");
        if (!value.is_number_integer() || value.get<std::int64_t>() < 1 ||
            value.get<std::int64_t>() > kMaxTokenTtlSec) {
          return error(
              400, "ttl_sec must be an integer between 1 and " + std::to_string(kMaxTokenTtlSec));
        }
        ttl = static_cast<std::uint32_t>(value.get<std::int64_t>());
      }
    }
    const auto now_sec = static_cast<std::int64_t>(ctx_.now_ms / 1000);
    std::string token = issue_decryption_token(*run, ctx_.signing_key, now_sec, ttl);
    // An audit trail of who could decrypt what; never the token.
    ctx_.log.info("decryption_token_issued", {{"event", "decryption_token_issued"},
                                              {"run_id", run->run_id},
                                              {"agent_id", run->agent_id},
                                              {"expires_at", now_sec + ttl},
                                              {"remote", request_.remote}});
    return reply(200, {{"token", std::move(token)}});
  }

  ApiResponse download_url(const std::string& run_id) {
    const RunRecord* run = ctx_.runs.find(run_id);
    if (run == nullptr) return error(404, "run " + run_id + " not found");
    if (ctx_.store == nullptr) return error(503, "storage is not configured");
    const PresignedUrl get = ctx_.store->presign_get(run->s3_key, ctx_.now_ms);
    ctx_.log.info("download_url_issued", {{"event", "download_url_issued"},
                                          {"run_id", run->run_id},
                                          {"s3_key", run->s3_key},
                                          {"expires_at_ms", get.expires_at_ms},
                                          {"remote", request_.remote}});
    return reply(200, {{"url", get.url}, {"expires_at_ms", get.expires_at_ms}});
  }

  // ------------------------------------------------------------ self-update --

  bool configured(const std::string& agent_id) const {
    return std::any_of(ctx_.config.agents.begin(), ctx_.config.agents.end(),
                       [&](const AgentEntry& agent) { return agent.id == agent_id; });
  }

  ApiResponse request_self_update(const std::string& agent_id) {
    if (ctx_.self_updates == nullptr) return error(500, "self-update is not available");
    if (!configured(agent_id)) return error(404, "agent " + agent_id + " not found");
    auto parsed = parse_self_update_body(request_.body);
    if (const auto* refused = std::get_if<SelfUpdateBodyError>(&parsed)) {
      return error(400, refused->reason);
    }
    backup::v1::SelfUpdate& update = std::get<backup::v1::SelfUpdate>(parsed);
    SelfUpdateRequest record{.target_version = update.target_version(),
                             .binary_url = upload::display_url(update.binary_url()),
                             .force = update.force(),
                             .sent_ms = ctx_.now_ms};
    Envelope envelope;
    *envelope.mutable_self_update() = std::move(update);
    const std::optional<std::string> correlation =
        ctx_.agents.send(agent_id, "self-update", std::move(envelope));
    if (!correlation) return error(409, "agent " + agent_id + " is offline");
    record.correlation_id = *correlation;
    // An audit trail of who asked which agent to run what; the URL without its query (a
    // presigned URL's signature).
    ctx_.log.info("self_update_sent", {{"event", "self_update_sent"},
                                       {"agent_id", agent_id},
                                       {"correlation_id", record.correlation_id},
                                       {"target_version", record.target_version},
                                       {"binary_url", record.binary_url},
                                       {"force", record.force},
                                       {"remote", request_.remote}});
    json answer = {{"agent_id", agent_id},
                   {"correlation_id", record.correlation_id},
                   {"target_version", record.target_version}};
    ctx_.self_updates->record(agent_id, std::move(record));
    return reply(202, answer);
  }

  ApiResponse self_update_requests(const std::string& agent_id) {
    if (ctx_.self_updates == nullptr) return error(500, "self-update is not available");
    if (!configured(agent_id)) return error(404, "agent " + agent_id + " not found");
    json requests = json::array();
    for (const SelfUpdateRequest& request : ctx_.self_updates->of(agent_id)) {
      requests.push_back(
          {{"correlation_id", request.correlation_id},
           {"target_version", request.target_version},
           {"binary_url", request.binary_url},
           {"force", request.force},
           {"sent_at", timestamp(request.sent_ms)},
           {"answered", request.answered},
           {"accepted", request.answered ? json(request.accepted) : json(nullptr)},
           {"reason", request.answered ? json(request.reason) : json(nullptr)},
           {"answered_at", request.answered ? timestamp(request.answered_ms) : json(nullptr)}});
    }
    return reply(200, {{"agent_id", agent_id}, {"requests", std::move(requests)}});
  }

  // ---------------------------------------------------- listings and reload --

  ApiResponse list_agents() {
    json agents = json::array();
    for (const AgentEntry& agent : ctx_.config.agents) {
      agents.push_back(
          agent_view(agent, ctx_.agents.status(agent.id), ctx_.agents.online(agent.id)));
    }
    return reply(200, {{"agents", std::move(agents)}});
  }

  ApiResponse list_runs() {
    const std::size_t question = request_.target.find('?');
    const std::string_view query = question == std::string::npos
                                       ? std::string_view()
                                       : std::string_view(request_.target).substr(question + 1);
    const auto filter = parse_run_filter(query);
    if (const auto* answer = std::get_if<ApiResponse>(&filter)) return *answer;
    json runs = json::array();
    for (const RunRecord* run : ctx_.runs.list(std::get<RunFilter>(filter))) {
      runs.push_back(run_list_entry(*run));
    }
    return reply(200, {{"runs", std::move(runs)}});
  }

  ApiResponse reload_config() {
    if (!ctx_.reload) return error(500, "configuration reload is not available");
    const ReloadResult result = ctx_.reload();
    if (!result.ok) {
      // The server keeps the configuration it had; the message carries file:line.
      return error(result.config_error ? 400 : 500, "reload failed: " + result.error);
    }
    ctx_.log.info("config_reload_requested", {{"event", "config_reload_requested"},
                                              {"agents", result.agents},
                                              {"remote", request_.remote}});
    return reply(200, {{"reloaded", true},
                       {"agents", result.agents},
                       {"config_updates_sent", result.config_updates_sent}});
  }

  ApiResponse sweep_retention() {
    if (!ctx_.sweep_retention) return error(500, "retention sweeps are not available");
    const std::size_t expired = ctx_.sweep_retention();
    ctx_.log.info("retention_sweep_requested", {{"event", "retention_sweep_requested"},
                                                {"expired_runs", expired},
                                                {"remote", request_.remote}});
    return reply(202, {{"expired_runs", expired}});
  }

  const ApiRequest& request_;
  ApiContext& ctx_;
};

}  // namespace

bool is_operator_path(std::string_view path) {
  return path.starts_with(kPrefix) && path != kAgentConnectPath;
}

ApiResponse handle_operator_request(const ApiRequest& request, ApiContext& context) {
  std::string_view path = request.target;
  path = path.substr(0, path.find('?'));
  ApiResponse response = authorized(request, context.config) ? Handler(request, context).route(path)
                                                             : error(401, "unauthorized");
  context.log.log(response.status < 400 ? core::LogLevel::info : core::LogLevel::warn,
                  "api_request",
                  {{"event", "api_request"},
                   {"method", request.method},
                   {"path", path},
                   {"status", response.status},
                   {"remote", request.remote}});
  return response;
}

const RunRecord* apply_run_result(RunStore& runs, const core::Logger& log,
                                  std::string_view agent_id, const Envelope& envelope) {
  const RunRecord* run = nullptr;
  if (envelope.payload_case() == Envelope::kJobUpdate) {
    run = runs.apply(agent_id, envelope.job_update());
  } else if (envelope.payload_case() == Envelope::kBackupCompleted) {
    run = runs.apply(agent_id, envelope.backup_completed());
  }
  if (run == nullptr) return nullptr;
  log.info("run_update", {{"event", "run_update"},
                          {"run_id", run->run_id},
                          {"job_id", run->job_id},
                          {"agent_id", run->agent_id},
                          {"status", to_string(run->status)},
                          {"progress_percent", run->progress_percent},
                          {"current_step", run->current_step},
                          {"error", run->error},
                          {"updates", run->updates}});
  return run;
}

}  // namespace backupy::controlplane::detail
