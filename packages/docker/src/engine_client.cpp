#include "backupy/docker/engine_client.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

#include "backupy/core/percent.hpp"
#include "backupy/docker/container_events.hpp"
#include "backupy/docker/frame_demuxer.hpp"
#include "http_response.hpp"
#include "unix_connection.hpp"

namespace backupy::docker {
namespace {

using detail::Clock;
using Json = nlohmann::json;

constexpr std::size_t kMaxHead = 64 * 1024;
constexpr std::size_t kMaxBody = 16 * 1024 * 1024;
constexpr std::size_t kReadSize = 64 * 1024;

// Thrown by an Exchange when the stop token ended it; call() turns it into
// a DockerError, so it never escapes.
struct Stopped {};

struct Response {
  detail::ResponseHead head;
  std::string body;
};

// "1.43" -> {1, 43}; nullopt if it is not <major>.<minor>.
std::optional<std::pair<int, int>> parse_version(std::string_view text) {
  int major = 0;
  int minor = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, major);
  if (ec != std::errc() || p == end || *p != '.') return std::nullopt;
  auto [q, ec2] = std::from_chars(p + 1, end, minor);
  if (ec2 != std::errc() || q != end) return std::nullopt;
  return std::pair{major, minor};
}

// Container names and ids: [a-zA-Z0-9][a-zA-Z0-9_.-]* (the daemon's own rule),
// which also keeps them safe as one path segment.
bool valid_container_ref(std::string_view ref) {
  if (ref.empty() || ref.size() > 255 || !std::isalnum(static_cast<unsigned char>(ref[0]))) {
    return false;
  }
  for (unsigned char c : ref) {
    if (!std::isalnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

// The daemon's error text: {"message": "..."} or the body's first line.
std::string daemon_message(const std::string& body) {
  std::string message;
  try {
    const Json json = Json::parse(body);
    if (json.is_object() && json.contains("message") && json["message"].is_string()) {
      message = json["message"].get<std::string>();
    }
  } catch (const Json::exception&) {
  }
  if (message.empty()) message = body.substr(0, body.find('\n'));
  if (message.size() > 300) message = message.substr(0, 300) + "...";
  for (char& c : message) {
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
  }
  return message;
}

// One HTTP exchange on its own connection. upgrade: the exec-start request,
// whose 101/200 answer turns the connection into the raw exec stream; its
// bytes after the head go to on_stream until EOF. on_body (the event stream):
// a 2xx body is handed on as it arrives, de-chunked, without a deadline.
class Exchange {
 public:
  Exchange(const std::filesystem::path& socket, std::chrono::seconds timeout, std::stop_token stop)
      : deadline_(Clock::now() + timeout),
        stop_(stop),
        connection_(socket, deadline_, std::move(stop)) {}

  Response run(
      const std::string& method, const std::string& path, const std::string& body, bool upgrade,
      const std::function<void(std::span<const char>)>& on_stream = {},
      const std::function<void(const detail::ResponseHead&, std::string_view)>& on_body = {}) {
    std::string request =
        method + " " + path + " HTTP/1.1\r\nHost: docker\r\n" + "User-Agent: backupy-agent\r\n";
    if (!body.empty()) {
      request +=
          "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\n";
    }
    request +=
        upgrade ? "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n" : "Connection: close\r\n\r\n";
    connection_.write_all(request, deadline_);
    connection_.write_all(body, deadline_);

    Response response;
    std::string buffer;
    std::size_t head_end = std::string::npos;
    std::array<char, kReadSize> chunk;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (buffer.size() > kMaxHead) throw DockerError("response head larger than 64 KiB");
      const std::size_t n = connection_.read_some(chunk, deadline_);
      if (n == 0) {
        if (stop_.stop_requested()) throw Stopped{};
        throw DockerError("connection closed before a complete response head");
      }
      buffer.append(chunk.data(), n);
    }
    response.head = detail::parse_head(std::string_view(buffer).substr(0, head_end + 4));
    std::string_view rest = std::string_view(buffer).substr(head_end + 4);

    const int status = response.head.status;
    if (upgrade && (status == 101 || status == 200)) {
      // The stream: no deadline (a dump may legitimately pause), bounded by
      // the stop token instead.
      if (!rest.empty()) on_stream(std::span(rest.data(), rest.size()));
      for (;;) {
        const std::size_t n = connection_.read_some(chunk, std::nullopt);
        if (n == 0) break;
        on_stream(std::span<const char>(chunk.data(), n));
      }
      if (stop_.stop_requested()) throw Stopped{};
      return response;
    }

    detail::BodyReader reader(response.head, kMaxBody);
    if (on_body && status >= 200 && status < 300) {
      on_body(response.head, {});  // subscribed: the head arrived
      bool done = reader.feed(rest);
      for (;;) {
        if (const std::string piece = reader.take_body(); !piece.empty()) {
          on_body(response.head, piece);
        }
        if (done) return response;
        const std::size_t n = connection_.read_some(chunk, std::nullopt);
        if (n == 0) {
          if (stop_.stop_requested()) throw Stopped{};
          reader.finish_at_eof();
          return response;
        }
        done = reader.feed(std::string_view(chunk.data(), n));
      }
    }
    bool done = reader.feed(rest);
    while (!done) {
      const std::size_t n = connection_.read_some(chunk, deadline_);
      if (n == 0) {
        if (stop_.stop_requested()) throw Stopped{};
        reader.finish_at_eof();
        break;
      }
      done = reader.feed(std::string_view(chunk.data(), n));
    }
    response.body = reader.body();
    return response;
  }

 private:
  Clock::time_point deadline_;
  std::stop_token stop_;
  detail::UnixConnection connection_;
};

}  // namespace

EngineClient::EngineClient(std::filesystem::path socket, std::chrono::seconds request_timeout,
                           std::stop_token stop)
    : socket_(std::move(socket)), request_timeout_(request_timeout), stop_(std::move(stop)) {}

namespace {

// The one-line error every failure becomes: socket, request, reason.
[[noreturn]] void fail(const std::filesystem::path& socket, const std::string& method,
                       const std::string& path, const std::string& reason) {
  std::string hint;
  if (reason.starts_with("connect: ") &&
      (reason.find(std::strerror(ENOENT)) != std::string::npos ||
       reason.find(std::strerror(EACCES)) != std::string::npos ||
       reason.find(std::strerror(ECONNREFUSED)) != std::string::npos)) {
    hint =
        " (is the Docker socket mounted into the agent's container, readable by its user, "
        "and is BACKUPY_DOCKER_SOCKET right?)";
  }
  throw DockerError("Docker Engine API at " + socket.string() + ": " + method + " " + path + ": " +
                    reason + hint);
}

// run() with every failure turned into fail(); 2xx answers only (101 for the
// stream), plus the statuses in `tolerated`, which the caller handles.
Response call(
    const std::filesystem::path& socket, std::chrono::seconds timeout, std::stop_token stop,
    const std::string& method, const std::string& path, const std::string& body,
    bool upgrade = false, const std::function<void(std::span<const char>)>& on_stream = {},
    std::initializer_list<int> tolerated = {},
    const std::function<void(const detail::ResponseHead&, std::string_view)>& on_body = {}) {
  Response response;
  try {
    if (stop.stop_requested()) throw Stopped{};
    Exchange exchange(socket, timeout, std::move(stop));
    response = exchange.run(method, path, body, upgrade, on_stream, on_body);
  } catch (const DockerError& e) {
    fail(socket, method, path, e.what());
  } catch (const Stopped&) {
    fail(socket, method, path, "cancelled: the agent is stopping");
  }
  const int status = response.head.status;
  const bool ok = (status >= 200 && status < 300) || (upgrade && status == 101) ||
                  std::find(tolerated.begin(), tolerated.end(), status) != tolerated.end();
  if (!ok) {
    fail(socket, method, path, std::to_string(status) + " " + daemon_message(response.body));
  }
  return response;
}

Json parse_json(const std::filesystem::path& socket, const std::string& method,
                const std::string& path, const std::string& body) {
  try {
    return Json::parse(body);
  } catch (const Json::exception&) {
    fail(socket, method, path, "the answer is not JSON: " + daemon_message(body));
  }
}

}  // namespace

std::string EngineClient::api_version() {
  if (!version_.empty()) return version_;
  std::string server;
  // /_ping is the daemon's own negotiation endpoint (and the cheapest).
  try {
    const Response ping = call(socket_, request_timeout_, stop_, "GET", "/_ping", "");
    server = ping.head.header("api-version").value_or("");
  } catch (const DockerError& e) {
    // Without a daemon at all there is nothing to fall back to.
    if (std::string_view(e.what()).find(": connect: ") != std::string_view::npos) throw;
  }
  if (server.empty()) {
    const Json version =
        parse_json(socket_, "GET", "/version",
                   call(socket_, request_timeout_, stop_, "GET", "/version", "").body);
    if (version.is_object() && version.contains("ApiVersion") &&
        version["ApiVersion"].is_string()) {
      server = version["ApiVersion"].get<std::string>();
    }
  }
  const auto parsed = parse_version(server);
  if (!parsed) {
    fail(socket_, "GET", "/version",
         "the daemon reports no usable API version (" +
             (server.empty() ? std::string("none") : "\"" + server.substr(0, 40) + "\"") + ")");
  }
  const auto newest = *parse_version(kMaxApiVersion);
  const auto oldest = *parse_version(kMinApiVersion);
  if (*parsed < oldest) {
    fail(socket_, "GET", "/_ping",
         "the daemon speaks Engine API " + server + ", older than the " +
             std::string(kMinApiVersion) + " this agent needs");
  }
  version_ = *parsed < newest ? server : std::string(kMaxApiVersion);
  return version_;
}

std::string EngineClient::get(const std::string& path) {
  const std::string full = "/v" + api_version() + path;
  return call(socket_, request_timeout_, stop_, "GET", full, "").body;
}

std::vector<std::string> EngineClient::running_container_ids() {
  const std::string path = "/v" + api_version() + "/containers/json";
  const Json list = parse_json(socket_, "GET", path,
                               call(socket_, request_timeout_, stop_, "GET", path, "").body);
  if (!list.is_array()) fail(socket_, "GET", path, "the answer is not a JSON array");
  std::vector<std::string> ids;
  for (const Json& entry : list) {
    if (!entry.is_object() || !entry.contains("Id") || !entry["Id"].is_string() ||
        !valid_container_ref(entry["Id"].get<std::string>())) {
      fail(socket_, "GET", path, "an entry has no valid container Id");
    }
    ids.push_back(entry["Id"].get<std::string>());
  }
  return ids;
}

std::optional<std::string> EngineClient::inspect_container(const std::string& id) {
  if (!valid_container_ref(id)) {
    fail(socket_, "GET", "/containers/{id}/json",
         "\"" + id.substr(0, 80) + "\" is not a container name or id");
  }
  const std::string path = "/v" + api_version() + "/containers/" + id + "/json";
  Response response = call(socket_, request_timeout_, stop_, "GET", path, "", false, {}, {404});
  if (response.head.status == 404) return std::nullopt;
  return std::move(response.body);
}

std::string EngineClient::daemon_version() {
  const std::string path = "/v" + api_version() + "/version";
  const Json version = parse_json(socket_, "GET", path,
                                  call(socket_, request_timeout_, stop_, "GET", path, "").body);
  if (!version.is_object() || !version.contains("Version") || !version["Version"].is_string() ||
      version["Version"].get<std::string>().empty()) {
    fail(socket_, "GET", path, "the answer has no \"Version\"");
  }
  return version["Version"].get<std::string>();
}

void EngineClient::watch_container_events(
    const std::function<void()>& on_subscribed,
    const std::function<void(const ContainerEvent&)>& on_event, std::stop_token stop) {
  if (stop.stop_requested()) return;
  std::string filters = R"({"type":["container"],"event":[)";
  for (std::string_view action : kWatchedContainerActions) {
    if (filters.back() != '[') filters += ',';
    filters += "\"" + std::string(action) + "\"";
  }
  filters += "]}";
  const std::string path =
      "/v" + api_version() + "/events?filters=" + core::percent_encode(filters);
  EventStreamParser parser(on_event);
  bool subscribed = false;
  try {
    call(socket_, request_timeout_, stop, "GET", path, "", false, {}, {},
         [&](const detail::ResponseHead&, std::string_view data) {
           if (!subscribed) {
             subscribed = true;
             on_subscribed();
           }
           parser.feed(data);  // its DockerError gets the socket and path from call()
         });
  } catch (const DockerError&) {
    if (stop.stop_requested()) return;
    throw;
  }
  if (stop.stop_requested()) return;
  fail(socket_, "GET", path, "the daemon ended the event stream");
}

std::optional<int> EngineClient::exec(const ExecSpec& spec, const ExecOutput& output,
                                      std::stop_token stop) {
  if (stop.stop_requested()) return std::nullopt;
  if (!valid_container_ref(spec.container_id)) {
    fail(socket_, "POST", "/containers/{id}/exec",
         "\"" + spec.container_id.substr(0, 80) + "\" is not a container name or id");
  }
  const std::string prefix = "/v" + api_version();
  const std::string create_path = prefix + "/containers/" + spec.container_id + "/exec";
  if (spec.cmd.empty()) fail(socket_, "POST", create_path, "empty command");

  std::string create_body;
  try {
    create_body = Json{{"AttachStdin", false}, {"AttachStdout", true}, {"AttachStderr", true},
                       {"Tty", false},         {"Cmd", spec.cmd},      {"Env", spec.env}}
                      .dump();
  } catch (const Json::exception&) {
    // Never the values: Env holds secrets.
    fail(socket_, "POST", create_path, "the command or its environment is not valid UTF-8");
  }

  try {
    const Json created =
        parse_json(socket_, "POST", create_path,
                   call(socket_, request_timeout_, stop, "POST", create_path, create_body).body);
    if (!created.is_object() || !created.contains("Id") || !created["Id"].is_string() ||
        !valid_container_ref(created["Id"].get<std::string>())) {
      fail(socket_, "POST", create_path, "the answer has no exec Id");
    }
    const std::string id = created["Id"].get<std::string>();

    FrameDemuxer demuxer(output.on_stdout, output.on_stderr);
    const std::string start_path = prefix + "/exec/" + id + "/start";
    call(socket_, request_timeout_, stop, "POST", start_path, R"({"Detach":false,"Tty":false})",
         true, [&](std::span<const char> data) { demuxer.feed(data); });
    try {
      demuxer.finish();
    } catch (const DockerError& e) {
      fail(socket_, "POST", start_path, e.what());
    }

    // The stream ends when the process closes its output, which may be a
    // moment before the daemon records the exit: poll briefly.
    const std::string inspect_path = prefix + "/exec/" + id + "/json";
    const auto give_up = Clock::now() + request_timeout_;
    for (;;) {
      const Json state =
          parse_json(socket_, "GET", inspect_path,
                     call(socket_, request_timeout_, stop, "GET", inspect_path, "").body);
      const bool running = state.is_object() && state.contains("Running") &&
                           state["Running"].is_boolean() && state["Running"].get<bool>();
      if (!running && state.is_object() && state.contains("ExitCode") &&
          state["ExitCode"].is_number_integer()) {
        return state["ExitCode"].get<int>();
      }
      if (Clock::now() >= give_up) {
        fail(socket_, "GET", inspect_path,
             "the exec's output ended but it did not exit within " +
                 std::to_string(request_timeout_.count()) + " s");
      }
      if (stop.stop_requested()) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  } catch (const DockerError&) {
    // Whatever failed once stop was requested failed because of it.
    if (stop.stop_requested()) return std::nullopt;
    throw;
  }
}

}  // namespace backupy::docker
