#pragma once
// A minimal HTTP CONNECT proxy on 127.0.0.1 for tests of HTTPS_PROXY support.
//
// It records each request head, then either opens a TCP tunnel to the
// requested host:port (reply_status 200) or answers with reply_status (e.g.
// 407, with Proxy-Authenticate) and closes. Plain sockets and one thread per
// client; no TLS to the proxy itself (the agent does not support that).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace backupy::test_support {

class TestConnectProxy {
 public:
  explicit TestConnectProxy(int reply_status = 200);
  ~TestConnectProxy();  // closes every tunnel and joins its threads
  TestConnectProxy(const TestConnectProxy&) = delete;
  TestConnectProxy& operator=(const TestConnectProxy&) = delete;

  std::uint16_t port() const;
  // Request heads as received ("CONNECT host:443 HTTP/1.1\r\nHost: ...\r\n..."), oldest first.
  std::vector<std::string> requests() const;
  // Tunnels that were opened (upstream connected and 200 sent).
  int tunnels() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace backupy::test_support
