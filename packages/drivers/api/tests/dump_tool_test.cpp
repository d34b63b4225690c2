// run_dump_tool with real child processes (/bin/sh standing in for a dump tool).
#include "backupy/drivers/dump_tool.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backupy/drivers/driver.hpp"
#include "backupy/stream/cancelled.hpp"
#include "backupy/stream/memory_sink.hpp"

namespace backupy::drivers {
namespace {

using ::testing::HasSubstr;

process::Child shell(const std::string& script) {
  return process::Child::spawn({.argv = {"/bin/sh", "-c", script}, .env = {"PATH=/usr/bin:/bin"}});
}

TEST(DumpTool, AToolThatCannotStartIsADriverErrorNamingIt) {
  try {
    spawn_dump_tool({.argv = {"/nonexistent/pg_dump", "--version"}, .env = {}}, "target t (x)");
    FAIL() << "expected DriverError";
  } catch (const DriverError& e) {
    EXPECT_THAT(e.what(), HasSubstr("target t (x): cannot run /nonexistent/pg_dump: "));
  }
}

TEST(DumpTool, StreamsStdoutThroughInspectIntoTheSink) {
  process::Child child = shell("printf 'PGDMP-archive'; echo 'notice' >&2");
  stream::MemorySink out;
  std::string seen;
  const DumpToolRun run =
      run_dump_tool(child, out, {}, "tool", "",
                    [&](std::span<const char> data) { seen.append(data.data(), data.size()); });
  EXPECT_EQ(out.data(), "PGDMP-archive");
  EXPECT_EQ(seen, "PGDMP-archive");
  EXPECT_EQ(run.bytes, 13u);
  EXPECT_EQ(run.stderr_tail, "notice");
  EXPECT_EQ(run.tail_suffix(), ": notice");
}

TEST(DumpTool, AFailedExitIsADriverErrorWithTheMaskedStderrTail) {
  process::Child child =
      shell("echo 'FATAL: password s3cr3t-pw rejected' >&2\necho line2 >&2; exit 3");
  stream::MemorySink out;
  try {
    run_dump_tool(child, out, {}, "target t (x): pg_dump", "s3cr3t-pw");
    FAIL() << "expected DriverError";
  } catch (const DriverError& e) {
    EXPECT_STREQ(e.what(),
                 "target t (x): pg_dump failed (exit code 3): FATAL: password *** rejected line2");
  }
}

TEST(DumpTool, AStopEndsTheToolAsCancelled) {
  process::Child child = shell("while :; do printf x; sleep 0.01; done");
  stream::MemorySink out;
  std::stop_source stop;
  stop.request_stop();
  EXPECT_THROW(run_dump_tool(child, out, stop.get_token(), "tool", ""), stream::Cancelled);
  EXPECT_TRUE(child.exited());
}

TEST(DumpTool, OneLineMaskedLeavesShortSecretsAlone) {
  EXPECT_EQ(one_line_masked("a\tb\nc  \n", "zz"), "a b c");
  EXPECT_EQ(one_line_masked("pw=hunter2 hunter2", "hunter2"), "pw=*** ***");
}

}  // namespace
}  // namespace backupy::drivers
