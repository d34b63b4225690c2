// WssConnection against WsTestPeer over real TCP/TLS on loopback. The client
// runs on this thread's io_context; the peer runs on its own thread, so a
// blocking peer call never waits for client progress it depends on.
#include "backupy/net/wss_connection.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <fstream>
#include <thread>

#include "backupy/test_support/connect_proxy.hpp"
#include "backupy/test_support/test_pki.hpp"
#include "backupy/test_support/ws_test_peer.hpp"

namespace backupy::net {
namespace {

using namespace std::chrono_literals;
using test_support::TestConnectProxy;
using test_support::WsTestPeer;
using test_support::WsTestPeerOptions;

constexpr std::string_view kAgentKey = "bkpy_test_0123456789abcdefghijklmnopqrstuv";

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// A listening socket that never accepts: the kernel completes the TCP
// handshake, then nothing ever answers. Closing it leaves a refusing port.
class SilentListener {
 public:
  SilentListener() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::listen(fd_, 8);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~SilentListener() { close(); }
  void close() {
    if (client_ >= 0) ::close(client_);
    if (fd_ >= 0) ::close(fd_);
    client_ = fd_ = -1;
  }
  std::uint16_t port() const { return port_; }
  // True once a client connected and sent its first bytes (a TLS ClientHello): the client is
  // then in its handshake, which this listener never answers. Never blocks.
  bool client_is_talking() {
    if (client_ < 0) client_ = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    char byte = 0;
    return client_ >= 0 && ::recv(client_, &byte, 1, MSG_PEEK) == 1;
  }

 private:
  int fd_;
  int client_ = -1;
  std::uint16_t port_ = 0;
};

class WssConnectionTest : public ::testing::Test {
 protected:
  static std::string pki(const std::string& file) {
    static const std::filesystem::path dir = test_support::test_pki();
    return (dir / file).string();
  }

  static WsTestPeerOptions peer_options(const std::string& cert = "server") {
    WsTestPeerOptions options;
    options.cert_file = pki(cert + ".crt");
    options.key_file = pki(cert + ".key");
    return options;
  }

  static WssOptions client_options(std::uint16_t port, const std::string& host = "localhost",
                                   const std::string& scheme = "wss") {
    WssOptions options;
    options.url =
        *parse_url(scheme + "://" + host + ":" + std::to_string(port) + "/v1/agents/connect");
    options.headers = {{"Authorization", "Bearer " + std::string(kAgentKey)}};
    options.ca_file = pki("ca.crt");
    options.connect_timeout = 2s;
    options.handshake_timeout = 2s;
    return options;
  }

  std::shared_ptr<WssConnection> start(WssOptions options) {
    WssConnection::Handlers handlers;
    handlers.on_open = [this] {
      opened_ = true;
      log_.push_back("open");
    };
    handlers.on_message = [this](std::string&& payload, bool is_text) {
      messages_.emplace_back(std::move(payload), is_text);
    };
    handlers.on_closed = [this](const CloseInfo& info) {
      ++closed_calls_;
      closed_ = info;
      log_.push_back("closed");
    };
    connection_ = WssConnection::create(io_, std::move(options), std::move(handlers));
    connection_->start();
    return connection_;
  }

  void send(std::string payload) {
    const std::string name = "written:" + payload.substr(0, 8);
    connection_->send(std::move(payload), [this, name](std::error_code ec) {
      written_.push_back(ec);
      log_.push_back(name + (ec ? ":" + ec.message() : ""));
    });
  }

  // Runs the client until done() or the timeout; false on timeout.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 3s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io_.restart();
      if (io_.run_for(5ms) == 0) std::this_thread::sleep_for(1ms);
    }
    return true;
  }

  bool run_until_open() {
    return run_until([&] { return opened_ || closed_.has_value(); }) && opened_;
  }
  const CloseInfo& run_until_closed(std::chrono::milliseconds timeout = 3s) {
    EXPECT_TRUE(run_until([&] { return closed_.has_value(); }, timeout)) << "never closed";
    if (!closed_) closed_.emplace();
    return *closed_;
  }

