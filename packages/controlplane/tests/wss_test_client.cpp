#include "wss_test_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <functional>

#include "backupy/core/time.hpp"

namespace backupy::controlplane::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using namespace std::chrono_literals;

void trust_test_ca(ssl::context& ctx, const std::filesystem::path& ca) {
  ctx.load_verify_file(ca.string());
  ctx.set_verify_mode(ssl::verify_peer);
}

// Sends `request` over a fresh TLS connection to 127.0.0.1:port and reads the answer.
template <typename Body>
HttpReply https_exchange(std::uint16_t port, const std::filesystem::path& ca,
                         http::request<Body>& request) {
  asio::io_context io;
  ssl::context ctx(ssl::context::tls_client);
  trust_test_ca(ctx, ca);
  beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
  stream.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
  beast::get_lowest_layer(stream).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  stream.handshake(ssl::stream_base::client);
  if (request.find(http::field::host) == request.end()) {
    request.set(http::field::host, "127.0.0.1");
  }
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  error_code ignored;
  beast::get_lowest_layer(stream).socket().close(ignored);
  return {response.result_int(), response.body(), std::string(response[http::field::content_type])};
}

}  // namespace

HttpReply https_get(std::uint16_t port, const std::filesystem::path& ca, const std::string& target,
                    const std::optional<std::string>& authorization) {
  http::request<http::empty_body> request(http::verb::get, target, 11);
  if (authorization) request.set(http::field::authorization, *authorization);
  return https_exchange(port, ca, request);
}

HttpReply https_request(std::uint16_t port, const std::filesystem::path& ca,
                        std::string_view method, const std::string& target,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        const std::string& body) {
  http::request<http::string_body> request(
      http::string_to_verb(beast::string_view(method.data(), method.size())), target, 11);
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  request.prepare_payload();
  return https_exchange(port, ca, request);
}

struct AgentClient::Impl {
  using Ws = websocket::stream<beast::ssl_stream<tcp::socket>>;

  Impl(std::uint16_t port, const std::filesystem::path& ca)
      : port(port), ctx(ssl::context::tls_client) {
    trust_test_ca(ctx, ca);
  }

  void run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    io.restart();
    while (!done()) {
      const auto left = deadline - std::chrono::steady_clock::now();
      if (left <= 0ms) break;
      io.run_one_for(left);
      if (io.stopped()) io.restart();
    }
  }

  std::uint16_t port;
  asio::io_context io;
  ssl::context ctx;
  std::unique_ptr<Ws> ws;
  beast::flat_buffer buffer;
  std::shared_ptr<std::optional<error_code>> read;
  std::uint64_t seq = 0;
  std::uint64_t last_in_seq = 0;
  bool closed = false;
  websocket::close_reason close_reason;
};

AgentClient::AgentClient(std::uint16_t port, const std::filesystem::path& ca)
    : impl_(std::make_unique<Impl>(port, ca)) {}
AgentClient::~AgentClient() = default;
AgentClient::AgentClient(AgentClient&&) noexcept = default;
AgentClient& AgentClient::operator=(AgentClient&&) noexcept = default;

unsigned AgentClient::connect(const std::string& key) {
  Impl& c = *impl_;
  c.ws = std::make_unique<Impl::Ws>(c.io, c.ctx);
  c.ws->next_layer().set_verify_callback(ssl::host_name_verification("127.0.0.1"));
  beast::get_lowest_layer(*c.ws).connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), c.port));
  c.ws->next_layer().handshake(ssl::stream_base::client);
  c.ws->set_option(websocket::stream_base::decorator([key](websocket::request_type& request) {
    request.set(http::field::authorization, "Bearer " + key);
  }));
  websocket::response_type response;
  error_code ec;
  c.ws->handshake(response, "127.0.0.1:" + std::to_string(c.port), "/v1/agents/connect", ec);
  c.ws->binary(true);
  // Beast 1.74 does not hand back the response of a declined upgrade: report 0 then.
  return ec ? 0u : response.result_int();
}

