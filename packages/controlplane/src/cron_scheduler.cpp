#include "cron_scheduler.hpp"

#include "backupy/core/time.hpp"
#include "operator_endpoint.hpp"

namespace backupy::controlplane::detail {
namespace {
constexpr std::chrono::seconds kMaxSleep{60};
constexpr std::chrono::seconds kSweepInterval{60};
}  // namespace

CronScheduler::CronScheduler(boost::asio::io_context& io, ServerState& state, Clock clock)
    : state_(state), clock_(std::move(clock)), timer_(io) {}

void CronScheduler::rebuild() {
  if (stopped_) return;
  schedule_.rebuild(*state_.config, clock_());
  const std::optional<std::chrono::sys_seconds> next = schedule_.next_fire();
  state_.log.info(
      "schedule_built",
      {{"event", "schedule_built"},
       {"scheduled_jobs", schedule_.size()},
       {"next_fire", next ? core::iso8601_utc(
                                static_cast<std::uint64_t>(next->time_since_epoch().count()) * 1000)
                          : std::string()}});
  arm();
}

void CronScheduler::stop() {
  stopped_ = true;
  ++generation_;
  timer_.cancel();
}

void CronScheduler::arm() {
  const auto now = clock_();
  auto wake = now + kMaxSleep;
  if (const auto next = schedule_.next_fire(); next && *next < wake) wake = *next;
  if (next_sweep_ != decltype(next_sweep_){} && next_sweep_ < wake) wake = next_sweep_;
  timer_.expires_at(wake);
  timer_.async_wait([this, generation = ++generation_](boost::system::error_code ec) {
    if (ec || generation != generation_ || stopped_ || state_.stopping) return;
    on_timer();
  });
}

void CronScheduler::on_timer() {
  const auto now = clock_();
  for (const CronSchedule::Fire& fire : schedule_.take_due(now)) {
    run_scheduled_job(state_, fire.job_id, fire.at);
  }
  if (now >= next_sweep_) {
    expire_waiting_runs(state_);
    next_sweep_ = now + kSweepInterval;
  }
  arm();
}

}  // namespace backupy::controlplane::detail