  boost::asio::io_context io_;  // first: outlives the connection
  std::shared_ptr<WssConnection> connection_;
  bool opened_ = false;
  int closed_calls_ = 0;
  std::optional<CloseInfo> closed_;
  std::vector<std::pair<std::string, bool>> messages_;
  std::vector<std::error_code> written_;
  std::vector<std::string> log_;
};

TEST_F(WssConnectionTest, UpgradesWithHeadersAndEchoesBothWays) {
  WsTestPeer peer(peer_options());
  start(client_options(peer.port()));
  ASSERT_TRUE(run_until_open()) << closed_->message;
  auto conn = peer.accept(2s);
  ASSERT_TRUE(conn);
  EXPECT_EQ(conn->request().authorization, "Bearer " + std::string(kAgentKey));
  EXPECT_EQ(conn->request().user_agent, "backupy-agent");
  EXPECT_EQ(conn->request().target, "/v1/agents/connect");
  EXPECT_EQ(conn->request().host, "localhost:" + std::to_string(peer.port()));

  const std::string binary("env\0elope\xff", 10);
  send(binary);
  ASSERT_TRUE(run_until([&] { return written_.size() == 1; }));
  EXPECT_FALSE(written_[0]);
  EXPECT_EQ(connection_->pending_writes(), 0u);
  EXPECT_EQ(conn->read_binary(2s), binary);

  conn->send_binary(binary);
  conn->send_text("not protocol");
  ASSERT_TRUE(run_until([&] { return messages_.size() == 2; }));
  EXPECT_EQ(messages_[0], std::make_pair(binary, false));
  EXPECT_EQ(messages_[1], std::make_pair(std::string("not protocol"), true));

  connection_->close(1000, "bye");
  const CloseInfo& info = run_until_closed();
  EXPECT_EQ(info.stage, CloseInfo::Stage::open);
  EXPECT_EQ(info.close_code, 1000);
  EXPECT_EQ(info.message, "closed by the agent with code 1000 (normal)");
  EXPECT_EQ(conn->wait_closed(2s), 1000);
  run_until([] { return false; }, 50ms);
  EXPECT_EQ(closed_calls_, 1);
}

TEST_F(WssConnectionTest, PlainWebSocketForDevelopment) {
  WsTestPeerOptions options;
  options.tls = false;
  WsTestPeer peer(options);
  start(client_options(peer.port(), "127.0.0.1", "ws"));
  ASSERT_TRUE(run_until_open()) << closed_->message;
  auto conn = peer.accept(2s);
  ASSERT_TRUE(conn);
  send("ping?");
  EXPECT_EQ(conn->read_binary(2s), "ping?");
  conn->send_binary("pong!");
  ASSERT_TRUE(run_until([&] { return messages_.size() == 1; }));
  EXPECT_EQ(messages_[0].first, "pong!");
}

TEST_F(WssConnectionTest, IpLiteralVerifiesAgainstIpSubjectAltName) {
  WsTestPeer peer(peer_options());
  start(client_options(peer.port(), "127.0.0.1"));
  ASSERT_TRUE(run_until_open()) << closed_->message;
}

TEST_F(WssConnectionTest, UntrustedIssuerFailsInTheTlsStage) {
  WsTestPeer peer(peer_options("other-server"));
  start(client_options(peer.port()));
  const CloseInfo& info = run_until_closed();
  EXPECT_EQ(info.stage, CloseInfo::Stage::tls);
  EXPECT_TRUE(info.error);
  EXPECT_EQ(info.message, "TLS handshake with localhost:" + std::to_string(peer.port()) +
                              " failed: certificate verify failed (unable to get local issuer "
                              "certificate)");
  EXPECT_FALSE(opened_);
}

TEST_F(WssConnectionTest, SystemStoreAloneDoesNotTrustTheTestCa) {
  WsTestPeer peer(peer_options());
  WssOptions options = client_options(peer.port());
  options.ca_file.reset();
  start(options);
  const CloseInfo& info = run_until_closed();
  EXPECT_EQ(info.stage, CloseInfo::Stage::tls);
  EXPECT_TRUE(contains(info.message, "certificate verify failed (")) << info.message;
}