AgentClient::Envelope AgentClient::register_agent(const std::string& key,
                                                  std::vector<std::string> capabilities) {
  EXPECT_EQ(connect(key), 101u);
  Envelope envelope;
  backup::v1::Register* reg = envelope.mutable_register_();
  reg->set_agent_version("1.2.3");
  reg->set_hostname("host-1");
  reg->set_os("linux");
  reg->set_arch("amd64");
  reg->set_last_known_config_version(2);
  for (std::string& capability : capabilities) reg->add_capabilities(std::move(capability));
  envelope.set_correlation_id("reg-1");
  send(envelope);
  std::optional<Envelope> ack = next(3s);
  EXPECT_TRUE(ack && ack->has_register_ack()) << (ack ? ack->DebugString() : "nothing");
  return ack.value_or(Envelope());
}

void AgentClient::send(Envelope envelope) {
  envelope.set_seq(++impl_->seq);
  envelope.set_ts_ms(core::now_ms());
  send_raw(envelope.SerializeAsString(), true);
}

void AgentClient::send_raw(const std::string& bytes, bool binary) {
  Impl& c = *impl_;
  c.ws->binary(binary);
  auto state = std::make_shared<std::optional<error_code>>();
  c.ws->async_write(asio::buffer(bytes), [state](error_code ec, std::size_t) { *state = ec; });
  c.run_until([&] { return state->has_value(); }, 5s);
  c.ws->binary(true);
  ASSERT_TRUE(state->has_value()) << "write timed out";
  EXPECT_FALSE(state->value()) << state->value().message();
}

std::optional<AgentClient::Envelope> AgentClient::next(std::chrono::milliseconds timeout) {
  Impl& c = *impl_;
  if (c.closed) return std::nullopt;
  if (!c.read) {
    c.read = std::make_shared<std::optional<error_code>>();
    c.ws->async_read(c.buffer, [state = c.read](error_code ec, std::size_t) { *state = ec; });
  }
  c.run_until([&] { return c.read->has_value(); }, timeout);
  if (!c.read->has_value()) return std::nullopt;
  const error_code ec = c.read->value();
  c.read.reset();
  if (ec) {
    c.closed = true;
    c.close_reason = c.ws->reason();
    return std::nullopt;
  }
  Envelope envelope;
  const auto data = c.buffer.cdata();
  EXPECT_TRUE(envelope.ParseFromArray(data.data(), static_cast<int>(data.size())));
  c.buffer.consume(c.buffer.size());
  EXPECT_GT(envelope.seq(), c.last_in_seq) << "server seq must increase";
  c.last_in_seq = envelope.seq();
  return envelope;
}

std::optional<AgentClient::Envelope> AgentClient::next_of(Envelope::PayloadCase payload,
                                                          std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::optional<Envelope> envelope = next(std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now()));
    if (!envelope) return std::nullopt;
    if (envelope->payload_case() == payload) return envelope;
  }
  return std::nullopt;
}

std::vector<std::uint64_t> AgentClient::acks_until(std::uint64_t through,
                                                   std::chrono::milliseconds timeout) {
  std::vector<std::uint64_t> seen;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (seen.empty() || seen.back() < through) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) break;
    std::optional<Envelope> envelope = next_of(Envelope::kDeliveryAck, left);
    if (!envelope) break;
    seen.push_back(envelope->delivery_ack().through_outbox_seq());
  }
  return seen;
}

bool AgentClient::closed() const {
  return impl_->closed;
}

CloseReason AgentClient::close_reason() const {
  return {static_cast<std::uint16_t>(impl_->close_reason.code),
          std::string(impl_->close_reason.reason.c_str())};
}

bool AgentClient::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!impl_->closed && std::chrono::steady_clock::now() < deadline) {
    next(std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                               std::chrono::steady_clock::now()));
  }
  return impl_->closed;
}

}  // namespace backupy::controlplane::testing
