// The cost of a scrape of the agent's metrics (docs/metrics.md): a fleet-sized config of jobs,
// each with its run counters, histograms and last-success gauges, plus health checks; how long
// expose() takes and how large the exposition is. Run: bash tests/bench/metrics.sh
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "backupy/metrics/agent_metrics.hpp"

int main(int argc, char** argv) {
  const int jobs = argc > 1 ? std::atoi(argv[1]) : 200;
  const int scrapes = argc > 2 ? std::atoi(argv[2]) : 200;
  backupy::metrics::AgentMetrics metrics("bench", "0000000");
  for (int j = 0; j < jobs; ++j) {
    const std::string job = "job-" + std::to_string(j);
    for (int run = 0; run < 3; ++run) {
      metrics.run_finished({.job_id = job,
                            .target_id = "target-" + std::to_string(j),
                            .status = run == 2 ? backupy::metrics::RunStatus::failed
                                               : backupy::metrics::RunStatus::success,
                            .duration_seconds = 30.0 + run,
                            .input_bytes = 1u << 30,
                            .stored_bytes = 1u << 28,
                            .finished_at_ms = 1'700'000'000'000ull + static_cast<unsigned>(run)});
    }
    metrics.health_check_result("check-" + std::to_string(j), true, 0.01);
  }
  std::size_t bytes = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < scrapes; ++i) bytes = metrics.expose({.queue_depth = 1}).size();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() /
      scrapes;
  std::printf("%d jobs + %d checks: exposition %zu bytes, expose() %.3f ms per scrape\n", jobs,
              jobs, bytes, ms);
  return 0;
}
