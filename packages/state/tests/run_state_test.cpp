#include <gtest/gtest.h>

#include <set>
#include <utility>

#include "backupy/state/run_journal.hpp"

namespace backupy::state {
namespace {

using enum RunState;

constexpr RunState kAll[] = {queued, running, spooled, uploading, completed, failed, cancelled};

TEST(RunStateTest, NamesRoundTrip) {
  std::set<std::string_view> names;
  for (RunState state : kAll) {
    const std::string_view name = run_state_name(state);
    names.insert(name);
    EXPECT_EQ(parse_run_state(name), state) << name;
  }
  EXPECT_EQ(names.size(), std::size(kAll));
  EXPECT_EQ(run_state_name(uploading), "uploading");
  EXPECT_FALSE(parse_run_state("Queued").has_value());
  EXPECT_FALSE(parse_run_state("").has_value());
}

TEST(RunStateTest, TerminalStates) {
  for (RunState state : kAll) {
    EXPECT_EQ(is_terminal(state), state == completed || state == failed || state == cancelled)
        << run_state_name(state);
  }
}

// The whole table, so that any change to the rules shows up here.
TEST(RunStateTest, TransitionTableMatchesTheDiagram) {
  const std::set<std::pair<RunState, RunState>> allowed = {
      {queued, running},      {running, spooled},  {spooled, uploading}, {uploading, completed},
      {uploading, spooled},   {queued, failed},    {running, failed},    {spooled, failed},
      {uploading, failed},    {queued, cancelled}, {running, cancelled}, {spooled, cancelled},
      {uploading, cancelled}, {running, queued},
  };
  for (RunState from : kAll) {
    for (RunState to : kAll) {
      EXPECT_EQ(transition_allowed(from, to), allowed.contains({from, to}))
          << run_state_name(from) << " -> " << run_state_name(to);
    }
  }
}

}  // namespace
}  // namespace backupy::state
