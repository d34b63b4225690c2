#include "backupy/metrics/metrics_endpoint.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>

namespace backupy::metrics {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The endpoint on its own control thread, as in the agent.
class EndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    endpoint_ = std::make_unique<MetricsEndpoint>(
        io_, "127.0.0.1:0",
        EndpointHandlers{.metrics =
                             [this] {
                               ++scrapes_;
                               return std::string("backupy_agent_up 1\n");
                             },
                         .healthz = [] { return std::string(R"({"status":"ok"})"); }});
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    asio::post(io_, [this] { endpoint_->close(); });
    work_.reset();
    thread_.join();
  }

  // Sends raw bytes on a new connection and reads until the server closes it.
  std::string exchange(const std::string& request) {
    asio::io_context client;
    tcp::socket socket(client);
    socket.connect({asio::ip::make_address("127.0.0.1"), endpoint_->port()});
    asio::write(socket, asio::buffer(request));
    std::string response;
    boost::system::error_code ec;
    asio::read(socket, asio::dynamic_buffer(response), ec);
    return response;
  }

  static std::string get(const std::string& path, const std::string& method = "GET") {
    return method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  }

  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(io_)};
  std::unique_ptr<MetricsEndpoint> endpoint_;
  std::thread thread_;
  std::atomic<int> scrapes_{0};
};

