#include "cp_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>

namespace backupy::controlplane::detail {
namespace {

constexpr std::string_view kPrefix = "backupy_cp_";

std::string name(std::string_view suffix) {
  return std::string(kPrefix) + std::string(suffix);
}

}  // namespace

struct CpMetrics::Impl {
  prometheus::Registry registry;

  prometheus::Family<prometheus::Gauge>& build_info =
      prometheus::BuildGauge()
          .Name(name("build_info"))
          .Help("Always 1; the version label names the control plane build")
          .Register(registry);
  prometheus::Gauge& agents_configured = prometheus::BuildGauge()
                                             .Name(name("agents_configured"))
                                             .Help("Agents listed in the configuration")
                                             .Register(registry)
                                             .Add({});
  prometheus::Gauge& agents_connected = prometheus::BuildGauge()
                                            .Name(name("agents_connected"))
                                            .Help("Agents with a registered session")
                                            .Register(registry)
                                            .Add({});
  prometheus::Counter& sessions_opened = prometheus::BuildCounter()
                                             .Name(name("sessions_opened_total"))
                                             .Help("Agent WebSocket sessions established")
                                             .Register(registry)
                                             .Add({});
  prometheus::Family<prometheus::Counter>& sessions_rejected =
      prometheus::BuildCounter()
          .Name(name("sessions_rejected_total"))
          .Help("Agent connections refused or sessions closed for a protocol reason, by reason")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& messages_received =
      prometheus::BuildCounter()
          .Name(name("messages_received_total"))
          .Help("Frames received from agents, by payload type")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& runs_created =
      prometheus::BuildCounter()
          .Name(name("runs_created_total"))
          .Help("Backup runs created, by trigger")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& runs_finished =
      prometheus::BuildCounter()
          .Name(name("runs_finished_total"))
          .Help("Backup runs that reached a finished status, by status")
          .Register(registry);
  prometheus::Gauge& runs_active = prometheus::BuildGauge()
                                       .Name(name("runs_active"))
                                       .Help("Backup runs not finished (waiting, queued, running)")
                                       .Register(registry)
                                       .Add({});
  prometheus::Family<prometheus::Counter>& api_requests =
      prometheus::BuildCounter()
          .Name(name("api_requests_total"))
          .Help("Operator API requests, by HTTP status class")
          .Register(registry);
  prometheus::Counter& object_bytes = prometheus::BuildCounter()
                                          .Name(name("object_bytes_received_total"))
                                          .Help("Body bytes uploaded to the embedded object store")
                                          .Register(registry)
                                          .Add({});
  prometheus::Family<prometheus::Counter>& config_reloads =
      prometheus::BuildCounter()
          .Name(name("config_reloads_total"))
          .Help("Configuration reloads (SIGHUP, POST /v1/config/reload), by result")
          .Register(registry);

  explicit Impl(std::string_view version) {
    build_info.Add({{"version", std::string(version)}}).Set(1);
    // The usual label values exist from the start, at 0: a rate() over a series that
    // appears only with its first event misses that event.
    for (const char* trigger : {"manual", "scheduled"}) runs_created.Add({{"trigger", trigger}});
    for (const char* status : {"success", "failed", "cancelled"}) {
      runs_finished.Add({{"status", status}});
    }
    for (const char* status_class : {"2xx", "4xx", "5xx"}) {
      api_requests.Add({{"status_class", status_class}});
    }
    for (const char* result : {"ok", "failed"}) config_reloads.Add({{"result", result}});
    for (const char* type : {"register", "heartbeat", "ack"}) {
      messages_received.Add({{"type", type}});
    }
    sessions_rejected.Add({{"reason", "unknown_key"}});
  }
};

CpMetrics::CpMetrics(std::string_view version) : impl_(std::make_unique<Impl>(version)) {}

CpMetrics::~CpMetrics() = default;

void CpMetrics::session_opened() {
  impl_->sessions_opened.Increment();
}

void CpMetrics::session_rejected(std::string_view reason) {
  impl_->sessions_rejected.Add({{"reason", std::string(reason)}}).Increment();
}

void CpMetrics::message_received(std::string_view type) {
  impl_->messages_received.Add({{"type", std::string(type)}}).Increment();
}

void CpMetrics::run_created(RunTrigger trigger) {
  impl_->runs_created.Add({{"trigger", std::string(to_string(trigger))}}).Increment();
}

void CpMetrics::run_finished(RunStatus status) {
  impl_->runs_finished.Add({{"status", std::string(to_string(status))}}).Increment();
}

void CpMetrics::api_request(unsigned http_status) {
  const unsigned hundreds = http_status / 100;
  const std::string status_class =
      hundreds >= 1 && hundreds <= 5 ? std::to_string(hundreds) + "xx" : "other";
  impl_->api_requests.Add({{"status_class", status_class}}).Increment();
}

void CpMetrics::object_bytes_received(std::uint64_t bytes) {
  impl_->object_bytes.Increment(static_cast<double>(bytes));
}

void CpMetrics::config_reload(bool ok) {
  impl_->config_reloads.Add({{"result", ok ? "ok" : "failed"}}).Increment();
}

std::string CpMetrics::expose(const State& state) {
  impl_->agents_configured.Set(static_cast<double>(state.agents_configured));
  impl_->agents_connected.Set(static_cast<double>(state.agents_connected));
  impl_->runs_active.Set(static_cast<double>(state.runs_active));
  return prometheus::TextSerializer().Serialize(impl_->registry.Collect());
}

}  // namespace backupy::controlplane::detail
