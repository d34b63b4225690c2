// `backupy-agent run`: wires the packages together and runs the control thread.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <iostream>
#include <utility>

#include "agent_commands.hpp"
#include "backupy/core/build_info.hpp"
#include "backupy/core/files.hpp"
#include "backupy/core/log.hpp"
#include "backupy/core/redactor.hpp"
#include "backupy/core/time.hpp"
#include "backupy/crypto/crypto.hpp"
#include "backupy/drivers/builtin.hpp"
#include "backupy/health/health_check_scheduler.hpp"
#include "backupy/hostinfo/identity.hpp"
#include "backupy/hostinfo/metrics_sampler.hpp"
#include "backupy/runs/run_manager.hpp"
#include "backupy/scheduling/job_scheduler.hpp"
#include "backupy/session/config_manager.hpp"
#include "backupy/session/log_forwarder.hpp"
#include "backupy/session/result_reporter.hpp"
#include "backupy/session/session.hpp"
#include "backupy/state/config_store.hpp"
#include "backupy/state/outbox.hpp"
#include "backupy/state/run_journal.hpp"
#include "backupy/state/schedule_store.hpp"
#include "backupy/state/state_db.hpp"
#include "backupy/wire/capabilities.hpp"
#include "commands.hpp"
#include "discovery_setup.hpp"
#include "metrics_bridge.hpp"
#include "status_writer.hpp"

