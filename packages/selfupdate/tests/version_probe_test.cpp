// The last check before a switch: the new binary runs here and names the expected version.
#include "backupy/selfupdate/version_probe.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "backupy/test_support/temp_dir.hpp"

namespace backupy::selfupdate {
namespace {

std::filesystem::path script(const test_support::TempDir& dir, const std::string& body) {
  const auto path = dir.path() / "candidate";
  std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
  ::chmod(path.c_str(), 0700);
  return path;
}

TEST(VersionProbe, AcceptsABinaryThatNamesTheExpectedVersion) {
  test_support::TempDir dir;
  // The probe passes `version --json` and an empty environment.
  const auto binary = script(dir,
                             "[ \"$1 $2\" = \"version --json\" ] || exit 9\n"
                             "[ -z \"$BACKUPY_AGENT_KEY$HOME\" ] || exit 8\n"
                             "echo '{\"name\":\"backupy-agent\",\"version\":\"1.2.3\"}'");
  const Verdict verdict = probe_version(binary, "1.2.3");
  EXPECT_TRUE(verdict.ok) << verdict.reason;
}

TEST(VersionProbe, RefusesEveryOtherOutcomePrecisely) {
  test_support::TempDir dir;
  EXPECT_EQ(probe_version(script(dir, "echo '{\"version\":\"1.2.4\"}'"), "1.2.3").reason,
            "the new binary says it is version 1.2.4, not 1.2.3");
  EXPECT_EQ(probe_version(script(dir, "exit 3"), "1.2.3").reason,
            "the new binary's `version --json` failed: exit code 3");
  EXPECT_EQ(probe_version(script(dir, "echo hello"), "1.2.3").reason,
            "the new binary's `version --json` printed no version");
  EXPECT_EQ(probe_version(script(dir, "sleep 30"), "1.2.3", std::chrono::milliseconds(200)).reason,
            "the new binary's `version --json` did not finish within 200 ms");
  const Verdict missing = probe_version(dir.path() / "absent", "1.2.3");
  EXPECT_FALSE(missing.ok);
  EXPECT_NE(missing.reason.find("the new binary does not start"), std::string::npos)
      << missing.reason;
}

}  // namespace
}  // namespace backupy::selfupdate
