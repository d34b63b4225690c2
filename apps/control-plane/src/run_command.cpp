// backupy-control-plane run JOB [--allow-concurrent] [--wait [--timeout SEC]]: POST
// /v1/jobs/{JOB}/run with a fresh Idempotency-Key (a retried request cannot start a second
// run), says whether the run went to the agent or waits for it to connect, then optionally
// polls GET /v1/runs/{id} until the run ends or the timeout passes.
#include <chrono>
#include <iostream>
#include <thread>

#include "backupy/core/hex.hpp"
#include "backupy/core/percent.hpp"
#include "backupy/crypto/crypto.hpp"
#include "commands.hpp"

namespace backupy::cpcli {
namespace {

using nlohmann::json;

constexpr std::chrono::milliseconds kPollInterval{500};
constexpr std::uint64_t kDefaultTimeoutSec = 3600;
constexpr std::uint64_t kMaxTimeoutSec = 7 * 86400;

bool terminal(const std::string& status) {
  return status == "success" || status == "failed" || status == "cancelled";
}

std::chrono::seconds timeout_of(const ParsedArgs& parsed) {
  const std::optional<std::string> text = parsed.value("--timeout");
  if (!text) return std::chrono::seconds(kDefaultTimeoutSec);
  if (!parsed.flag("--wait")) throw UsageError("--timeout only applies to --wait");
  const std::string range =
      "--timeout must be a number of seconds between 1 and " + std::to_string(kMaxTimeoutSec);
  if (text->empty() || text->size() > 7 ||
      text->find_first_not_of("0123456789") != std::string::npos) {
    throw UsageError(range);
  }
  const std::uint64_t seconds = std::stoull(*text);
  if (seconds < 1 || seconds > kMaxTimeoutSec) throw UsageError(range);
  return std::chrono::seconds(seconds);
}

}  // namespace

int run_command(const Args& args, const Env& env) {
  const ParsedArgs parsed = parse_args(args, {"--timeout"}, {"--wait", "--allow-concurrent"});
  if (parsed.positionals.size() != 1) throw UsageError("run needs exactly one JOB");
  const std::chrono::seconds timeout = timeout_of(parsed);
  const std::string& job = parsed.positionals.front();
  const OperatorClient client(client_settings(parsed, env));

  const std::string key = "cli-" + core::to_hex(crypto::random_bytes(16));
  const std::string body = parsed.flag("--allow-concurrent") ? R"({"allow_concurrent":true})" : "";
  const json accepted = client.call("POST", "/v1/jobs/" + core::percent_encode(job) + "/run", body,
                                    {{"Idempotency-Key", key}});
  const std::string run_id = accepted.value("run_id", "");
  if (run_id.empty()) throw CommandError("the control plane accepted the run but sent no run_id");
  // stdout carries only the run id, for scripts; progress goes to stderr.
  std::cout << run_id << std::endl;
  const std::string agent = accepted.value("agent_id", "?");
  if (accepted.value("delivered", true)) {
    std::cerr << run_id << ": sent to agent " << agent << std::endl;
  } else {
    std::cerr << run_id << ": agent " << agent << " is offline; the run waits for it to connect"
              << std::endl;
  }
  if (!parsed.flag("--wait")) return 0;

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last_shown;
  while (true) {
    const json run = client.call("GET", "/v1/runs/" + core::percent_encode(run_id));
    const std::string status = run.value("status", "");
    const std::string step = run.value("current_step", "");
    const std::string shown = status + (step.empty() ? "" : " (" + step + ")");
    if (shown != last_shown) {
      std::cerr << run_id << ": " << shown << std::endl;
      last_shown = shown;
    }
    if (terminal(status)) {
      if (status == "success") {
        std::cerr << run_id << ": " << run.value("size_bytes", 0ULL) << " bytes, sha256 "
                  << run.value("sha256", "") << std::endl;
        return 0;
      }
      const std::string error = run.value("error", "");
      std::cerr << run_id << ": " << status << (error.empty() ? "" : ": " + error) << std::endl;
      return 1;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw CommandError(
          "gave up waiting for run " + run_id + " after " + std::to_string(timeout.count()) +
          " s (still " + shown +
          (run.value("delivered", true) ? "" : ", not yet delivered to agent " + agent) +
          "); it goes on: check it with `runs list --job " + job + "`");
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace backupy::cpcli
