#include "backupy/health/health_check_scheduler.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <map>
#include <random>
#include <thread>

namespace backupy::health {

namespace asio = boost::asio;

namespace {

std::chrono::milliseconds random_delay(const std::string&, std::chrono::milliseconds interval) {
  if (interval.count() <= 0) return std::chrono::milliseconds(0);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<std::int64_t> pick(0, interval.count() - 1);
  return std::chrono::milliseconds(pick(rng));
}

}  // namespace

class HealthCheckScheduler::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::io_context& io, SchedulerOptions options, ResultFn on_result)
      : io_(io), options_(std::move(options)), on_result_(std::move(on_result)) {
    if (!options_.initial_delay) options_.initial_delay = random_delay;
    if (!options_.run) {
      options_.run = [check = options_.check](const backup::v1::HealthCheckSpec& spec,
                                              std::stop_token stop) {
        return run_check(spec, check, std::move(stop));
      };
    }
  }

  std::chrono::milliseconds interval_of(const backup::v1::HealthCheckSpec& spec) const {
    if (spec.interval_sec() == 0) return options_.default_interval;
    return std::max<std::chrono::milliseconds>(std::chrono::seconds(spec.interval_sec()),
                                               options_.min_interval);
  }

  void set_config(const std::shared_ptr<const backup::v1::AgentConfig>& config) {
    if (stopped_) return;
    std::map<std::string, backup::v1::HealthCheckSpec> wanted;
    if (config) {
      for (const auto& spec : config->health_checks()) {
        if (!spec.id().empty()) wanted.emplace(spec.id(), spec);  // first of a duplicate id wins
      }
    }
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (!wanted.contains(it->first)) {
        it->second.timer->cancel();
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [id, spec] : wanted) {
      auto it = entries_.find(id);
      if (it != entries_.end() && it->second.spec.SerializeAsString() == spec.SerializeAsString()) {
        continue;  // unchanged: keeps its rhythm
      }
      if (it == entries_.end()) {
        it = entries_.emplace(id, Entry{spec, std::make_unique<asio::steady_timer>(io_)}).first;
      } else {
        it->second.spec = spec;
        it->second.running = false;  // a run of the old spec still in flight is dropped
      }
      ++it->second.generation;
      arm(id, it->second, options_.initial_delay(id, interval_of(spec)));
    }
  }

  bool run_now(const std::string& check_id) {
    auto it = entries_.find(check_id);
    if (stopped_ || it == entries_.end()) return false;
    if (!it->second.running) {
      it->second.timer->cancel();
      ++it->second.arm_seq;  // a timer that already fired must not start a second run
      start(it->second);
    }
    return true;
  }

  void shutdown() {
    stopped_ = true;
    for (auto& [id, entry] : entries_) entry.timer->cancel();
    entries_.clear();
    // Stop, but do not join here: shutdown() runs on the control thread, and an HTTP
    // exchange cannot be cancelled (it ends within its timeout). The workers are joined when
    // the scheduler is destroyed, after the io_context stopped running.
    for (auto& [run_id, worker] : workers_) worker.request_stop();
  }

 private:
  struct Entry {
    backup::v1::HealthCheckSpec spec;
    std::unique_ptr<asio::steady_timer> timer;
    std::uint64_t generation = 0;  // bumped when the spec changes
    std::uint64_t arm_seq = 0;     // bumped on every arm and run_now
    bool running = false;
  };

  void arm(const std::string& id, Entry& entry, std::chrono::milliseconds delay) {
    const std::uint64_t seq = ++entry.arm_seq;
    entry.timer->expires_after(delay);
    entry.timer->async_wait(
        [weak = weak_from_this(), id, seq](const boost::system::error_code& ec) {
          auto self = weak.lock();
          if (ec || !self || self->stopped_) return;
          auto it = self->entries_.find(id);
          if (it == self->entries_.end() || it->second.arm_seq != seq || it->second.running) return;
          self->start(it->second);
        });
  }

  void start(Entry& entry) {
    entry.running = true;
    const std::uint64_t run_id = ++next_run_id_;
    workers_.emplace(
        run_id,
        std::jthread([weak = weak_from_this(), &io = io_, run = options_.run, spec = entry.spec,
                      generation = entry.generation, run_id](std::stop_token stop) {
          backup::v1::HealthCheckResult result = run(spec, stop);
          asio::post(io, [weak, id = spec.id(), generation, run_id, result = std::move(result)] {
            if (auto self = weak.lock()) self->finished(run_id, id, generation, result);
          });
        }));
  }

  void finished(std::uint64_t run_id, const std::string& id, std::uint64_t generation,
                const backup::v1::HealthCheckResult& result) {
    if (auto w = workers_.find(run_id); w != workers_.end()) {
      workers_.erase(w);  // joins a thread that has posted its result and is ending
    }
    if (stopped_) return;
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.generation != generation) return;  // removed/changed
    it->second.running = false;
    arm(id, it->second, interval_of(it->second.spec));
    on_result_(result);
  }

  asio::io_context& io_;
  SchedulerOptions options_;
  ResultFn on_result_;
  std::map<std::string, Entry> entries_;
  std::map<std::uint64_t, std::jthread> workers_;
  std::uint64_t next_run_id_ = 0;
  bool stopped_ = false;
};

HealthCheckScheduler::HealthCheckScheduler(asio::io_context& io, SchedulerOptions options,
                                           ResultFn on_result)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(on_result))) {}

HealthCheckScheduler::~HealthCheckScheduler() {
  impl_->shutdown();
}

void HealthCheckScheduler::set_config(std::shared_ptr<const backup::v1::AgentConfig> config) {
  impl_->set_config(config);
}

bool HealthCheckScheduler::run_now(const std::string& check_id) {
  return impl_->run_now(check_id);
}

void HealthCheckScheduler::shutdown() {
  impl_->shutdown();
}

std::chrono::milliseconds HealthCheckScheduler::interval_of(
    const backup::v1::HealthCheckSpec& spec) const {
  return impl_->interval_of(spec);
}

}  // namespace backupy::health
