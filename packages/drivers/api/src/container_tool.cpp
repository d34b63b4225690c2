#include "backupy/drivers/container_tool.hpp"

#include "backupy/docker/engine_client.hpp"
#include "backupy/process/output_tail.hpp"
#include "backupy/stream/cancelled.hpp"

namespace backupy::drivers {
namespace {

// Discards what it is given beyond max_bytes (a version query's answer).
class BoundedStringSink : public stream::ByteSink {
 public:
  explicit BoundedStringSink(std::size_t max_bytes) : max_bytes_(max_bytes) {}
  void write(std::span<const std::uint8_t> data) override {
    const std::size_t take = std::min(data.size(), max_bytes_ - std::min(max_bytes_, text_.size()));
    text_.append(reinterpret_cast<const char*>(data.data()), take);
  }
  void finish() override {}
  std::string take() { return std::move(text_); }

 private:
  std::size_t max_bytes_;
  std::string text_;
};

}  // namespace

DumpToolRun run_in_container(const std::filesystem::path& docker_socket,
                             const ContainerCommand& command, stream::ByteSink& out,
                             std::stop_token stop, const std::string& what,
                             const std::string& secret,
                             const std::function<void(std::span<const char>)>& inspect) {
  process::OutputTail tail(4096);
  DumpToolRun run;
  docker::ExecOutput output;
  output.on_stdout = [&](std::span<const char> data) {
    if (inspect) inspect(data);
    run.bytes += data.size();
    out.write(std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
  };
  output.on_stderr = [&](std::span<const char> data) { tail.append(data); };

  std::optional<int> exit_code;
  try {
    docker::EngineClient client(docker_socket);
    exit_code =
        client.exec({.container_id = command.container_id, .cmd = command.argv, .env = command.env},
                    output, stop);
  } catch (const docker::DockerError& e) {
    // The client never puts Env into a message; masking is for what the
    // daemon or the tool may have echoed.
    if (!tail.empty()) run.stderr_tail = one_line_masked(tail.text(), secret);
    throw DriverError(what + ": " + one_line_masked(e.what(), secret) + run.tail_suffix());
  }
  if (!tail.empty()) run.stderr_tail = one_line_masked(tail.text(), secret);
  // The Engine API cannot signal an exec: closing the stream is all a stop
  // can do (the tool's next write fails), see EngineClient::exec.
  if (!exit_code) throw stream::Cancelled();
  if (*exit_code != 0) {
    throw ContainerToolFailed(
        what + " failed (exit code " + std::to_string(*exit_code) + ")" + run.tail_suffix(),
        *exit_code, run.stderr_tail);
  }
  return run;
}

std::string capture_in_container(const std::filesystem::path& docker_socket,
                                 const ContainerCommand& command, std::stop_token stop,
                                 const std::string& what, const std::string& secret,
                                 std::size_t max_bytes) {
  BoundedStringSink sink(max_bytes);
  run_in_container(docker_socket, command, sink, stop, what, secret);
  return sink.take();
}

}  // namespace backupy::drivers
