#pragma once
// A scripted WebSocket server for tests: plays the control plane's transport
// on 127.0.0.1 so the agent's connection code (or the whole agent binary) can
// be driven through real TCP, TLS and WebSocket framing.
//
// Shape: WsTestPeer listens on an ephemeral port and runs all network I/O on
// one thread of its own. Each upgraded connection is handed to the test as a
// WsPeerConnection, whose methods may be called from any thread: reads wait on
// a queue that the I/O thread fills, writes are queued and sent in call order.
// Inbound pings are answered while the connection is reading, which it does
// continuously until go_silent(), drop() or the close handshake.
//
// Beast stays out of this header, so tests that include it compile quickly.
//
//   WsTestPeer peer({.tls = true, .cert_file = pki / "server.crt", .key_file = ...});
//   ... point the agent at wss://localhost:<peer.port()>/ ...
//   auto conn = peer.accept(2s);          // nullptr if nobody upgraded in time
//   auto frame = conn->read_binary(2s);   // the agent's first message
//   conn->send_binary(reply);
//   conn->close(1000);
//   EXPECT_EQ(conn->wait_closed(2s), 1000);
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backupy::test_support {

struct WsTestPeerOptions {
  bool tls = true;
  std::string cert_file;  // PEM certificate chain; required when tls
  std::string key_file;   // PEM private key; required when tls
  // Upgrades to any other path are answered 404 (the query is ignored).
  std::string path = "/v1/agents/connect";
  // Non-zero: refuse every upgrade with this HTTP status (e.g. 401, 403, 503).
  int reject_with_status = 0;
  // Largest message the peer accepts; a bigger one makes the peer close with 1009.
  std::size_t max_message = 64u << 20;
};

// One message as received by the peer.
struct PeerMessage {
  std::string payload;
  bool text = false;  // a text frame (the agent should only ever send binary)
};

// The HTTP upgrade request as the peer saw it (recorded for refused ones too).
struct UpgradeRequest {
  std::string target;         // path + query
  std::string host;           // Host header
  std::string authorization;  // Authorization header, empty if absent
  std::string user_agent;     // User-Agent header
};

namespace detail {
class PeerSession;
struct PeerShared;
}  // namespace detail

// One upgraded connection. Destroying it drops the TCP connection (no close
// frame) if it is still open. Destroy connections before their WsTestPeer;
// after the peer is gone, sends are ignored and waits time out.
class WsPeerConnection {
 public:
  // Made by WsTestPeer::accept(); the session type is internal.
  explicit WsPeerConnection(std::shared_ptr<detail::PeerSession> session);
  ~WsPeerConnection();
  WsPeerConnection(const WsPeerConnection&) = delete;
  WsPeerConnection& operator=(const WsPeerConnection&) = delete;

  const UpgradeRequest& request() const;

  // The next message, binary or text; nullopt on timeout or once the
  // connection has closed and every received message has been read.
  std::optional<PeerMessage> read_message(std::chrono::milliseconds timeout);
  // Like read_message, for a binary message. Skips nothing: if the next
  // message is a text frame, returns nullopt and leaves it queued.
  std::optional<std::string> read_binary(std::chrono::milliseconds timeout);

  // Queued, sent in call order, each as a single frame (never fragmented, so
  // an oversized message is announced by its frame header). Errors are
  // ignored: the test observes the outcome on the agent's side.
  void send_binary(std::string_view payload);
  void send_text(std::string_view payload);
  // Writes bytes straight to the TLS/TCP stream, bypassing WebSocket framing,
  // to craft malformed frames (server frames are unmasked: e.g. "\x82\x01x"
  // is a valid binary frame, "\x8f\x00" uses a reserved opcode). May
  // interleave with a pong the peer is sending at the same moment.
  void send_raw(std::string_view bytes);
  void ping();
  // Starts the closing handshake with this code.
  void close(std::uint16_t code, std::string_view reason = {});

  // Waits until the connection is closed. Returns the close code the client
  // sent (its own close or its echo of ours), 1005 if its close frame had no
  // code, 1006 if the connection ended without a close frame from the client,
  // and nullopt on timeout.
  std::optional<std::uint16_t> wait_closed(std::chrono::milliseconds timeout);
  bool is_open() const;

  // Stops all I/O but keeps the TCP connection open: no more reads, so pings
  // go unanswered and the client's close frame is never seen; a dead peer.
  void go_silent();
  // Closes the TCP connection abruptly (no close frame, no TLS close_notify).
  void drop();

 private:
  std::shared_ptr<detail::PeerSession> session_;
};

class WsTestPeer {
 public:
  // Throws std::runtime_error if the certificate or key cannot be loaded.
  explicit WsTestPeer(WsTestPeerOptions options);
  ~WsTestPeer();
  WsTestPeer(const WsTestPeer&) = delete;
  WsTestPeer& operator=(const WsTestPeer&) = delete;

  std::uint16_t port() const;

  // The next connection that completed the upgrade, oldest first; nullptr on
  // timeout. Refused upgrades never show up here (see rejected_attempts()).
  std::unique_ptr<WsPeerConnection> accept(std::chrono::milliseconds timeout);

  // Changes the answer for upgrades that arrive from now on (0 = accept).
  void set_reject_status(int status);
  // Upgrades refused so far, by reject status or wrong path.
  int rejected_attempts() const;
  // TLS handshakes that failed (e.g. the client did not trust the certificate).
  int failed_handshakes() const;
  // Every upgrade request seen, refused ones included, oldest first.
  std::vector<UpgradeRequest> seen_requests() const;
  std::vector<std::string> seen_authorization_headers() const;

 private:
  std::shared_ptr<detail::PeerShared> shared_;
};

}  // namespace backupy::test_support
