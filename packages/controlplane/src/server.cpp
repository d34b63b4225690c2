#include "backupy/controlplane/server.hpp"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <future>
#include <optional>
#include <thread>

#include "backupy/core/time.hpp"
#include "backupy/crypto/crypto.hpp"
#include "catalog.hpp"
#include "cron_scheduler.hpp"
#include "listener.hpp"
#include "local_store.hpp"
#include "server_state.hpp"
#include "storage_maintenance.hpp"

#ifndef BACKUPY_VERSION
#define BACKUPY_VERSION "0.0.0"
#endif

namespace backupy::controlplane {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

std::string_view version() {
  return BACKUPY_VERSION;
}

namespace detail {

void ServerState::attach(const std::shared_ptr<AgentSession>& session) {
  std::weak_ptr<AgentSession>& slot = sessions[session->agent_id()];
  const std::shared_ptr<AgentSession> previous = slot.lock();
  slot = session;
  if (previous && previous != session) {
    previous->close(kCloseNormal, "replaced by a newer session");
  }
}

void ServerState::set_agent_cron(const std::string& agent_id, bool agent_cron) {
  if (agent_cron) {
    agent_cron_agents.insert(agent_id);
  } else if (const auto it = agent_cron_agents.find(agent_id); it != agent_cron_agents.end()) {
    agent_cron_agents.erase(it);
  }
  if (catalog) catalog->record_agent_cron(agent_id, agent_cron);
}

backup::v1::AgentConfig ServerState::published_config(
    const backup::v1::AgentConfig& configured) const {
  return detail::published_config(configured, *config, key_wrapping.get());
}

void ServerState::detach(const AgentSession& session) {
  const auto it = sessions.find(session.agent_id());
  if (it == sessions.end()) return;
  const std::shared_ptr<AgentSession> current = it->second.lock();
  if (!current || current.get() == &session) sessions.erase(it);
}

}  // namespace detail

namespace {
constexpr std::chrono::milliseconds kStopPoll{20};

// Uploads to the embedded store that an earlier process did not finish (it crashed) are
// garbage: no URL leads to them.
void remove_partial_uploads(detail::ServerState& state) {
  const ServerConfig& config = *state.config;
  if (!config.storage || config.storage->type != StorageType::local) return;
  const std::vector<std::uint8_t> no_key;  // listing files needs no URL key
  const detail::LocalStore store(*config.storage, no_key, state.default_public_url);
  if (const std::size_t removed = store.remove_partial_files(); removed > 0) {
    state.log.warn("partial_uploads_removed",
                   {{"event", "partial_uploads_removed"}, {"files", removed}});
  }
}
constexpr std::chrono::milliseconds kStopDeadline{4000};
// Deferred object checks are retried, and the retention sweep comes due, on this tick.
constexpr std::chrono::seconds kMaintenanceTick{60};
constexpr std::uint64_t kRetentionSweepEveryMs = detail::kMsPerDay;

// Opens catalog_file and loads its runs and agents. Errors (another master key, a damaged
// row, an unreadable file) stop the start-up with a message that names the problem.
void open_catalog(detail::ServerState& state) {
  const std::filesystem::path& file = state.config->catalog_file;
  if (file.empty()) {  // configurations built in code (unit tests)
    if (!state.config->master_key.empty()) {
      state.key_wrapping = std::make_unique<detail::KeyWrappingKey>(state.config->master_key);
    }
    return;
  }
  const std::string key = detail::catalog_master_key(file, state.config->master_key, state.log);
  state.catalog = detail::Catalog::open(file, key, state.log);
  state.key_wrapping = std::make_unique<detail::KeyWrappingKey>(key);
  state.runs = detail::RunStore(state.catalog.get(), &state.metrics);
  state.agent_status.attach(*state.catalog);
  state.catalog->load_agents([&state](const detail::CatalogAgent& agent) {
    if (agent.agent_cron) state.agent_cron_agents.insert(agent.agent_id);
  });
  state.log.info(
      "catalog_opened",
      {{"event", "catalog_opened"},
       {"file", file.string()},
       {"runs", state.runs.size()},
       {"master_key", state.config->master_key.empty() ? "beside the catalog" : "master_key_file"},
       {"key_wrapping_key_id", state.key_wrapping->key_id()},
       {"agent_cron_agents", state.agent_cron_agents.size()}});
}
}  // namespace

struct Server::Impl {
  // Declared before the io_context: handlers destroyed with the io_context still refer to it.
  detail::ServerState state;
  asio::io_context io{1};
  // After io: destroyed (joined) first, so that it never posts to a dead io_context.
  detail::BackgroundWorker worker{
      [this](detail::BackgroundWorker::Task task) { asio::post(io, std::move(task)); }};
  asio::steady_timer maintenance_timer{io};
  std::uint64_t next_retention_sweep_ms = 0;  // 0: one tick after the start
  std::shared_ptr<detail::Listener> listener;
  detail::CronScheduler scheduler{io, state};
  std::optional<asio::signal_set> signals;
  asio::steady_timer stop_timer{io};
  std::chrono::steady_clock::time_point stop_deadline;
  std::atomic<bool> running{false};
  std::atomic<std::thread::id> run_thread{};