TEST_F(EndpointTest, MetricsAreServedInTheTextFormat) {
  const std::string response = exchange(get("/metrics"));
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(response, HasSubstr("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
  EXPECT_THAT(response, HasSubstr("\r\n\r\nbackupy_agent_up 1\n"));
  EXPECT_EQ(scrapes_, 1);
}

TEST_F(EndpointTest, HealthzAnswersJsonBesideMetrics) {
  const std::string response = exchange(get("/healthz"));
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(response, HasSubstr("Content-Type: application/json\r\n"));
  EXPECT_THAT(response, HasSubstr("\r\n\r\n{\"status\":\"ok\"}\n"));
}

TEST_F(EndpointTest, AQueryStringDoesNotChangeTheRoute) {
  EXPECT_THAT(exchange(get("/metrics?name[]=x")), StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST_F(EndpointTest, OtherPathsAreNotFoundAndOtherMethodsNotAllowed) {
  EXPECT_THAT(exchange(get("/")), StartsWith("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_THAT(exchange(get("/metrics/x")), StartsWith("HTTP/1.1 404 Not Found\r\n"));
  const std::string post = exchange(get("/metrics", "POST"));
  EXPECT_THAT(post, StartsWith("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_THAT(post, HasSubstr("Allow: GET, HEAD\r\n"));
  EXPECT_EQ(scrapes_, 0);
}

TEST_F(EndpointTest, HeadAnswersWithoutABody) {
  const std::string response = exchange(get("/metrics", "HEAD"));
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(response, HasSubstr("Content-Length: 19\r\n"));
  EXPECT_EQ(response.substr(response.find("\r\n\r\n") + 4), "");
}

TEST_F(EndpointTest, KeepAliveServesSeveralScrapesOnOneConnection) {
  const std::string keep = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string response = exchange(keep + keep + get("/healthz"));
  std::size_t oks = 0;
  for (auto at = response.find("HTTP/1.1 200 OK"); at != std::string::npos;
       at = response.find("HTTP/1.1 200 OK", at + 1)) {
    ++oks;
  }
  EXPECT_EQ(oks, 3u);
  EXPECT_EQ(scrapes_, 2);
}

TEST_F(EndpointTest, MalformedAndOversizedRequestsGetA400) {
  EXPECT_THAT(exchange("NOT HTTP AT ALL\r\n\r\n"), StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  const std::string huge =
      "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20'000, 'a') + "\r\n\r\n";
  EXPECT_THAT(exchange(huge), StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_EQ(scrapes_, 0);
  // The endpoint still serves afterwards.
  EXPECT_THAT(exchange(get("/metrics")), StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST_F(EndpointTest, ARequestWithABodyIsRefused) {
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
  EXPECT_THAT(exchange(request), StartsWith("HTTP/1.1 400 Bad Request\r\n"));
}

TEST_F(EndpointTest, AfterCloseNothingIsAccepted) {
  std::promise<void> closed;
  asio::post(io_, [&] {
    endpoint_->close();
    closed.set_value();
  });
  closed.get_future().wait();
  asio::io_context client;
  tcp::socket socket(client);
  boost::system::error_code ec;
  socket.connect({asio::ip::make_address("127.0.0.1"), endpoint_->port()}, ec);
  if (!ec) {  // the port may still be bound by nobody: a connect must then fail or get EOF
    std::string response;
    asio::write(socket, asio::buffer(get("/metrics")), ec);
    asio::read(socket, asio::dynamic_buffer(response), ec);
    EXPECT_EQ(response, "");
  }
  EXPECT_EQ(scrapes_, 0);
}

TEST(MetricsEndpointHandlerTest, AFailingHandlerIsA500AndTheEndpointCarriesOn) {
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  std::atomic<bool> fail = true;
  MetricsEndpoint endpoint(io, "127.0.0.1:0",
                           {.metrics = [&]() -> std::string {
                              if (fail) throw std::runtime_error("state database is locked");
                              return "backupy_agent_up 1\n";
                            },
                            .healthz = [] { return std::string("{}"); }});
  std::thread thread([&] { io.run(); });
  auto fetch = [&] {
    asio::io_context client;
    tcp::socket socket(client);
    socket.connect({asio::ip::make_address("127.0.0.1"), endpoint.port()});
    asio::write(
        socket,
        asio::buffer(std::string("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")));
    std::string response;
    boost::system::error_code ec;
    asio::read(socket, asio::dynamic_buffer(response), ec);
    return response;
  };
  EXPECT_THAT(fetch(), StartsWith("HTTP/1.1 500 Internal Server Error\r\n"));
  fail = false;
  EXPECT_THAT(fetch(), StartsWith("HTTP/1.1 200 OK\r\n"));
  asio::post(io, [&] { endpoint.close(); });
  work.reset();
  thread.join();
}

TEST(MetricsEndpointBindTest, AnAddressInUseIsAPreciseError) {
  asio::io_context io;
  MetricsEndpoint first(io, "127.0.0.1:0", {});
  const std::string taken = "127.0.0.1:" + std::to_string(first.port());
  try {
    MetricsEndpoint second(io, taken, {});
    FAIL() << "a second endpoint bound the same port";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot listen on " + taken + ": "));
    EXPECT_THAT(e.what(), HasSubstr("in use"));
  }
}

TEST(MetricsEndpointBindTest, AnUnknownHostIsAPreciseError) {
  asio::io_context io;
  EXPECT_THROW(MetricsEndpoint(io, "no-such-host.invalid:9090", {}), std::runtime_error);
}

TEST(ListenAddressTest, HostsPortsAndBracketedV6AreParsed) {
  EXPECT_EQ(parse_listen_address("127.0.0.1:9090").host, "127.0.0.1");
  EXPECT_EQ(parse_listen_address("127.0.0.1:9090").port, 9090);
  EXPECT_EQ(parse_listen_address("[::1]:9100").host, "::1");
  EXPECT_EQ(parse_listen_address("0.0.0.0:0").port, 0);
  EXPECT_EQ(parse_listen_address("localhost:80").host, "localhost");
}

TEST(ListenAddressTest, MalformedAddressesSayWhatIsWrong) {
  for (const char* bad : {"9090", ":9090", "host:", "host:99999", "host:9x", "::1:9090"}) {
    EXPECT_THROW(parse_listen_address(bad), std::invalid_argument) << bad;
  }
  try {
    parse_listen_address("::1:9090");
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("brackets"));
  }
}

}  // namespace
}  // namespace backupy::metrics
