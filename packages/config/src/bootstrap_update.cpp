// The self-update part of the bootstrap environment.
#include "env_parse.hpp"

namespace backupy::config {

void load_update_settings(const EnvLookup& env, UpdateSettings& settings,
                          std::vector<std::string>& problems) {
  if (auto file = lookup(env, "UPDATE_PUBLIC_KEY_FILE"); file && !file->empty()) {
    // Read (and its key checked) when the agent starts: a missing file is an error there, with
    // the reason, rather than a silently disabled self-update.
    settings.public_key_file = std::filesystem::path(*file);
  }
  if (auto cap = lookup(env, "UPDATE_MAX_BYTES"); cap && !cap->empty()) {
    const auto bytes = parse_byte_size(*cap);
    if (bytes && *bytes > 0) {
      settings.max_bytes = *bytes;
    } else {
      problems.push_back("BACKUPY_UPDATE_MAX_BYTES must be a size such as 268435456, 256M or 1G");
    }
  }
  unsigned trial = static_cast<unsigned>(settings.trial_window.count());
  read_bounded<unsigned>(env, "UPDATE_TRIAL_SEC", 5, 3600, trial, problems);
  settings.trial_window = std::chrono::seconds(trial);
}

}  // namespace backupy::config
