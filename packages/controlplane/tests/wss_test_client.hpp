#pragma once
// The clients of the server tests: one-shot HTTPS requests and a minimal WebSocket agent, both
// trusting the tests' CA. Beast stays in wss_test_client.cpp (the only Beast translation unit
// of the tests, which keeps their compile time down).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backup/v1/agent.pb.h"

namespace backupy::controlplane::testing {

struct HttpReply {
  unsigned status = 0;
  std::string body;
  std::string content_type;
};

// One request over a fresh TLS connection to 127.0.0.1:port.
HttpReply https_get(std::uint16_t port, const std::filesystem::path& ca, const std::string& target,
                    const std::optional<std::string>& authorization = {});
// method: "GET", "POST", "PUT", ...
HttpReply https_request(std::uint16_t port, const std::filesystem::path& ca,
                        std::string_view method, const std::string& target,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        const std::string& body = "");

struct CloseReason {
  std::uint16_t code = 0;
  std::string reason;
};

// A minimal agent: async Beast ops driven with io_context::run_one_for so every wait is
// bounded.
class AgentClient {
 public:
  using Envelope = backup::v1::Envelope;

  AgentClient(std::uint16_t port, const std::filesystem::path& ca);
  ~AgentClient();
  AgentClient(AgentClient&&) noexcept;
  AgentClient& operator=(AgentClient&&) noexcept;

  // Connects and upgrades; returns 101 on success, 0 if the upgrade was declined.
  unsigned connect(const std::string& key);
  // Connects, registers and returns the RegisterAck envelope.
  Envelope register_agent(const std::string& key,
                          std::vector<std::string> capabilities = {"pg_dump", "delivery_ack.v1"});

  void send(Envelope envelope);  // sets seq and ts_ms
  void send_raw(const std::string& bytes, bool binary);

  // The next envelope, or nullopt on timeout or when the connection ended (see closed()).
  std::optional<Envelope> next(std::chrono::milliseconds timeout);
  // The next envelope with the given payload, skipping others (e.g. pings).
  std::optional<Envelope> next_of(Envelope::PayloadCase payload,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(3));
  // Reads DeliveryAcks until one covers `through`; returns every through value seen.
  std::vector<std::uint64_t> acks_until(
      std::uint64_t through, std::chrono::milliseconds timeout = std::chrono::seconds(5));

  bool closed() const;
  CloseReason close_reason() const;
  // Waits for the server to end the connection.
  bool wait_closed(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace backupy::controlplane::testing
