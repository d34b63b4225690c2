#pragma once
// The durable record of an installed update (<state>/update/state.json): what was installed,
// what it replaced, and whether it is on trial, confirmed or rolled back. It outlives the
// process (the switch is an execve, a crash restarts the base binary), so every start-up
// decides from it which binary should run.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace backupy::selfupdate {

enum class Phase { trial, confirmed, rolled_back };
std::string_view phase_name(Phase);  // "trial" | "confirmed" | "rolled_back"

struct UpdateState {
  Phase phase = Phase::trial;
  std::string version;           // the installed update's version
  std::filesystem::path binary;  // the installed update (absolute)
  std::string previous_version;
  std::filesystem::path previous_binary;  // the binary that installed it (absolute)
  std::string trial_id;                   // random, matches BACKUPY_UPDATE_TRIAL in the trial boot
  std::uint64_t deadline_ms = 0;          // trial: must be confirmed by then (unix ms)
  std::uint64_t changed_at_ms = 0;
  std::string reason;     // rolled_back: why
  bool reported = false;  // rolled_back: the rollback was reported upstream
  bool operator==(const UpdateState&) const = default;
};

std::filesystem::path update_dir(const std::filesystem::path& state_dir);  // <state>/update

// <state>/update/state.json. nullopt if absent. Throws std::runtime_error naming the file and
// the problem when it is unreadable or malformed (bad JSON, a missing or mistyped field, an
// unknown phase, a binary path that is not absolute). Unknown extra fields are ignored.
std::optional<UpdateState> load_update_state(const std::filesystem::path& state_dir);

// Atomic and fsynced (core::write_file_atomically, mode 0600), creating <state>/update (0700)
// if needed. Throws std::system_error naming the path.
void save_update_state(const std::filesystem::path& state_dir, const UpdateState& state);

// Removes state.json (the directory is fsynced so the removal survives a crash); no error if
// absent. Throws std::system_error naming the path on other failures.
void clear_update_state(const std::filesystem::path& state_dir);

}  // namespace backupy::selfupdate
