// EngineClient against the fake Engine API (tests/support FakeDockerEngine,
// node/fake_docker.js), which runs each exec's command locally.
#include "backupy/docker/engine_client.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <iterator>
#include <thread>

#include "backupy/core/hex.hpp"
#include "backupy/crypto/crypto.hpp"
#include "backupy/test_support/fake_docker.hpp"
#include "backupy/test_support/temp_dir.hpp"

namespace backupy::docker {
namespace {

using test_support::FakeDockerEngine;
using test_support::FakeDockerOptions;

struct Captured {
  std::string out, err;
  std::optional<int> exit_code;
};

Captured run(EngineClient& client, ExecSpec spec, std::stop_token stop = {}) {
  Captured c;
  ExecOutput output;
  output.on_stdout = [&](std::span<const char> d) { c.out.append(d.data(), d.size()); };
  output.on_stderr = [&](std::span<const char> d) { c.err.append(d.data(), d.size()); };
  c.exit_code = client.exec(spec, output, stop);
  return c;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const DockerError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected DockerError";
  return {};
}

const ExecSpec kOutErrExit3{"db1", {"sh", "-c", "printf out; printf err >&2; exit 3"}, {}};

TEST(EngineClientTest, NegotiatesTheNewestVersionItSpeaks) {
  FakeDockerEngine fake;
  EngineClient client(fake.socket());
  EXPECT_EQ(client.api_version(), "1.43");
}

TEST(EngineClientTest, UsesAnOlderDaemonAtItsOwnVersion) {
  // The fake refuses paths newer than its version with the daemon's 400, so a
  // successful exec proves every path used /v1.41.
  FakeDockerEngine fake({.api_version = "1.41"});
  EngineClient client(fake.socket());
  EXPECT_EQ(client.api_version(), "1.41");
  const Captured c = run(client, kOutErrExit3);
  EXPECT_EQ(c.exit_code, 3);
  EXPECT_EQ(c.out, "out");
}

TEST(EngineClientTest, FallsBackToVersionEndpointAndReadsChunkedJson) {
  FakeDockerEngine fake({.api_version = "1.40", .ping_reports_version = false, .chunked = true});
  EngineClient client(fake.socket());
  EXPECT_EQ(client.api_version(), "1.40");
  EXPECT_EQ(run(client, kOutErrExit3).exit_code, 3);
}

TEST(EngineClientTest, RefusesADaemonOlderThanTheMinimum) {
  FakeDockerEngine fake({.api_version = "1.12"});
  EngineClient client(fake.socket());
  const std::string message = error_of([&] { client.api_version(); });
  EXPECT_NE(message.find("Engine API 1.12, older than the 1.24"), std::string::npos) << message;
}

TEST(EngineClientTest, ExecDemultiplexesStdoutAndStderrAndReportsTheExitCode) {
  FakeDockerEngine fake;
  EngineClient client(fake.socket());
  const Captured c = run(client, kOutErrExit3);
  EXPECT_EQ(c.out, "out");
  EXPECT_EQ(c.err, "err");
  EXPECT_EQ(c.exit_code, 3);
}

TEST(EngineClientTest, ExecStartAnswered200IsAStreamToo) {
  FakeDockerEngine fake({.start_status = 200});
  EngineClient client(fake.socket());
  const Captured c = run(client, kOutErrExit3);
  EXPECT_EQ(c.out, "out");
  EXPECT_EQ(c.err, "err");
  EXPECT_EQ(c.exit_code, 3);
}

TEST(EngineClientTest, EnvGoesToTheProcessAndIntoTheExecNotTheCmd) {
  FakeDockerEngine fake;
  EngineClient client(fake.socket());
  const Captured c =
      run(client, {"db1", {"sh", "-c", "printf '%s' \"$SECRET_PW\""}, {"SECRET_PW=s3cr3t v@lue"}});
  EXPECT_EQ(c.out, "s3cr3t v@lue");
  EXPECT_EQ(c.exit_code, 0);
  const auto execs = fake.execs();
  ASSERT_EQ(execs.size(), 1u);
  EXPECT_EQ(execs[0].container, "db1");
  EXPECT_EQ(execs[0].env, std::vector<std::string>{"SECRET_PW=s3cr3t v@lue"});
  for (const auto& arg : execs[0].cmd) EXPECT_EQ(arg.find("s3cr3t"), std::string::npos) << arg;
}

TEST(EngineClientTest, LargeOutputArrivesIntactInBoundedPieces) {
  test_support::TempDir dir;
  const std::string copy = (dir.path() / "sent").string();
  constexpr std::size_t kSize = 50u << 20;
  FakeDockerEngine fake;
  EngineClient client(fake.socket());
  crypto::Sha256 hash;
  std::size_t bytes = 0;
  std::size_t largest = 0;
  ExecOutput output;
  output.on_stdout = [&](std::span<const char> d) {
    hash.update(std::span(reinterpret_cast<const std::uint8_t*>(d.data()), d.size()));
    bytes += d.size();
    largest = std::max(largest, d.size());
  };
  const auto code = client.exec(
      {"db1", {"sh", "-c", "head -c " + std::to_string(kSize) + " /dev/urandom | tee " + copy}, {}},
      output, {});
  EXPECT_EQ(code, 0);
  EXPECT_EQ(bytes, kSize);
  // Handed on per read (64 KiB buffer), never a whole frame or the whole stream.
  EXPECT_LE(largest, 64u * 1024);
  const std::string sent = [&] {
    std::ifstream in(copy, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }();
  EXPECT_EQ(core::to_hex(hash.finish()),
            crypto::sha256_hex(
                std::span(reinterpret_cast<const std::uint8_t*>(sent.data()), sent.size())));
}

TEST(EngineClientTest, MissingCommandExits127WithTheRuntimeMessage) {
  FakeDockerEngine fake;
  EngineClient client(fake.socket());
  const Captured c = run(client, {"db1", {"no-such-tool-xyz", "--version"}, {}});
  EXPECT_EQ(c.exit_code, 127);
  EXPECT_NE(c.err.find("executable file not found"), std::string::npos) << c.err;
}

TEST(EngineClientTest, UnknownContainerIsTheDaemonsMessageOnOneLine) {
  FakeDockerEngine fake;
  EngineClient client(fake.socket());
  const std::string message = error_of([&] {
    run(client, {"nope", {"true"}, {"PGPASSWORD=hidden-pw"}});
  });
  EXPECT_EQ(message, "Docker Engine API at " + fake.socket().string() +
                         ": POST /v1.43/containers/nope/exec: 404 No such container: nope");
  EXPECT_EQ(message.find("hidden-pw"), std::string::npos);
}

TEST(EngineClientTest, StoppedContainerIs409) {
  FakeDockerEngine fake({.stopped = {"down1"}});
  EngineClient client(fake.socket());
  const std::string message = error_of([&] { run(client, {"down1", {"true"}, {}}); });
  EXPECT_NE(message.find(": 409 Container down1 is not running"), std::string::npos) << message;
}

TEST(EngineClientTest, InvalidContainerReferenceIsRefusedBeforeAnyRequest) {
  FakeDockerEngine fake;
  EngineClient client(fake.socket());
  const std::string message = error_of([&] { run(client, {"../../x", {"true"}, {}}); });
  EXPECT_NE(message.find("is not a container name or id"), std::string::npos) << message;
  EXPECT_TRUE(fake.execs().empty());
}

TEST(EngineClientTest, MissingSocketNamesTheSocketAndTheErrno) {
  test_support::TempDir dir;
  const auto socket = dir.path() / "docker.sock";
  EngineClient client(socket);
  const std::string message = error_of([&] { run(client, kOutErrExit3); });
  EXPECT_TRUE(message.starts_with("Docker Engine API at " + socket.string() +
                                  ": GET /_ping: connect: No such file or directory"))
      << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST(EngineClientTest, StopMidStreamReturnsNulloptPromptly) {
  FakeDockerEngine fake;
  EngineClient client(fake.socket());
  std::stop_source stop;
  ExecOutput output;
  std::size_t bytes = 0;
  output.on_stdout = [&](std::span<const char> d) {
    bytes += d.size();
    if (bytes > (1u << 20)) stop.request_stop();
  };
  const auto started = std::chrono::steady_clock::now();
  const auto code =
      client.exec({"db1", {"sh", "-c", "exec cat /dev/zero"}, {}}, output, stop.get_token());
  EXPECT_FALSE(code.has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST(EngineClientTest, StopWhileTheCommandIsSilentReturnsNulloptPromptly) {
  FakeDockerEngine fake;
  EngineClient client(fake.socket());
  std::stop_source stop;
  std::jthread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop.request_stop();
  });
  const auto started = std::chrono::steady_clock::now();
  const Captured c = run(client, {"db1", {"sleep", "30"}, {}}, stop.get_token());
  EXPECT_FALSE(c.exit_code.has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

}  // namespace
}  // namespace backupy::docker
