#include "backupy/discovery/discovery_service.hpp"

#include <algorithm>
#include <utility>

#include "backupy/core/log.hpp"
#include "backupy/discovery/container.hpp"
#include "backupy/discovery/discover.hpp"
#include "backupy/docker/engine_client.hpp"
#include "backupy/net/backoff.hpp"

namespace backupy::discovery {
namespace {

const core::Logger kLog("discovery");

}  // namespace

DiscoveryService::DiscoveryService(DiscoveryServiceOptions options, ReportHandler on_report)
    : options_(std::move(options)), on_report_(std::move(on_report)) {}

DiscoveryService::~DiscoveryService() {
  stop();
}

void DiscoveryService::start() {
  if (pass_thread_.joinable() || stop_.stop_requested()) return;
  const std::stop_token stop = stop_.get_token();
  pass_thread_ = std::jthread([this, stop] { pass_loop(stop); });
  event_thread_ = std::jthread([this, stop] { event_loop(stop); });
}

void DiscoveryService::stop() {
  stop_.request_stop();  // wakes both waits and shuts down any request in flight
  if (pass_thread_.joinable()) pass_thread_.join();
  if (event_thread_.joinable()) event_thread_.join();
}

std::string DiscoveryService::daemon_version() const {
  std::lock_guard lock(mutex_);
  return version_;
}

bool DiscoveryService::wait_for_first_pass(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return wake_.wait_for(lock, timeout, [this] { return first_pass_done_; });
}

void DiscoveryService::pass_loop(std::stop_token stop) {
  // Its own client: EngineClient caches the negotiated version and is not
  // shared between threads.
  docker::EngineClient client(options_.socket, options_.request_timeout, stop);
  run_pass(client, stop, "start-up");
  std::unique_lock lock(mutex_);
  first_pass_done_ = true;
  wake_.notify_all();
  Clock::time_point hourly_due = Clock::now() + options_.interval;
  while (!stop.stop_requested()) {
    const Clock::time_point due = requested_ ? std::min(requested_due_, hourly_due) : hourly_due;
    // Woken early by a new request (which may move the due time) or by stop.
    const bool was_requested = requested_;
    const Clock::time_point was_due = requested_due_;
    wake_.wait_until(lock, stop, due,
                     [&] { return requested_ != was_requested || requested_due_ != was_due; });
    if (stop.stop_requested()) break;
    const Clock::time_point now = Clock::now();
    const bool events_due = requested_ && now >= requested_due_;
    if (!events_due && now < hourly_due) continue;
    requested_ = false;
    lock.unlock();
    run_pass(client, stop, events_due ? "container events" : "interval");
    lock.lock();
    hourly_due = Clock::now() + options_.interval;
  }
}

void DiscoveryService::run_pass(docker::EngineClient& client, std::stop_token stop,
                                const char* reason) {
  try {
    const std::string version = client.daemon_version();
    backup::v1::DiscoveryReport report = discover(client);
    note_reachable(version);
    kLog.info("discovery pass", {{"reason", reason}, {"containers", report.containers_size()}});
    on_report_(std::move(report));
  } catch (const docker::DockerError& e) {
    if (!stop.stop_requested()) note_unreachable(e.what());
  } catch (const DiscoveryError& e) {
    // The daemon answered, but not with what discovery needs: worth a line every time.
    kLog.warn("discovery pass failed", {{"reason", reason}, {"error", e.what()}});
  } catch (const std::exception& e) {
    // Nothing may escape a worker thread (std::terminate); the next trigger tries again.
    kLog.error("discovery pass failed", {{"reason", reason}, {"error", e.what()}});
  }
}

void DiscoveryService::event_loop(std::stop_token stop) {
  docker::EngineClient client(options_.socket, options_.request_timeout, stop);
  net::Backoff backoff({.initial = options_.reconnect_initial, .cap = options_.reconnect_cap});
  bool lost = false;  // a pass follows the next subscription
  while (!stop.stop_requested()) {
    try {
      client.watch_container_events(
          [&] {
            backoff.reset();
            if (lost) request_pass_now();
            lost = false;
          },
          [&](const docker::ContainerEvent& event) {
            kLog.debug("container event",
                       {{"action", event.action}, {"container_id", event.container_id}});
            request_debounced_pass();
          },
          stop);
      return;  // only once stop was requested
    } catch (const std::exception& e) {
      // DockerError in practice; anything else is treated alike rather than escaping the thread.
      if (stop.stop_requested()) return;
      note_unreachable(e.what());
      lost = true;
    }
    const auto delay = backoff.next_delay();
    kLog.debug("reconnecting to the Docker event stream",
               {{"delay_ms", static_cast<std::int64_t>(delay.count())}});
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, stop, delay, [] { return false; });
  }
}

void DiscoveryService::request_debounced_pass() {
  std::lock_guard lock(mutex_);
  const Clock::time_point now = Clock::now();
  if (!requested_) burst_started_ = now;
  requested_ = true;
  requested_due_ = std::min(now + options_.debounce, burst_started_ + options_.max_delay);
  wake_.notify_all();
}

void DiscoveryService::request_pass_now() {
  std::lock_guard lock(mutex_);
  const Clock::time_point now = Clock::now();
  if (!requested_) burst_started_ = now;
  requested_ = true;
  requested_due_ = now;
  wake_.notify_all();
}

void DiscoveryService::note_unreachable(const std::string& reason) {
  std::lock_guard lock(mutex_);
  if (unreachable_) {
    kLog.debug("Docker Engine API still unreachable", {{"error", reason}});
    return;
  }
  unreachable_ = true;
  kLog.warn(
      "Docker Engine API unreachable: no discovery reports until it answers (retrying "
      "with backoff; logged once per outage)",
      {{"socket", options_.socket.string()}, {"error", reason}});
}

void DiscoveryService::note_reachable(const std::string& version) {
  std::lock_guard lock(mutex_);
  if (unreachable_ || !ever_reached_) {
    kLog.info(ever_reached_ ? "Docker Engine API reachable again" : "Docker Engine API reachable",
              {{"socket", options_.socket.string()}, {"docker_version", version}});
  }
  unreachable_ = false;
  ever_reached_ = true;
  version_ = version;
}

}  // namespace backupy::discovery
