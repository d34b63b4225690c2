#include "close_text.hpp"

#include <gtest/gtest.h>

namespace backupy::net::detail {
namespace {

TEST(CloseTextTest, DurationsAreExact) {
  EXPECT_EQ(format_duration(std::chrono::seconds(90)), "90s");
  EXPECT_EQ(format_duration(std::chrono::milliseconds(600)), "600ms");
  EXPECT_EQ(format_duration(std::chrono::milliseconds(1500)), "1500ms");
  EXPECT_EQ(format_duration(std::chrono::milliseconds(0)), "0ms");
}

TEST(CloseTextTest, HostPortBracketsIpv6) {
  EXPECT_EQ(host_port("example.com", 443), "example.com:443");
  EXPECT_EQ(host_port("::1", 8443), "[::1]:8443");
}

TEST(CloseTextTest, CloseCodesAreNamed) {
  EXPECT_EQ(close_code_text(1009), "1009 (message too big)");
  EXPECT_EQ(close_code_text(4000), "4000");
}

TEST(CloseTextTest, UpgradeRefusalsGiveAHint) {
  EXPECT_EQ(upgrade_refused_message(401, "Unauthorized", "/v1/agents/connect"),
            "control plane refused the WebSocket upgrade: HTTP 401 Unauthorized (check "
            "BACKUPY_AGENT_KEY)");
  EXPECT_EQ(upgrade_refused_message(404, "Not Found", "/x/v1/agents/connect"),
            "control plane refused the WebSocket upgrade: HTTP 404 Not Found (check the server "
            "URL: no agent endpoint at /x/v1/agents/connect)");
  EXPECT_EQ(upgrade_refused_message(599, "", "/"),
            "control plane refused the WebSocket upgrade: HTTP 599");
}

}  // namespace
}  // namespace backupy::net::detail