  void watch_signals() {
    signals->async_wait([this](error_code ec, int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        state.log.info("sighup", {{"event", "sighup"}});
        reload_from_file();
        watch_signals();
      } else {
        state.log.info("shutdown_requested",
                       {{"event", "shutdown_requested"},
                        {"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
        begin_stop();
      }
    });
  }

  ReloadResult fail_reload(std::string error, bool config_error = true) {
    state.log.error("config_reload_failed", {{"event", "config_reload_failed"}, {"error", error}});
    state.metrics.config_reload(false);
    ReloadResult result;
    result.error = std::move(error);
    result.config_error = config_error;
    return result;
  }

  ReloadResult reload_from_file() {
    if (state.options.config_file.empty())
      return fail_reload("no configuration file to reload", false);
    try {
      const std::optional<TlsFiles>& dev_tls = state.options.dev_tls;
      ServerConfig config =
          load_server_config(state.options.config_file, dev_tls ? TlsSource::dev : TlsSource::yaml);
      if (dev_tls) config.tls = *dev_tls;
      return apply(std::move(config));
    } catch (const ConfigError& e) {
      return fail_reload(e.what());
    }
  }

  // Runs on the server thread.
  ReloadResult apply(ServerConfig config) {
    if (state.stopping) return fail_reload("server is shutting down", false);
    const ServerConfig& old = *state.config;
    if (config.listen_host != old.listen_host || config.listen_port != old.listen_port) {
      state.log.warn("listen_change_ignored",
                     {{"event", "listen_change_ignored"},
                      {"configured", config.listen_host + ":" + std::to_string(config.listen_port)},
                      {"active", old.listen_host + ":" + std::to_string(old.listen_port)}});
      config.listen_host = old.listen_host;
      config.listen_port = old.listen_port;
    }
    if (config.catalog_file != old.catalog_file || config.master_key != old.master_key) {
      state.log.warn("catalog_change_ignored", {{"event", "catalog_change_ignored"},
                                                {"configured", config.catalog_file.string()},
                                                {"active", old.catalog_file.string()}});
      config.catalog_file = old.catalog_file;
      config.master_key = old.master_key;
    }
    try {
      listener->load_tls(config.tls);
    } catch (const std::exception& e) {
      return fail_reload(e.what());
    }

    // The scheduling mode is negotiated at Register: sessions register again to pick it up.
    const bool agent_cron_changed = config.scheduling.agent_cron != old.scheduling.agent_cron;
    AgentRegistry registry(config.agents);
    ReloadResult result;
    result.ok = true;
    result.agents = config.agents.size();
    // Copy: closing a session may detach it from the map.
    std::vector<std::shared_ptr<detail::AgentSession>> live;
    for (auto& [id, weak] : state.sessions) {
      if (auto session = weak.lock()) live.push_back(std::move(session));
    }
    const AgentRegistry previous = std::move(state.registry);
    state.registry = std::move(registry);
    state.config = std::make_shared<const ServerConfig>(std::move(config));
    for (const auto& session : live) {
      const AgentEntry* now = state.registry.find(session->agent_id());
      const AgentEntry* before = previous.find(session->agent_id());
      if (now == nullptr) {
        session->close(detail::kClosePolicy, "agent removed from configuration");
      } else if (before != nullptr && before->key_sha256 != now->key_sha256) {
        session->close(detail::kClosePolicy, "agent key changed");
      } else if (agent_cron_changed) {
        session->close(detail::kCloseNormal, "scheduling.agent_cron changed: register again");
      } else if (session->push_config_if_changed(now->config)) {
        ++result.config_updates_sent;
      }
    }
    state.metrics.config_reload(true);
    scheduler.rebuild();  // new, changed and removed jobs
    state.log.info("config_reloaded", {{"event", "config_reloaded"},
                                       {"agents", result.agents},
                                       {"config_updates_sent", result.config_updates_sent}});
    return result;
  }

  void schedule_maintenance() {
    maintenance_timer.expires_after(kMaintenanceTick);
    maintenance_timer.async_wait([this](error_code ec) {
      if (ec || state.stopping) return;
      detail::resume_object_checks(state);
      const std::uint64_t now = core::now_ms();
      if (now >= next_retention_sweep_ms) {
        detail::sweep_retention(state, now);
        next_retention_sweep_ms = now + kRetentionSweepEveryMs;
      }
      schedule_maintenance();
    });
  }

  void begin_stop() {
    if (state.stopping) return;
    state.stopping = true;
    maintenance_timer.cancel();
    listener->close();
    scheduler.stop();
    if (signals) {
      error_code ignored;
      signals->cancel(ignored);
    }
    std::vector<std::shared_ptr<detail::AgentSession>> live;
    for (auto& [id, weak] : state.sessions) {
      if (auto session = weak.lock()) live.push_back(std::move(session));
    }
    for (const auto& session : live) {
      session->close(detail::kCloseGoingAway, "server shutting down");
    }
    stop_deadline = std::chrono::steady_clock::now() + kStopDeadline;
    poll_stop();
  }

  // Lets io_context::run() return once every connection has closed, or forces it at the
  // deadline (agents that never answer the close handshake).
  void poll_stop() {
    if (state.open_connections == 0) return;  // nothing left: run() returns by itself
    if (std::chrono::steady_clock::now() >= stop_deadline) {
      state.log.warn("shutdown_forced",
                     {{"event", "shutdown_forced"}, {"open_connections", state.open_connections}});
      io.stop();
      return;
    }
    stop_timer.expires_after(kStopPoll);
    stop_timer.async_wait([this](error_code ec) {
      if (!ec) poll_stop();
    });
  }
};

Server::Server(ServerConfig config, ServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->state.options = std::move(options);
  impl_->state.registry = AgentRegistry(config.agents);
  impl_->state.generated_signing_key = crypto::random_bytes(32);
  impl_->state.config = std::make_shared<const ServerConfig>(std::move(config));
  impl_->listener = detail::Listener::create(impl_->io, impl_->state, *impl_->state.config);
  impl_->state.reload = [impl = impl_.get()] { return impl->reload_from_file(); };
  impl_->state.background = &impl_->worker;
  // A wildcard listen address (0.0.0.0, ::) is no address an agent can use: such setups name
  // storage.public_url (docs/operations.md).
  const std::string& host = impl_->state.config->listen_host;
  impl_->state.default_public_url =
      "https://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
      std::to_string(impl_->listener->port());
  remove_partial_uploads(impl_->state);
  open_catalog(impl_->state);
}

Server::~Server() {
  crypto::secure_wipe(impl_->state.generated_signing_key);
}

std::uint16_t Server::port() const {
  return impl_->listener->port();
}

void Server::run() {
  Impl& impl = *impl_;
  impl.run_thread = std::this_thread::get_id();
  impl.running = true;
  if (impl.state.options.handle_signals && !impl.state.stopping) {
    impl.signals.emplace(impl.io, SIGHUP, SIGTERM, SIGINT);
    impl.watch_signals();
  }
  impl.listener->start();
  detail::resume_object_checks(impl.state);
  impl.schedule_maintenance();
  impl.scheduler.rebuild();
  const ServerConfig& config = *impl.state.config;
  impl.state.log.info("listening",
                      {{"event", "listening"},
                       {"address", config.listen_host},
                       {"port", port()},
                       {"agents", config.agents.size()},
                       {"delivery_ack", config.delivery_ack},
                       {"operator_api", !config.admin_token_sha256.empty()},
                       {"storage", config.storage.has_value()},
                       {"signing_key", config.token_signing_key.empty() ? "generated" : "file"},
                       {"version", version()}});
  impl.io.run();
  impl.running = false;
  impl.run_thread = std::thread::id();
  impl.state.log.info("stopped", {{"event", "stopped"}});
}

void Server::stop() {
  asio::post(impl_->io, [impl = impl_.get()] { impl->begin_stop(); });
}

namespace {

// Runs fn on the server thread and waits for its result; runs it inline if called on the
// server thread or when the server is not running.
template <typename Fn>
ReloadResult on_server_thread(asio::io_context& io, const std::atomic<bool>& running,
                              const std::atomic<std::thread::id>& run_thread, Fn fn) {
  if (!running || run_thread.load() == std::this_thread::get_id()) return fn();
  struct Shared {
    std::atomic<bool> claimed{false};
    std::promise<ReloadResult> promise;
  };
  auto shared = std::make_shared<Shared>();
  std::future<ReloadResult> future = shared->promise.get_future();
  asio::post(io, [shared, fn]() mutable {
    if (!shared->claimed.exchange(true)) shared->promise.set_value(fn());
  });
  while (future.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    if (!running && !shared->claimed.exchange(true)) return fn();  // run() returned meanwhile
  }
  return future.get();
}

}  // namespace

ReloadResult Server::reload() {
  Impl* impl = impl_.get();
  return on_server_thread(impl->io, impl->running, impl->run_thread,
                          [impl] { return impl->reload_from_file(); });
}

ReloadResult Server::reload(ServerConfig config) {
  Impl* impl = impl_.get();
  auto shared_config = std::make_shared<ServerConfig>(std::move(config));
  return on_server_thread(impl->io, impl->running, impl->run_thread,
                          [impl, shared_config] { return impl->apply(std::move(*shared_config)); });
}

}  // namespace backupy::controlplane
