// backupy-control-plane run JOB [--wait]: POST /v1/jobs/{JOB}/run with a fresh
// Idempotency-Key (a retried request cannot start a second run), then optionally polls
// GET /v1/runs/{id} until the run ends.
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

bool terminal(const std::string& status) {
  return status == "success" || status == "failed" || status == "cancelled";
}

}  // namespace

int run_command(const Args& args, const Env& env) {
  const ParsedArgs parsed = parse_args(args, {}, {"--wait"});
  if (parsed.positionals.size() != 1) throw UsageError("run needs exactly one JOB");
  const std::string& job = parsed.positionals.front();
  const OperatorClient client(client_settings(parsed, env));

  const std::string key = "cli-" + core::to_hex(crypto::random_bytes(16));
  const json accepted = client.call("POST", "/v1/jobs/" + core::percent_encode(job) + "/run", "",
                                    {{"Idempotency-Key", key}});
  const std::string run_id = accepted.value("run_id", "");
  if (run_id.empty()) throw CommandError("the control plane accepted the run but sent no run_id");
  // stdout carries only the run id, for scripts; progress goes to stderr.
  std::cout << run_id << std::endl;
  if (!parsed.flag("--wait")) return 0;

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
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace backupy::cpcli