TEST_F(WssConnectionTest, WrongHostnameFailsVerification) {
  WsTestPeer peer(peer_options("wronghost"));
  start(client_options(peer.port()));
  EXPECT_TRUE(contains(run_until_closed().message,
                       "failed: certificate verify failed (hostname "
                       "mismatch)"))
      << closed_->message;
  EXPECT_EQ(closed_->stage, CloseInfo::Stage::tls);
}

TEST_F(WssConnectionTest, WrongIpFailsVerification) {
  WsTestPeer peer(peer_options("wronghost"));
  start(client_options(peer.port(), "127.0.0.1"));
  EXPECT_TRUE(contains(run_until_closed().message,
                       "certificate verify failed (IP address "
                       "mismatch)"))
      << closed_->message;
}

TEST_F(WssConnectionTest, TlsToAPlainServerFailsInTheTlsStage) {
  WsTestPeerOptions options;
  options.tls = false;
  WsTestPeer peer(options);
  start(client_options(peer.port()));
  const CloseInfo& info = run_until_closed();
  EXPECT_EQ(info.stage, CloseInfo::Stage::tls);
  EXPECT_EQ(info.message, "TLS handshake with localhost:" + std::to_string(peer.port()) +
                              " failed: the server closed the connection mid-handshake (is this "
                              "a TLS port?)");
}

TEST_F(WssConnectionTest, HeaderInjectionIsRefusedBeforeDialing) {
  WssOptions options = client_options(9);
  options.headers.emplace_back("X-Evil", std::string(kAgentKey) + "\r\nX-Injected: 1");
  start(options);
  const CloseInfo& info = run_until_closed();
  EXPECT_EQ(info.stage, CloseInfo::Stage::upgrade);
  EXPECT_EQ(info.message, "header X-Evil contains a line break or NUL");
}

TEST_F(WssConnectionTest, MissingOrBrokenCaFileIsReportedClearly) {
  WssOptions options = client_options(9);
  options.ca_file = "/nonexistent/ca.pem";
  start(options);
  const CloseInfo& missing = run_until_closed();
  EXPECT_EQ(missing.stage, CloseInfo::Stage::tls);
  EXPECT_EQ(missing.message, "cannot load CA file /nonexistent/ca.pem: No such file or directory");

  const std::string junk = ::testing::TempDir() + "junk-ca.pem";
  std::ofstream(junk) << "not a certificate\n";
  closed_.reset();
  options.ca_file = junk;
  start(options);
  EXPECT_TRUE(contains(run_until_closed().message, "cannot load CA file " + junk + ": "))
      << closed_->message;
}

TEST_F(WssConnectionTest, UnauthorizedUpgradeIsAnAuthFailureWithoutTheKey) {
  WsTestPeerOptions options = peer_options();
  options.reject_with_status = 401;
  WsTestPeer peer(options);
  start(client_options(peer.port()));
  const CloseInfo& info = run_until_closed();
  EXPECT_EQ(info.stage, CloseInfo::Stage::upgrade);
  EXPECT_EQ(info.http_status, 401);
  EXPECT_TRUE(info.auth_failure);
  EXPECT_EQ(info.message,
            "control plane refused the WebSocket upgrade: HTTP 401 Unauthorized (check "
            "BACKUPY_AGENT_KEY)");
  EXPECT_FALSE(contains(info.message, kAgentKey));
  EXPECT_EQ(peer.rejected_attempts(), 1);
  EXPECT_EQ(peer.seen_authorization_headers(),
            std::vector<std::string>{"Bearer " + std::string(kAgentKey)});
}

TEST_F(WssConnectionTest, ForbiddenIsAnAuthFailureToo) {
  WsTestPeerOptions options = peer_options();
  options.reject_with_status = 403;
  WsTestPeer peer(options);
  start(client_options(peer.port()));
  const CloseInfo& info = run_until_closed();
  EXPECT_EQ(info.http_status, 403);
  EXPECT_TRUE(info.auth_failure);
  EXPECT_TRUE(contains(info.message, "HTTP 403 Forbidden (check BACKUPY_AGENT_KEY)"));
}

