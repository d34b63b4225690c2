// The only translation unit of the package that includes Asio.
#include "backupy/scheduling/job_scheduler.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/system_timer.hpp>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "backupy/core/log.hpp"
#include "backupy/core/time.hpp"

namespace backupy::scheduling {
namespace {

// The longest sleep: a wall clock that jumps (NTP, suspend) is noticed within a minute.
constexpr std::chrono::seconds kMaxSleep{60};

std::string iso(std::chrono::system_clock::time_point at) {
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(at).time_since_epoch().count();
  return core::iso8601_utc(static_cast<std::uint64_t>(ms < 0 ? 0 : ms));
}

// A state database that fails must not stop the schedule: a failed read counts as "never
// seen", a failed write is logged (the job still does not fire twice in this process; a
// restart may then catch up an instant that already ran).
ScheduleMemory guarded(ScheduleMemory memory, const core::Logger& log) {
  return {[read = std::move(memory.last_fire),
           log](const std::string& job_id) -> std::optional<std::chrono::sys_seconds> {
            try {
              return read(job_id);
            } catch (const std::exception& e) {
              log.warn("cannot read the schedule memory of a job; it counts as new",
                       {{"job_id", job_id}, {"error", e.what()}});
              return std::nullopt;
            }
          },
          [write = std::move(memory.set_last_fire), log](const std::string& job_id,
                                                         std::chrono::sys_seconds instant) {
            try {
              write(job_id, instant);
            } catch (const std::exception& e) {
              log.warn("cannot record a job's last scheduled instant",
                       {{"job_id", job_id}, {"instant", iso(instant)}, {"error", e.what()}});
            }
          }};
}

}  // namespace

class JobScheduler::Impl {
 public:
  Impl(boost::asio::io_context& io, std::string agent_identity, ScheduleMemory memory,
       FireFn on_fire, WallClock now)
      : io_(io),
        timer_(io),
        clock_(std::move(now)),
        on_fire_(std::move(on_fire)),
        schedule_(std::move(agent_identity), guarded(std::move(memory), log_)) {}

  void set_config(std::shared_ptr<const backup::v1::AgentConfig> config) {
    config_ = config ? std::move(config) : std::make_shared<const backup::v1::AgentConfig>();
    schedule_.set_config(*config_, clock_());
    const auto next = schedule_.next_wake();
    log_.info("agent schedule loaded", {{"event", "agent_schedule_built"},
                                        {"scheduled_jobs", schedule_.size()},
                                        {"scheduling_enabled", enabled_},
                                        {"next_fire", next ? iso(*next) : std::string()}});
    if (!enabled_) return;
    if (!started_) begin();
    arm();
  }

  void set_enabled(bool enabled) {
    if (enabled == enabled_) return;
    enabled_ = enabled;
    if (!enabled) {
      timer_.cancel();  // a wait that completed already finds enabled_ false
      pending_wake_.reset();
      log_.info("agent-side scheduling off", {{"event", "agent_scheduling_disabled"}});
      return;
    }
    log_.info("agent-side scheduling on",
              {{"event", "agent_scheduling_enabled"}, {"scheduled_jobs", schedule_.size()}});
    if (started_) {
      schedule_.resume(clock_());
    } else if (config_) {
      begin();
    }  // else: the catch-up pass waits for the first config (the jobs are not known yet)
    arm();
  }

  bool enabled() const { return enabled_; }

 private:
  // The catch-up pass, once per process; its fires go out from the io_context, not from
  // inside the caller's set_enabled()/set_config(). They are remembered as fired already, so
  // they go out even if scheduling is turned off again before the handler runs.
  void begin() {
    started_ = true;
    std::vector<Fire> catch_ups = schedule_.start(clock_());
    if (catch_ups.empty()) return;
    boost::asio::post(io_,
                      [this, alive = std::weak_ptr<bool>(alive_), fires = std::move(catch_ups)] {
                        if (alive.expired()) return;
                        for (const Fire& fire : fires) deliver(fire);
                      });
  }

  // Waits until the next fire, at most kMaxSleep. A pending wait that wakes no later is kept:
  // reloads (however frequent) never push a due fire back, and there is only one wait.
  void arm() {
    if (!enabled_) return;
    const auto now = clock_();
    auto wake = now + kMaxSleep;
    if (const auto next = schedule_.next_wake(); next && *next < wake) wake = *next;
    if (pending_wake_ && *pending_wake_ <= wake) return;
    pending_wake_ = wake;
    // Relative to the injected clock's now, so a test clock need not match the real one.
    timer_.expires_after(std::max<std::chrono::system_clock::duration>(wake - now, {}));
    timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code ec) {
      // Cancelled: replaced by an earlier wait, or scheduling turned off.
      if (alive.expired() || ec) return;
      pending_wake_.reset();
      if (enabled_) on_timer();
    });
  }

  void on_timer() {
    for (const Fire& fire : schedule_.due(clock_())) deliver(fire);
    arm();
  }

  void deliver(const Fire& fire) {
    const std::string scheduled_for = iso(fire.scheduled_for);
    log_.debug("scheduled fire", {{"event", "agent_schedule_fire"},
                                  {"job_id", fire.job_id},
                                  {"scheduled_for", scheduled_for},
                                  {"catch_up", fire.catch_up}});
    try {
      on_fire_(fire);
    } catch (const std::exception& e) {
      // One job's failure must not stop the others' schedule.
      log_.error("scheduled fire failed", {{"event", "agent_schedule_fire_failed"},
                                           {"job_id", fire.job_id},
                                           {"scheduled_for", scheduled_for},
                                           {"error", e.what()}});
    }
  }

  core::Logger log_{"scheduler"};
  boost::asio::io_context& io_;
  boost::asio::system_timer timer_;
  WallClock clock_;
  FireFn on_fire_;
  AgentSchedule schedule_;
  std::shared_ptr<const backup::v1::AgentConfig> config_;  // null until the first set_config
  bool enabled_ = false;
  bool started_ = false;
  std::optional<std::chrono::system_clock::time_point> pending_wake_;  // of the armed wait
  // Handlers hold a weak_ptr to this: one that runs after the scheduler is gone does nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

JobScheduler::JobScheduler(boost::asio::io_context& io, std::string agent_identity,
                           ScheduleMemory memory, FireFn on_fire, WallClock now)
    : impl_(std::make_unique<Impl>(io, std::move(agent_identity), std::move(memory),
                                   std::move(on_fire), std::move(now))) {}

JobScheduler::~JobScheduler() = default;

void JobScheduler::set_config(std::shared_ptr<const backup::v1::AgentConfig> config) {
  impl_->set_config(std::move(config));
}

void JobScheduler::set_enabled(bool enabled) {
  impl_->set_enabled(enabled);
}

bool JobScheduler::enabled() const {
  return impl_->enabled();
}

}  // namespace backupy::scheduling
