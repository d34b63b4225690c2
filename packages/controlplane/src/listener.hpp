#pragma once
// The TLS listener and HTTP router (implemented in listener.cpp; no Beast in this header).
#include <cstdint>
#include <memory>

#include "backupy/controlplane/server_config.hpp"
#include "server_state.hpp"

namespace boost::asio {
class io_context;
}

namespace backupy::controlplane::detail {

class Listener {
 public:
  virtual ~Listener() = default;

  // Loads the TLS files and binds config.listen_host:listen_port. Throws std::runtime_error.
  static std::shared_ptr<Listener> create(boost::asio::io_context& io, ServerState& state,
                                          const ServerConfig& config);

  virtual std::uint16_t port() const = 0;
  virtual void start() = 0;
  // Stops accepting and aborts connections still in the TLS/HTTP stage.
  virtual void close() = 0;
  // Replaces the TLS certificate/key for new connections. Throws std::runtime_error.
  virtual void load_tls(const TlsFiles& files) = 0;
};

}  // namespace backupy::controlplane::detail