TEST_F(WssConnectionTest, WrongPathIsNotFound) {
  WsTestPeer peer(peer_options());
  WssOptions options = client_options(peer.port());
  options.url.target = "/prefix/v1/agents/connect?token=s3cr3t";
  start(options);
  const CloseInfo& info = run_until_closed();
  EXPECT_EQ(info.stage, CloseInfo::Stage::upgrade);
  EXPECT_EQ(info.http_status, 404);
  EXPECT_FALSE(info.auth_failure);
  EXPECT_EQ(info.message,
            "control plane refused the WebSocket upgrade: HTTP 404 Not Found (check the server "
            "URL: no agent endpoint at /prefix/v1/agents/connect)");
}

TEST_F(WssConnectionTest, ClosedPortIsRefusedInTheConnectStage) {
  SilentListener listener;
  const std::uint16_t port = listener.port();
  listener.close();
  start(client_options(port, "127.0.0.1"));
  const CloseInfo& info = run_until_closed();
  EXPECT_EQ(info.stage, CloseInfo::Stage::connect);
  EXPECT_EQ(info.error, std::errc::connection_refused);
  EXPECT_EQ(info.message,
            "cannot connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

TEST_F(WssConnectionTest, SilentServerTimesOutTheTlsHandshake) {
  SilentListener listener;
  WssOptions options = client_options(listener.port());
  options.handshake_timeout = 300ms;
  start(options);
  const CloseInfo& info = run_until_closed();
  EXPECT_EQ(info.stage, CloseInfo::Stage::tls);
  EXPECT_EQ(info.error, std::errc::timed_out);
  EXPECT_EQ(info.message, "TLS handshake with localhost:" + std::to_string(listener.port()) +
                              " failed: timed out after 300ms");
}

TEST_F(WssConnectionTest, OversizedMessageClosesWith1009) {
  WsTestPeer peer(peer_options());
  WssOptions options = client_options(peer.port());
  options.max_inbound_message = 64 * 1024;
  start(options);
  ASSERT_TRUE(run_until_open());
  auto conn = peer.accept(2s);
  ASSERT_TRUE(conn);
  conn->send_binary(std::string(64 * 1024, 'a'));  // exactly the limit: fine
  ASSERT_TRUE(run_until([&] { return messages_.size() == 1; }));
  conn->send_binary(std::string(64 * 1024 + 1, 'b'));
  const CloseInfo& info = run_until_closed();
  EXPECT_EQ(info.stage, CloseInfo::Stage::open);
  EXPECT_TRUE(info.message_too_big);
  EXPECT_EQ(info.close_code, 1009);
  EXPECT_EQ(info.message,
            "control plane sent a message over the 65536-byte limit; closed with 1009 (message "
            "too big)");
  EXPECT_EQ(conn->wait_closed(2s), 1009);
  EXPECT_EQ(messages_.size(), 1u);
}

// The peer is still pushing megabytes when the agent gives up: the 1009 must
// survive a TLS teardown that meets application data instead of close_notify.
TEST_F(WssConnectionTest, OversizedMessageMidStreamStillReportsTooBig) {
  WsTestPeer peer(peer_options());
  start(client_options(peer.port()));  // default limit: 4 MiB
  ASSERT_TRUE(run_until_open());
  auto conn = peer.accept(2s);
  ASSERT_TRUE(conn);
  conn->send_binary(std::string(6 * 1024 * 1024, 'x'));
  const CloseInfo& info = run_until_closed();
  EXPECT_TRUE(info.message_too_big) << info.message;
  EXPECT_EQ(info.close_code, 1009);
  EXPECT_EQ(conn->wait_closed(2s), 1009);
}

TEST_F(WssConnectionTest, MalformedFrameClosesWith1002) {
  WsTestPeer peer(peer_options());
  start(client_options(peer.port()));
  ASSERT_TRUE(run_until_open());
  auto conn = peer.accept(2s);
  ASSERT_TRUE(conn);
  conn->send_raw(std::string("\x83\x00", 2));  // FIN + reserved opcode 3, empty
  const CloseInfo& info = run_until_closed();
  EXPECT_EQ(info.stage, CloseInfo::Stage::open);
  EXPECT_EQ(info.close_code, 1002);
  EXPECT_TRUE(info.message.starts_with("control plane violated the WebSocket protocol ("))
      << info.message;
  EXPECT_TRUE(info.message.ends_with("); closed with 1002 (protocol error)")) << info.message;
  EXPECT_EQ(conn->wait_closed(2s), 1002);
}

TEST_F(WssConnectionTest, ServerCloseCodeAndReasonAreReported) {
  WsTestPeer peer(peer_options());
  start(client_options(peer.port()));
  ASSERT_TRUE(run_until_open());
  auto conn = peer.accept(2s);
  ASSERT_TRUE(conn);
  conn->close(1001, "restarting");
  const CloseInfo& info = run_until_closed();
  EXPECT_EQ(info.stage, CloseInfo::Stage::open);
  EXPECT_EQ(info.close_code, 1001);
  EXPECT_EQ(info.message,
            "control plane closed the connection with code 1001 (going away): "
            "restarting");
  EXPECT_EQ(conn->wait_closed(2s), 1001);  // our echo
}

TEST_F(WssConnectionTest, SilentPeerIsDeclaredDeadWithinTheIdleTimeout) {
  WsTestPeer peer(peer_options());
  WssOptions options = client_options(peer.port());
  options.idle_timeout = 600ms;
  start(options);
  ASSERT_TRUE(run_until_open());
  auto conn = peer.accept(2s);
  ASSERT_TRUE(conn);
  conn->go_silent();
  const auto began = std::chrono::steady_clock::now();
  const CloseInfo& info = run_until_closed();
  const auto took = std::chrono::steady_clock::now() - began;
  EXPECT_EQ(info.stage, CloseInfo::Stage::open);
  EXPECT_EQ(info.message, "no data from the control plane for 600ms (dead peer)");
  EXPECT_GE(took, 250ms);
  EXPECT_LE(took, 1500ms);  // idle_timeout plus slack for a loaded machine
}

TEST_F(WssConnectionTest, KeepAlivePingsKeepAQuietButLivePeerConnected) {
  WsTestPeer peer(peer_options());
  WssOptions options = client_options(peer.port());
  options.idle_timeout = 400ms;
  start(options);
  ASSERT_TRUE(run_until_open());
  auto conn = peer.accept(2s);
  ASSERT_TRUE(conn);
  // Three idle timeouts of silence at the application level; pongs answer our pings.
  EXPECT_FALSE(run_until([&] { return closed_.has_value(); }, 1200ms)) << closed_->message;
  EXPECT_TRUE(conn->is_open());
}

TEST_F(WssConnectionTest, TunnelsThroughAnHttpConnectProxy) {
  WsTestPeer peer(peer_options());
  TestConnectProxy proxy;
  WssOptions options = client_options(peer.port());
  options.proxy = ProxyConfig{"127.0.0.1", proxy.port(), "agent:pw"};
  start(options);
  ASSERT_TRUE(run_until_open()) << closed_->message;
  auto conn = peer.accept(2s);
  ASSERT_TRUE(conn);
  send("through the tunnel");
  EXPECT_EQ(conn->read_binary(2s), "through the tunnel");
  ASSERT_EQ(proxy.requests().size(), 1u);
  const std::string head = proxy.requests()[0];
  const std::string authority = "localhost:" + std::to_string(peer.port());
  EXPECT_TRUE(head.starts_with("CONNECT " + authority + " HTTP/1.1\r\n")) << head;
  EXPECT_TRUE(contains(head, "Host: " + authority + "\r\n")) << head;
  EXPECT_TRUE(contains(head, "Proxy-Authorization: Basic YWdlbnQ6cHc=\r\n")) << head;
  EXPECT_EQ(proxy.tunnels(), 1);
}

TEST_F(WssConnectionTest, ProxyRefusalIsClearAndKeepsCredentialsOut) {
  TestConnectProxy proxy(407);
  WssOptions options = client_options(443, "cp.example.com");
  options.proxy = ProxyConfig{"127.0.0.1", proxy.port(), "agent:s3cr3t"};
  start(options);
  const CloseInfo& info = run_until_closed();
  EXPECT_EQ(info.stage, CloseInfo::Stage::connect);
  EXPECT_EQ(info.proxy_status, 407);
  EXPECT_EQ(info.http_status, 0);
  EXPECT_EQ(info.message, "proxy 127.0.0.1:" + std::to_string(proxy.port()) +
                              " refused CONNECT to cp.example.com:443: HTTP 407 Proxy "
                              "Authentication Required (check the proxy credentials)");
  EXPECT_FALSE(contains(info.message, "s3cr3t"));
}

TEST_F(WssConnectionTest, SilentProxyTimesOutTheConnectStage) {
  SilentListener listener;
  WssOptions options = client_options(443, "cp.example.com");
  options.proxy = ProxyConfig{"127.0.0.1", listener.port(), std::nullopt};
  options.connect_timeout = 300ms;
  start(options);
  const CloseInfo& info = run_until_closed();
  EXPECT_EQ(info.stage, CloseInfo::Stage::connect);
  EXPECT_EQ(info.message, "proxy 127.0.0.1:" + std::to_string(listener.port()) +
                              " did not answer CONNECT to cp.example.com:443: timed out after "
                              "300ms");
}

TEST_F(WssConnectionTest, QueuedWritesFailBeforeOnClosedWhenClosing) {
  WsTestPeer peer(peer_options());
  start(client_options(peer.port()));
  ASSERT_TRUE(run_until_open());
  send("first");
  send("second");
  send("third");
  EXPECT_EQ(connection_->pending_writes(), 3u);
  connection_->close(1000, "");
  send("after close");
  run_until_closed();
  run_until([&] { return written_.size() == 4; });
  ASSERT_EQ(written_.size(), 4u);
  EXPECT_EQ(written_[1], std::errc::operation_canceled);
  EXPECT_EQ(written_[2], std::errc::operation_canceled);
  EXPECT_EQ(written_[3], std::errc::operation_canceled);
  EXPECT_FALSE(written_[0]);  // in flight when close() came: completes normally
  // Every on_written precedes on_closed.
  ASSERT_EQ(log_.size(), 6u);
  EXPECT_EQ(log_.back(), "closed") << ::testing::PrintToString(log_);
}

TEST_F(WssConnectionTest, CloseNowSilencesEveryCallback) {
  WsTestPeer peer(peer_options());
  start(client_options(peer.port()));
  ASSERT_TRUE(run_until_open());
  auto conn = peer.accept(2s);
  ASSERT_TRUE(conn);
  send(std::string(1 << 20, 'q'));
  send("queued");
  connection_->close_now();
  connection_->close(1000, "ignored");
  EXPECT_EQ(conn->wait_closed(2s), 1006);  // dropped, no close frame
  run_until([] { return false; }, 200ms);
  EXPECT_EQ(closed_calls_, 0);
  EXPECT_TRUE(written_.empty());
}

TEST_F(WssConnectionTest, CloseNowWhileDialingSilencesEveryCallback) {
  SilentListener listener;
  start(client_options(listener.port()));
  run_until([] { return false; }, 20ms);
  connection_->close_now();
  connection_.reset();  // pending handlers keep it alive until they drain
  run_until([] { return false; }, 100ms);
  EXPECT_EQ(closed_calls_, 0);
}

TEST_F(WssConnectionTest, CloseBeforeOpenReportsALocalClose) {
  SilentListener listener;
  start(client_options(listener.port()));
  run_until([&] { return listener.client_is_talking(); }, 10s);
  ASSERT_TRUE(listener.client_is_talking()) << "the client never sent its ClientHello";
  connection_->close(1000, "shutdown");
  const CloseInfo& info = run_until_closed();
  EXPECT_EQ(info.message, "closed by the agent before the connection opened");
  EXPECT_EQ(info.stage, CloseInfo::Stage::tls);
  EXPECT_EQ(info.close_code, 0);  // no close frame was sent
  run_until([] { return false; }, 50ms);
  EXPECT_EQ(closed_calls_, 1);
}

}  // namespace
}  // namespace backupy::net
