#include "backupy/selfupdate/update_state.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "backupy/core/files.hpp"
#include "backupy/test_support/temp_dir.hpp"

namespace backupy::selfupdate {
namespace {

using ::testing::HasSubstr;

UpdateState sample() {
  return UpdateState{
      .phase = Phase::rolled_back,
      .version = "1.3.0-rc.1",
      .binary = "/var/lib/backupy/update/bin/backupy-agent-1.3.0-rc.1",
      .previous_version = "1.2.0",
      .previous_binary = "/usr/local/bin/backupy-agent",
      .trial_id = "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
      .deadline_ms = 1'795'000'060'000,
      .changed_at_ms = 1'795'000'000'123,
      .reason = "not registered with the control plane within 60s",
      .reported = true,
  };
}

std::string error_of(const std::filesystem::path& state_dir) {
  try {
    load_update_state(state_dir);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "loaded";
}

TEST(UpdateStateTest, RoundTripsEveryFieldInEveryPhase) {
  const test_support::TempDir dir;
  EXPECT_EQ(update_dir(dir.path()), dir.path() / "update");
  for (const Phase phase : {Phase::trial, Phase::confirmed, Phase::rolled_back}) {
    UpdateState state = sample();
    state.phase = phase;
    save_update_state(dir.path(), state);
    const std::optional<UpdateState> loaded = load_update_state(dir.path());
    ASSERT_TRUE(loaded);
    EXPECT_EQ(*loaded, state) << phase_name(phase);
  }
  struct stat info {};
  ASSERT_EQ(::stat((dir.path() / "update").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat((dir.path() / "update" / "state.json").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600u);
  const std::string text = *core::read_file(dir.path() / "update" / "state.json");
  EXPECT_THAT(text, HasSubstr(R"("phase": "rolled_back")"));  // the last one saved
}

TEST(UpdateStateTest, PhaseNames) {
  EXPECT_EQ(phase_name(Phase::trial), "trial");
  EXPECT_EQ(phase_name(Phase::confirmed), "confirmed");
  EXPECT_EQ(phase_name(Phase::rolled_back), "rolled_back");
}

TEST(UpdateStateTest, AbsentIsNulloptAndClearIsIdempotent) {
  const test_support::TempDir dir;
  EXPECT_FALSE(load_update_state(dir.path()));
  clear_update_state(dir.path());  // neither file nor directory: no error
  save_update_state(dir.path(), sample());
  ASSERT_TRUE(load_update_state(dir.path()));
  clear_update_state(dir.path());
  EXPECT_FALSE(load_update_state(dir.path()));
  EXPECT_TRUE(std::filesystem::is_directory(dir.path() / "update"));  // bin/ may live there
  clear_update_state(dir.path());
}

TEST(UpdateStateTest, MalformedFilesAreNamedPrecisely) {
  const test_support::TempDir dir;
  save_update_state(dir.path(), sample());
  const auto file = dir.path() / "update" / "state.json";
  const std::string prefix = "update state " + file.string() + " is malformed: ";
  const auto with = [&](const std::string& content) {
    core::write_file_atomically(file, content);
    return error_of(dir.path());
  };
  const std::string good = *core::read_file(file);
  const auto replaced = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };

  EXPECT_EQ(with("{\"phase\": "), prefix + "not valid JSON");
  EXPECT_EQ(with(""), prefix + "not valid JSON");
  EXPECT_EQ(with("[1]"), prefix + "not a JSON object");
  EXPECT_EQ(with(replaced(R"("phase": "rolled_back")", R"("phase": "paused")")),
            prefix + "unknown phase \"paused\" (expected trial, confirmed or rolled_back)");
  EXPECT_EQ(with(replaced(R"("trial_id")", R"("trial")")), prefix + "missing field \"trial_id\"");
  EXPECT_EQ(with(replaced(R"("reported": true)", R"("reported": "yes")")),
            prefix + "field \"reported\" is not true or false");
  EXPECT_EQ(with(replaced(R"("deadline_ms": 1795000060000)", R"("deadline_ms": -5)")),
            prefix + "field \"deadline_ms\" is not a non-negative integer");
  EXPECT_EQ(with(replaced(R"("version": "1.3.0-rc.1")", R"("version": 13)")),
            prefix + "field \"version\" is not a string");
  EXPECT_EQ(with(replaced(R"("binary": "/var)", R"("binary": "var)")),
            prefix + "field \"binary\" is not an absolute path: " +
                "var/lib/backupy/update/bin/backupy-agent-1.3.0-rc.1");
  // Unknown fields (a newer agent's) are ignored.
  EXPECT_EQ(with(replaced("{", R"({"future": 1,)")), "loaded");
}

}  // namespace
}  // namespace backupy::selfupdate
