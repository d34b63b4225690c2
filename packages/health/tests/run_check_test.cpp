#include "backupy/health/run_check.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "backupy/test_support/test_http_server.hpp"
#include "backupy/test_support/test_pki.hpp"
#include "listener.hpp"

namespace backupy::health {
namespace {

using test_support::Reply;
using test_support::TestHttpServer;

backup::v1::HealthCheckSpec http_spec(const std::string& url, std::uint32_t expected = 0) {
  backup::v1::HealthCheckSpec spec;
  spec.set_id("web");
  spec.set_type(url.starts_with("https") ? backup::v1::HTTPS : backup::v1::HTTP);
  spec.set_target(url);
  spec.set_timeout_sec(5);
  spec.set_expected_status(expected);
  return spec;
}

backup::v1::HealthCheckSpec tcp_spec(std::uint16_t port) {
  backup::v1::HealthCheckSpec spec;
  spec.set_id("db");
  spec.set_type(backup::v1::TCP_CHECK);
  spec.set_target("127.0.0.1:" + std::to_string(port));
  spec.set_timeout_sec(5);
  return spec;
}

std::string local(std::uint16_t port, const std::string& path = "/health") {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

TEST(RunCheck, Http200IsOkWithStatusLatencyAndTimestamp) {
  TestHttpServer server({Reply{.status = 200, .body = "ok"}});
  auto result = run_check(http_spec(local(server.port())), {});
  EXPECT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result.check_id(), "web");
  EXPECT_EQ(result.status_code(), 200u);
  EXPECT_EQ(result.error(), "");
  EXPECT_GT(result.ts_ms(), 1'600'000'000'000u);
  EXPECT_LT(result.latency_ms(), 5000u);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].method, "GET");
  EXPECT_EQ(server.requests()[0].target, "/health");
}

TEST(RunCheck, Http500FailsWithStatusCode) {
  TestHttpServer server({Reply{.status = 500}});
  auto result = run_check(http_spec(local(server.port())), {});
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.status_code(), 500u);
  EXPECT_EQ(result.error(), "HTTP 500, expected 2xx or 3xx");
}

TEST(RunCheck, ExpectedStatusMatchesAndMismatches) {
  TestHttpServer server({Reply{.status = 404}});
  auto hit = run_check(http_spec(local(server.port()), 404), {});
  EXPECT_TRUE(hit.ok()) << hit.error();
  EXPECT_EQ(hit.status_code(), 404u);
  auto miss = run_check(http_spec(local(server.port()), 204), {});
  EXPECT_FALSE(miss.ok());
  EXPECT_EQ(miss.error(), "HTTP 404, expected 204");
}

TEST(RunCheck, RedirectIsOkByDefaultAndNotFollowed) {
  TestHttpServer server({Reply{.status = 302, .headers = {{"Location", "http://127.0.0.1:1/x"}}}});
  auto result = run_check(http_spec(local(server.port())), {});
  EXPECT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result.status_code(), 302u);
  EXPECT_EQ(server.connections(), 1);
}

TEST(RunCheck, SilentServerTimesOutWithinTheBound) {
  TestHttpServer server({Reply{.kind = Reply::Kind::stall}});
  auto spec = http_spec(local(server.port()));
  spec.set_timeout_sec(1);
  auto started = std::chrono::steady_clock::now();
  auto result = run_check(spec, {});
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_FALSE(result.ok());
  EXPECT_TRUE(result.error().starts_with("timed out after 1 s")) << result.error();
  EXPECT_LT(took, std::chrono::seconds(4));
  EXPECT_GE(result.latency_ms(), 900u);
}

TEST(RunCheck, HttpsWithTheTrustedTestCaIsOk) {
  auto pki = test_support::test_pki();
  TestHttpServer server({Reply{.status = 204}}, pki);
  CheckOptions options;
  options.ca_file = (pki / "ca.crt").string();
  auto result =
      run_check(http_spec("https://localhost:" + std::to_string(server.port()) + "/"), options);
  EXPECT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result.status_code(), 204u);
}

TEST(RunCheck, HttpsWithAnUntrustedCaFailsOnCertificateVerification) {
  auto pki = test_support::test_pki();
  TestHttpServer server({Reply{.status = 200}}, pki);
  CheckOptions options;
  options.ca_file = (pki / "other-ca.crt").string();
  auto result = run_check(
      http_spec("https://localhost:" + std::to_string(server.port()) + "/?token=s3cr3t"), options);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.status_code(), 0u);
  EXPECT_NE(result.error().find("certificate"), std::string::npos) << result.error();
  EXPECT_EQ(result.error().find("s3cr3t"), std::string::npos) << result.error();
}

TEST(RunCheck, ErrorsNeverCarryTheQueryOrUserinfo) {
  auto closed = test::closed_port();
  auto result = run_check(http_spec("http://user:pa55@127.0.0.1:" + std::to_string(closed.port()) +
                                    "/health?token=s3cr3t"),
                          {});
  EXPECT_FALSE(result.ok());
  EXPECT_FALSE(result.error().empty());
  EXPECT_EQ(result.error().find("s3cr3t"), std::string::npos) << result.error();
  EXPECT_EQ(result.error().find("pa55"), std::string::npos) << result.error();
}

TEST(RunCheck, PlainHttpToANonLoopbackHostIsRefusedPrecisely) {
  auto result = run_check(http_spec("http://192.0.2.1/health?token=s3cr3t"), {});
  EXPECT_FALSE(result.ok());
  EXPECT_NE(result.error().find("loopback"), std::string::npos) << result.error();
  EXPECT_EQ(result.error().find("s3cr3t"), std::string::npos) << result.error();
}

TEST(RunCheck, TcpConnectToAListenerIsOk) {
  test::Listener listener;
  auto result = run_check(tcp_spec(listener.port()), {});
  EXPECT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result.check_id(), "db");
  EXPECT_LT(result.latency_ms(), 5000u);
}

TEST(RunCheck, TcpConnectToARefusedPortFails) {
  auto closed = test::closed_port();
  auto result = run_check(tcp_spec(closed.port()), {});
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.error(),
            "connect to 127.0.0.1:" + std::to_string(closed.port()) + ": Connection refused");
}

TEST(RunCheck, TcpTargetWithoutPortIsAPreciseError) {
  backup::v1::HealthCheckSpec spec = tcp_spec(1);
  spec.set_target("db.internal");
  auto result = run_check(spec, {});
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.error(), "invalid TCP target \"db.internal\": expected host:port");
}

TEST(RunCheck, TimeoutDefaultsAndIsCappedByTheInterval) {
  backup::v1::HealthCheckSpec spec;
  EXPECT_EQ(effective_timeout(spec, {}), std::chrono::seconds(10));
  spec.set_interval_sec(5);
  EXPECT_EQ(effective_timeout(spec, {}), std::chrono::seconds(5));
  spec.set_timeout_sec(3);
  EXPECT_EQ(effective_timeout(spec, {}), std::chrono::seconds(3));
}

}  // namespace
}  // namespace backupy::health
