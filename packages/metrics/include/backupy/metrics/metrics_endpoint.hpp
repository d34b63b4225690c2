#pragma once
// The agent's local HTTP endpoint (BACKUPY_METRICS_LISTEN_ADDR, docs/metrics.md):
//   GET /metrics  the Prometheus text exposition
//   GET /healthz  a small JSON liveness answer
// Anything else is 404; other methods on these paths are 405.
//
// Plain HTTP/1.1 on the control thread's io_context, like the node exporter: the endpoint is
// meant for a loopback address or a scrape network, and it serves nothing secret. Both
// answers are produced on the control thread, so a /healthz answer proves the control loop
// is alive. Bounded: at most kMaxConnections at once (more are closed at accept), headers of
// at most 8 KiB, no request bodies, 10 s to send a request; keep-alive is honoured.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
}

namespace backupy::metrics {

inline constexpr std::size_t kMaxConnections = 16;

struct EndpointHandlers {
  std::function<std::string()> metrics;  // the exposition (kContentType)
  std::function<std::string()> healthz;  // a JSON object
};

// "host:port", "[v6]:port"; the host is an address or a name resolved once at start.
struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};
// Throws std::invalid_argument naming what is wrong.
ListenAddress parse_listen_address(std::string_view text);

class MetricsEndpoint {
 public:
  // Binds at once (SO_REUSEADDR) and starts accepting. Throws std::runtime_error naming the
  // address and the reason (address in use, permission denied, unknown host).
  MetricsEndpoint(boost::asio::io_context& io, std::string_view listen_address,
                  EndpointHandlers handlers);
  ~MetricsEndpoint();  // close()
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // The bound port (useful with port 0).
  std::uint16_t port() const;
  // Stops accepting and closes open connections. Control thread only. Idempotent.
  void close();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace backupy::metrics
