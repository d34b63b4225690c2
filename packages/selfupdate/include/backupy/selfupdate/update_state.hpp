#pragma once
// TEMPORARY copy of helper C's header (replaced at merge).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace backupy::selfupdate {
enum class Phase { trial, confirmed, rolled_back };
std::string_view phase_name(Phase);
struct UpdateState {
  Phase phase = Phase::trial;
  std::string version;
  std::filesystem::path binary;
  std::string previous_version;
  std::filesystem::path previous_binary;
  std::string trial_id;
  std::uint64_t deadline_ms = 0;
  std::uint64_t changed_at_ms = 0;
  std::string reason;
  bool reported = false;
};
std::filesystem::path update_dir(const std::filesystem::path& state_dir);
std::optional<UpdateState> load_update_state(const std::filesystem::path& state_dir);
void save_update_state(const std::filesystem::path& state_dir, const UpdateState& state);
void clear_update_state(const std::filesystem::path& state_dir);
}  // namespace backupy::selfupdate
