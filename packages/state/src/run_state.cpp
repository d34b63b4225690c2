// The run state machine of run_journal.hpp: names and allowed transitions.
#include <array>

#include "backupy/state/run_journal.hpp"

namespace backupy::state {
namespace {

struct StateName {
  RunState state;
  std::string_view name;
};

// The names are stored in runs.state and run_events.state: never rename one.
constexpr std::array<StateName, 7> kNames = {{
    {RunState::queued, "queued"},
    {RunState::running, "running"},
    {RunState::spooled, "spooled"},
    {RunState::uploading, "uploading"},
    {RunState::completed, "completed"},
    {RunState::failed, "failed"},
    {RunState::cancelled, "cancelled"},
}};

}  // namespace

std::string_view run_state_name(RunState state) {
  for (const auto& entry : kNames) {
    if (entry.state == state) return entry.name;
  }
  return "unknown";  // only reachable through a cast outside the enum
}

std::optional<RunState> parse_run_state(std::string_view name) {
  for (const auto& entry : kNames) {
    if (entry.name == name) return entry.state;
  }
  return std::nullopt;
}

std::string_view run_origin_name(RunOrigin origin) {
  return origin == RunOrigin::agent ? "agent" : "server";
}

bool is_terminal(RunState state) {
  return state == RunState::completed || state == RunState::failed || state == RunState::cancelled;
}

bool transition_allowed(RunState from, RunState to) {
  if (is_terminal(from)) return false;
  switch (to) {
    // From running: a failed dump attempt waits for its retry (or a crash left it running).
    case RunState::queued: return from == RunState::running;
    case RunState::running: return from == RunState::queued;
    // From uploading: an upload interrupted by a restart starts over.
    case RunState::spooled: return from == RunState::running || from == RunState::uploading;
    case RunState::uploading: return from == RunState::spooled;
    case RunState::completed: return from == RunState::uploading;
    case RunState::failed:
    case RunState::cancelled: return true;  // from any non-terminal state
  }
  return false;
}

}  // namespace backupy::state