namespace backupy::agent {
namespace {

const core::Logger kLog("agent");
// SIGTERM must end the process well within Docker's 10 s stop timeout: runs
// stop first (a dump tool gets SIGTERM, then SIGKILL after 2 s), then the
// connection closes.
constexpr std::chrono::milliseconds kCloseGrace{3000};

runs::RunManagerOptions run_options(const config::BootstrapConfig& bootstrap,
                                    metrics::AgentMetrics& agent_metrics) {
  runs::RunManagerOptions options;
  options.spool_dir = bootstrap.state_dir / "spool";
  options.work_dir = bootstrap.state_dir / "work";
  options.docker_socket = bootstrap.docker_socket;
  options.hooks_enabled = bootstrap.runs.hooks_enabled;
  options.hook_timeout = bootstrap.runs.hook_timeout;
  options.spool_max_bytes = bootstrap.runs.spool_max_bytes;
  options.zstd = {.level = bootstrap.runs.zstd_level,
                  .workers = static_cast<int>(bootstrap.runs.zstd_workers)};
  options.upload.max_attempts = bootstrap.runs.upload_max_attempts;
  options.upload.ca_file = bootstrap.ca_file;
  options.upload.allow_insecure = bootstrap.allow_insecure;
  options.upload.env = config::process_env();
  options.on_run_ended = [&agent_metrics](const runs::RunEnded& run) {
    agent_metrics.run_finished(finished_run(run));
  };
  options.on_upload_retries = [&agent_metrics](std::uint64_t retries) {
    agent_metrics.upload_retried(retries);
  };
  return options;
}

// The store the agent's own scheduler remembers its last fires in.
scheduling::ScheduleMemory schedule_memory(state::ScheduleStore& store) {
  return {.last_fire = [&store](const std::string& job_id) { return store.last_fire(job_id); },
          .set_last_fire =
              [&store](const std::string& job_id, std::chrono::sys_seconds instant) {
                store.set_last_fire(job_id, instant);
              }};
}

// A job removed from the config loses its last-fire row (a re-added job starts afresh).
void forget_removed_jobs(state::ScheduleStore& store, const backup::v1::AgentConfig& config) {
  std::vector<std::string> job_ids;
  for (const auto& job : config.jobs()) job_ids.push_back(job.id());
  try {
    store.retain_jobs(job_ids);
  } catch (const std::exception& e) {
    kLog.warn("cannot prune the schedule memory", {{"error", core::redact(e.what())}});
  }
}

bool lists(const std::vector<std::string>& capabilities, std::string_view wanted) {
  return std::find(capabilities.begin(), capabilities.end(), wanted) != capabilities.end();
}

}  // namespace

AgentExit run_agent(const config::BootstrapConfig& bootstrap, const ProcessImage& image) {
  core::set_log_level(bootstrap.log_level);
  core::register_secret(bootstrap.agent_key);
  ::signal(SIGPIPE, SIG_IGN);

  const auto identity = hostinfo::read_host_identity();
  kLog.info("starting backupy-agent", {{"version", core::kVersion},
                                       {"commit", core::kCommit},
                                       {"hostname", identity.hostname},
                                       {"arch", identity.arch},
                                       {"state_dir", bootstrap.state_dir.string()},
                                       {"server_url", bootstrap.server_url}});

  std::unique_ptr<core::FileLock> lock;
  std::unique_ptr<state::StateDb> db;
  try {
    core::ensure_private_dir(bootstrap.state_dir);
    lock = std::make_unique<core::FileLock>(bootstrap.state_dir / "agent.lock");
  } catch (const std::exception& e) {
    kLog.error("cannot open the state directory", {{"error", e.what()}});
    std::cerr << "backupy-agent: " << core::redact(e.what()) << "\n";
    return {.code = 1};
  }
  // Under the lock, before anything else is opened: this start may belong to another binary
  // (an installed update, or the one to roll back to).
  StartOutcome update_start = prepare_start(bootstrap, image);
  try {
    db = state::StateDb::open(bootstrap.state_dir / "state.db");
  } catch (const std::exception& e) {
    kLog.error("cannot open the state database", {{"error", e.what()}});
    std::cerr << "backupy-agent: " << core::redact(e.what()) << "\n";
    return {.code = 1};
  }

  state::ConfigStore config_store(*db, bootstrap.agent_key);
  session::ConfigManager config(config_store);  // before connecting: jobs known offline
  state::Outbox outbox(*db);
  state::RunJournal journal(*db, bootstrap.agent_key);
  const drivers::DriverRegistry drivers = drivers::builtin_drivers();

  boost::asio::io_context io;
  hostinfo::MetricsSampler metrics(bootstrap.state_dir);
  // Prometheus (docs/metrics.md); fed by the components below, served by the endpoint.
  metrics::AgentMetrics agent_metrics(core::kVersion, core::kCommit);
  record_config(agent_metrics, *config.current(), config.version());
  std::unique_ptr<session::Session> session;
  session::ResultReporter reporter(outbox, [&session] {
    if (session) session->wake_outbox();
  });
  // Log lines at or above AdvancedSettings.log_level also go upstream as LogEvents.
  // The tap only queues; the outbox append runs on the control thread (log_forwarder.hpp).
  session::LogForwarder log_forwarder(
      [&reporter](backup::v1::Envelope envelope) { reporter.report(std::move(envelope)); },
      {.post = [&io](std::function<void()> flush) { boost::asio::post(io, std::move(flush)); }});
  log_forwarder.set_level(session::forwarding_level(config.current()->advanced().log_level()));
  runs::RunManager runs(
      io, run_options(bootstrap, agent_metrics), *db, journal, drivers,
      [&config] { return config.current(); },
      [&reporter](backup::v1::Envelope envelope) { reporter.report(std::move(envelope)); });
  // agent_cron.v1: the agent schedules its own jobs when the server negotiated it; the mode is
  // remembered, so a restart while the control plane is down keeps the schedule running.
  // The jitter identity is the SHA-256 of the agent key: what the control plane knows the
  // agent by, and nothing secret.
  state::ScheduleStore schedule_store(*db);
  scheduling::JobScheduler scheduler(
      io, crypto::sha256_hex(crypto::as_bytes(bootstrap.agent_key)),
      schedule_memory(schedule_store),
      [&runs](const scheduling::Fire& fire) { runs.schedule_run(fire); });
  // Health checks run on their own worker threads; results travel the durable outbox like
  // every other result (docs/architecture.md "Health checks").
  health::SchedulerOptions health_options;
  health_options.check.ca_file = bootstrap.ca_file;
  health::HealthCheckScheduler health_checks(
      io, std::move(health_options),
      [&reporter, &agent_metrics](backup::v1::HealthCheckResult result) {
        record_health_check(agent_metrics, result);
        backup::v1::Envelope envelope;
        *envelope.mutable_health_check_result() = std::move(result);
        try {
          reporter.report(std::move(envelope));
        } catch (const std::exception& e) {
          kLog.error("cannot queue a health check result", {{"error", core::redact(e.what())}});
        }
      });
  config.on_change([&](const session::ConfigSnapshot& snapshot) {
    runs.config_changed();
    record_config(agent_metrics, *snapshot, config.version());
    log_forwarder.set_level(session::forwarding_level(snapshot->advanced().log_level()));
    health_checks.set_config(snapshot);
    scheduler.set_config(snapshot);
    forget_removed_jobs(schedule_store, *snapshot);
  });
  try {
    runs.recover();  // before any command can arrive
    scheduler.set_config(config.current());
    health_checks.set_config(config.current());
    scheduler.set_enabled(schedule_store.agent_scheduling());  // catch-up runs now
  } catch (const std::exception& e) {
    kLog.error("cannot recover the runs of the previous start", {{"error", e.what()}});
    std::cerr << "backupy-agent: " << core::redact(e.what()) << "\n";
    return {.code = 1};
  }
  // The orderly stop, for a signal or a switch of binaries (exec_after).
  std::optional<ExecRequest> exec_after;
  std::function<void(std::string_view)> shutdown;
  SelfUpdateControl self_update(
      io, bootstrap, image, std::move(update_start),
      {.enabled = [&config] { return config.current()->advanced().auto_update_enabled(); },
       .send_ack =
           [&reporter](backup::v1::Ack ack) {
             backup::v1::Envelope envelope;
             envelope.set_correlation_id(ack.correlation_id());
             *envelope.mutable_ack() = std::move(ack);
             reporter.report(std::move(envelope));
           },
       .hold_dumps = [&runs] { runs.hold_dumps(); },
       .busy_runs = [&runs] { return runs.busy_runs(); },
       .undelivered =
           [&session, &outbox] {
             return session && session->status().state == session::ConnectionState::online &&
                    outbox.depth() > 0;
           },
       .shutdown_and_exec =
           [&](ExecRequest request) {
             exec_after = std::move(request);
             shutdown("self-update");
           }});
  AgentCommands commands(runs, health_checks, self_update);
  // Docker discovery on its own threads; each report reaches the control thread here
  // (report.containers_size() is the number of discovered database containers).
  const auto discovery =
      start_discovery(bootstrap, io, [&reporter, &agent_metrics](backup::v1::DiscoveryReport r) {
        agent_metrics.set_discovered_containers(static_cast<std::uint64_t>(r.containers_size()));
        queue_discovery_report(reporter, std::move(r));
      });

  session::SessionOptions options;
  options.bootstrap = bootstrap;
  options.agent_version = std::string(core::kVersion);
  options.identity = identity;
  options.capabilities = agent_capabilities(discovery != nullptr);
  options.docker_version = [&discovery] {
    return discovery ? discovery->daemon_version() : std::string();
  };
  std::unique_ptr<StatusWriter> status;
  options.on_state_change = [&status, &session, &agent_metrics] {
    if (session) record_session(agent_metrics, session->status());
    if (status) status->refresh();
  };
  options.on_registered = [&](const std::vector<std::string>& server_capabilities) {
    const bool agent_cron = lists(server_capabilities, wire::kCapAgentCron);
    if (agent_cron != scheduler.enabled()) {
      kLog.info(agent_cron ? "this agent schedules its jobs (agent_cron.v1)"
                           : "the control plane schedules this agent's jobs (v1)",
                {{"agent_cron", agent_cron}});
    }
    try {
      schedule_store.set_agent_scheduling(agent_cron);
      // In v1 mode the server runs the schedule: what this agent fired before is no basis for
      // a catch-up should the mode come back after a restart.
      if (!agent_cron) schedule_store.retain_jobs({});
    } catch (const std::exception& e) {
      kLog.error("cannot remember the scheduling mode", {{"error", core::redact(e.what())}});
    }
    scheduler.set_enabled(agent_cron);
    if (agent_cron) runs.request_missing_credentials();
    self_update.registered();
  };
  session =
      std::make_unique<session::Session>(io, std::move(options), config, outbox, metrics, commands);

  const std::uint64_t started_at = core::now_ms();
  status = std::make_unique<StatusWriter>(io, status_file_path(bootstrap.state_dir), [&] {
    AgentStatus s;
    s.pid = static_cast<int>(::getpid());
    s.agent_version = std::string(core::kVersion);
    s.started_at_ms = started_at;
    s.session = session->status();
    s.config_version = config.version();
    try {
      s.outbox_depth = outbox.depth();
    } catch (const std::exception&) {
      // Reported by the session's own outbox errors; the status stays useful.
    }
    return s;
  });

  const std::unique_ptr<metrics::MetricsEndpoint> metrics_endpoint = start_metrics_endpoint(
      io, bootstrap.metrics_listen_addr,
      {.metrics = [&] { return agent_metrics.expose(scrape_state(runs, outbox, log_forwarder)); },
       .healthz = [&] { return healthz_json(session->status(), config.version()); }});

  bool stopping = false;
  shutdown = [&](std::string_view why) {
    if (std::exchange(stopping, true)) return;
    kLog.info("shutting down", {{"reason", why}});
    scheduler.set_enabled(false);
    if (metrics_endpoint) metrics_endpoint->close();
    health_checks.shutdown();
    if (discovery) discovery->stop();
    runs.shutdown();
    session->stop(kCloseGrace, [&] {
      status->stop();
      io.stop();
    });
  };
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
    if (!ec) shutdown(signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  });

  session->set_active_jobs_provider([&runs] { return runs.active_job_ids(); });
  session->set_queue_depth_provider([&runs] { return runs.queue_depth(); });
  status->start();
  session->start();
  io.run();
  kLog.info("stopped");
  return {.code = 0, .exec = std::move(exec_after)};
}

}  // namespace backupy::agent
