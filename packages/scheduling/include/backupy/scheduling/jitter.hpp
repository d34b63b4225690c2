#pragma once
// Deterministic per-(agent, job) jitter: a fleet of agents with the same cron spreads its
// fires over the configured window (AdvancedSettings.schedule_jitter_sec) instead of
// stampeding a shared target or bucket at 03:00:00, and each agent's fire time stays the
// same from one day (and restart) to the next.
#include <chrono>
#include <string_view>

namespace backupy::scheduling {

// An offset in [0, window): the first 8 bytes of SHA-256("backupy-jitter-v1" 0x00
// agent_identity 0x00 job_id), big-endian, modulo the window in milliseconds. A zero window
// gives 0. agent_identity must not be secret-equivalent (the agent uses the SHA-256 hex of
// its key, which is what the control plane stores too).
std::chrono::milliseconds jitter_offset(std::string_view agent_identity, std::string_view job_id,
                                        std::chrono::seconds window);

}  // namespace backupy::scheduling
