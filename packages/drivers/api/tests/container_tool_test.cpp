// run_in_container / capture_in_container against the fake Engine API
// (tests/support FakeDockerEngine), which runs the command locally.
#include "backupy/drivers/container_tool.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "backupy/stream/cancelled.hpp"
#include "backupy/stream/memory_sink.hpp"
#include "backupy/test_support/fake_docker.hpp"

namespace backupy::drivers {
namespace {

using test_support::FakeDockerEngine;
using ::testing::HasSubstr;
using ::testing::Not;

ContainerCommand sh(const std::string& script, std::vector<std::string> env = {}) {
  return {.container_id = "db1", .argv = {"sh", "-c", script}, .env = std::move(env)};
}

TEST(ContainerTool, StreamsStdoutThroughInspectIntoTheSink) {
  FakeDockerEngine fake;
  stream::MemorySink out;
  std::string seen;
  const DumpToolRun run = run_in_container(
      fake.socket(), sh("printf 'PGDMP-archive'; echo notice >&2"), out, {}, "tool", "",
      [&](std::span<const char> data) { seen.append(data.data(), data.size()); });
  EXPECT_EQ(out.data(), "PGDMP-archive");
  EXPECT_EQ(seen, "PGDMP-archive");
  EXPECT_EQ(run.bytes, 13u);
  EXPECT_EQ(run.stderr_tail, "notice");
}

TEST(ContainerTool, AFailedExitCarriesCodeAndMaskedTail) {
  FakeDockerEngine fake;
  stream::MemorySink out;
  try {
    run_in_container(fake.socket(),
                     sh("echo \"FATAL: password $PW rejected\" >&2; exit 2", {"PW=s3cr3t-pw"}), out,
                     {}, "target t (x): pg_dump", "s3cr3t-pw");
    FAIL() << "expected ContainerToolFailed";
  } catch (const ContainerToolFailed& e) {
    EXPECT_STREQ(e.what(),
                 "target t (x): pg_dump failed (exit code 2): FATAL: password *** rejected");
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_EQ(e.stderr_tail(), "FATAL: password *** rejected");
    EXPECT_FALSE(e.not_found());
  }
}

TEST(ContainerTool, AMissingToolIsNotFound) {
  FakeDockerEngine fake;
  stream::MemorySink out;
  try {
    run_in_container(fake.socket(), {.container_id = "db1", .argv = {"no-such-dump-tool"}}, out, {},
                     "tool", "");
    FAIL() << "expected ContainerToolFailed";
  } catch (const ContainerToolFailed& e) {
    EXPECT_TRUE(e.not_found());
    EXPECT_THAT(e.what(), HasSubstr("executable file not found"));
  }
}

TEST(ContainerTool, DaemonErrorsAreDriverErrorsNamingTheSocket) {
  FakeDockerEngine fake;
  stream::MemorySink out;
  try {
    run_in_container(fake.socket(),
                     {.container_id = "gone", .argv = {"true"}, .env = {"PW=x1y2z3"}}, out, {},
                     "target t (x): pg_dump", "x1y2z3");
    FAIL() << "expected DriverError";
  } catch (const ContainerToolFailed&) {
    FAIL() << "not an exit of the tool";
  } catch (const DriverError& e) {
    EXPECT_STREQ(e.what(),
                 ("target t (x): pg_dump: Docker Engine API at " + fake.socket().string() +
                  ": POST /v1.43/containers/gone/exec: 404 No such container: gone")
                     .c_str());
  }
}

TEST(ContainerTool, StopIsCancelled) {
  FakeDockerEngine fake;
  stream::MemorySink out;
  std::stop_source stop;
  std::jthread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop.request_stop();
  });
  EXPECT_THROW(run_in_container(fake.socket(), sh("sleep 30"), out, stop.get_token(), "tool", ""),
               stream::Cancelled);
}

TEST(ContainerTool, CaptureKeepsAtMostMaxBytes) {
  FakeDockerEngine fake;
  EXPECT_EQ(capture_in_container(fake.socket(), sh("printf '15.8\\n'"), {}, "psql", ""), "15.8\n");
  EXPECT_EQ(
      capture_in_container(fake.socket(), sh("head -c 100000 /dev/zero"), {}, "x", "", 10).size(),
      10u);
  EXPECT_THAT(capture_in_container(fake.socket(), sh("printf %s \"$A\""), {}, "x", ""),
              Not(HasSubstr("=")));
}

}  // namespace
}  // namespace backupy::drivers
